"""Prometheus metrics of the CDC process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("topllantas_cdc_events_total", "Change events published", ["table", "op"])
UNKNOWN_TABLE = Counter("topllantas_cdc_unknown_table_total",
                        "Changes for tables not in topics.yaml", ["table"])
RETRIES = Counter("topllantas_cdc_retries_total", "Batches re-sent after a broker failure")
SLOT_LAG = Gauge("topllantas_cdc_slot_lag_bytes", "WAL bytes retained by the CDC slot")
BATCH_SECONDS = Histogram("topllantas_cdc_batch_seconds", "Decode+produce+ack time per batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DEAD_LETTERS = Counter("topllantas_cdc_dead_letters_total",
                       "Changes sent to their table's dead-letter topic (a value the contract "
                       "cannot carry)", ["table"])
RECONNECTS = Counter("topllantas_cdc_reconnects_total",
                     "Replication connections opened again after they were lost")
