"""Every Prometheus metric of the Faust worker, in one place so any module can import them.

These live in the worker process's default registry and are served at `/metrics`; they are
per process (one series set per worker; Prometheus adds the workers up). The CDC process has its
own registry (`sources/cdc/metrics.py`, `topllantas_cdc_*`). Flow-specific counters may still
live next to their flow (stock alerts, routes); new shared ones belong here.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_AGE = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- stream processing
EVENTS = Counter("topllantas_events_processed_total", "Events processed", ["agent"])
PROCESSING_SECONDS = Histogram(
    "topllantas_processing_seconds", "Time an agent spent on one event", ["agent"],
    buckets=_FAST)
EVENT_AGE_SECONDS = Histogram(
    "topllantas_event_age_seconds",
    "ERP commit to processed by an agent (streamed changes only; snapshots excluded)", ["agent"],
    buckets=_AGE)
EMITTED = Counter("topllantas_records_emitted_total", "Records an agent published", ["topic"])
LINES_WAITING = Gauge(
    "topllantas_lines_waiting",
    "Sales lines waiting for a dimension, in this worker's partitions", ["dimension"])

# --- bad input and sinks
DEAD_LETTERS = Counter("topllantas_dead_letters_total", "Records sent to a DLQ", ["topic"])
AGENT_ERRORS = Counter("topllantas_agent_errors_total",
                       "Unexpected exceptions that crashed (and restarted) an agent", ["agent"])
DEAD_LETTERS_24H = Gauge(
    "topllantas_dead_letters_24h", "Records in a dead-letter topic in the last 24 h (broker)",
    ["topic"])
SINK_RETRIES = Counter("topllantas_sink_retries_total", "Sink attempts that were retried",
                       ["sink"])

# --- integrations (probed by the worker's dashboard timer)
INTEGRATION_UP = Gauge("topllantas_integration_up", "1 if the last probe got an answer",
                       ["target"])
INTEGRATION_LATENCY = Gauge("topllantas_integration_latency_seconds",
                            "Latency of the last successful probe", ["target"])
CDC_LAG_BYTES = Gauge("topllantas_cdc_lag_bytes",
                      "ERP WAL not yet confirmed by the CDC slot (probed by the worker)")
CONSUMER_LAG = Gauge("topllantas_consumer_lag",
                     "Records behind the end of the topic, this worker's partitions", ["topic"])

# --- the sales agent (LLM latency and fallbacks)
AGENT_TURNS = Counter("topllantas_agent_turns_total", "Sales-agent turns", ["path"])
LLM_FALLBACKS = Counter("topllantas_agent_llm_fallbacks_total",
                        "Turns answered without the LLM (the deterministic path)", ["reason"])
LLM_SECONDS = Histogram("topllantas_agent_llm_seconds", "LLM time per turn")
TURN_SECONDS = Histogram("topllantas_agent_turn_seconds", "Whole turn time")
AGENT_INJECTIONS = Counter("topllantas_agent_injections_total",
                           "Customer messages recognised as prompt injections")
