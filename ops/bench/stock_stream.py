"""`topllantas bench stock`, part 3: the stream glue in real workers, on its own embedded stack.

Tansu + PostgreSQL + CDC + a `--flows stock` worker + a `--flows sinks` worker + the WhatsApp
double: latency at 100 and 500 ERP changes/s (ops/bench/stock_latency.py: ERP stock change -> the
critical alert, and -> the buyer's message of its own), then stock events/s and CPU per event in
the stock worker against the Faust floor (ops/bench/stock_throughput.py), and in two stock
workers sharing the partitions.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer

from ops.bench.cpu import broker_pid
from ops.bench.report import median
from ops.bench.stock_latency import ENV as LATENCY_ENV
from ops.bench.stock_latency import buyers_write, latency_rows, latency_run
from ops.bench.stock_throughput import (
    FLOOR_SOURCE,
    STOCK_TOPIC,
    Record,
    critical_finish,
    floor_finish,
    synthetic_changes,
    timed_run,
    wait_floor_ready,
)
from ops.bench.stream_io import read_topics
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import RunningStack, embedded_stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue


def pipeline_rows(runs: int, quick: bool) -> list[dict[str, Any]]:
    """The stream glue in real workers, on its own embedded stack (Tansu + PostgreSQL + CDC + a
    `--flows stock` worker + a `--flows sinks` worker + the WhatsApp double):

    - latency (ops/bench/stock_latency.py) while the ERP commits 100 and then 500 stock
      changes/s (one in 50 drives a probe product × warehouse to 0; the others are ±1
      adjustments): ERP commit -> the critical alert, and -> the buyer's message of its own
      (a gathering window's first critical; the buyers wrote first, as real ones do);
    - stock events/s through inventory + policy + alert in the stock worker: synthetic stock
      change events produced onto `erp.public.stock` as fast as the client can, timed until a
      final critical change in every partition has reached `alerts.stock`; the worker's and the
      broker's CPU µs per event, and the same for the Faust floor (ops/bench/faust_floor.py) on
      the same records, once the stock worker is stopped;
    - the same load through two stock workers in one consumer group (scale-out: Kafka splits
      the partitions between them), as events/s against one worker's.
    Latency runs first: the synthetic events carry LSNs above the ERP's, so later ERP changes
    of those keys would be (correctly) ignored as older.
    """
    events = 5_000 if quick else 30_000
    seconds = 10.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as logs, embedded_stack() as stack:
        cat = generate_catalogue(seed=3, n_products=200 if quick else 600, n_customers=60,
                                 days=60, end=date.today())
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=cat))
        apply_catalogue(stack.settings())
        whatsapp = str(free_port())
        double = f"http://127.0.0.1:{whatsapp}"
        with Supervisor(_env(stack, double), Path(logs)) as sup:
            sup.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port", whatsapp)
            sup.start("cdc", "cdc", "run")
            worker = sup.start("worker", "worker", "--flows", "stock")
            sup.start("sinks", "worker", "--flows", "sinks",
                      env={"FAUST_WEB_PORT": str(free_port())})
            began = time.perf_counter()
            _wait_bootstrap(stack.bootstrap_servers)
            bootstrap_s = time.perf_counter() - began
            keys = _stream_keys(cat, stack.bootstrap_servers)
            buyers_write(stack.bootstrap_servers, double, [row[2] for row in cat.rows["buyers"]])
            latency = {rate: [latency_run(stack.erp_dsn, stack.bootstrap_servers, double, *keys,
                                          seconds, seed=run, rate=rate) for run in range(runs)]
                       for rate in (100, 500)}
            time.sleep(10)  # let the worker drain what the 500/s runs queued
            rates, pair, floors, partitions = _throughput_runs(sup, stack, cat, worker.pid,
                                                               keys, events, runs)
    rows = _throughput_rows(rates, floors, f"{events:,} synthetic stock events on "
                            f"{len(keys[2]):,} product×warehouse keys")
    return rows + _pair_rows(pair, rates, partitions) + latency_rows(latency, bootstrap_s)


def _env(stack: RunningStack, double: str) -> dict[str, str]:
    return {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
            "ERP_DATABASE_URL": stack.erp_dsn, "ERP_SINK_DATABASE_URL": stack.sink_dsn,
            "FAUST_WEB_PORT": str(free_port()), "CDC_POLL_INTERVAL_MS": "20",
            "WHATSAPP_BASE_URL": double, **LATENCY_ENV}


StreamKeys = tuple[list[tuple[int, int]], list[tuple[int, int]], dict[tuple[int, int], int]]


def _throughput_runs(sup: Supervisor, stack: RunningStack, cat: Any, worker: int,
                     keys: StreamKeys, events: int, runs: int
                     ) -> tuple[list[dict[str, float]], list[dict[str, float]],
                                dict[int, list[dict[str, float]]], int]:
    """The stock worker's runs, two workers' runs, and the Faust floor's (0 and 2 sends)."""
    probes, background, on_hand = keys
    popularity = {(p + 1, w + 1): float(cat.popularity[p, w])
                  for p in range(cat.popularity.shape[0])
                  for w in range(cat.popularity.shape[1])}
    bootstrap = stack.bootstrap_servers
    partitions = _partitions(bootstrap, STOCK_TOPIC)
    pids = {"worker": worker, "broker": broker_pid(stack)}

    def stock_run(run: int, pids: dict[str, int]) -> dict[str, float]:
        load, lsn = synthetic_changes(background, on_hand, popularity, events, run)
        return timed_run(bootstrap, STOCK_TOPIC, load,
                         critical_finish(probes, partitions, lsn), pids, "bench-stock-tput")

    rates = [stock_run(run, pids) for run in range(runs)]
    pair = _pair_runs(sup, pids, runs, stock_run)
    sup.stop("worker")
    floors = {sends: _floor_runs(sup, bootstrap, pids["broker"], sends, runs,
                                 lambda run: synthetic_changes(
                                     background, on_hand, popularity, events, run)[0])
              for sends in (0, 2)}
    return rates, pair, floors, partitions


def _records(bootstrap: str, topic: str, idle: float = 1.0) -> list[bytes]:
    return read_topics(bootstrap, [topic], lambda m: m.value(), idle=idle,
                       group="bench-stock-reader")


def _wait_bootstrap(bootstrap: str) -> None:
    """Until the worker settled its snapshot inputs (settle ticks) and the alerts stopped."""
    wait_for(lambda: any(orjson.loads(v)["kind"] == "settle"
                         for v in _records(bootstrap, "alerts.control", idle=0.5)),
             600, "the settle ticks after the snapshot", interval=2)
    counts = [-1]
    wait_for(lambda: counts.append(len(_records(bootstrap, "alerts.stock"))) or
             counts[-1] == counts[-2], 300, "the bootstrap alerts", interval=2)


def _stream_keys(cat: Any, bootstrap: str) -> StreamKeys:
    """Probe keys (sold in the last 30 days and not critical now) and the other keys."""
    latest: dict[tuple[int, int], str] = {}
    for value in _records(bootstrap, "alerts.stock"):
        alert = orjson.loads(value)
        latest[(alert["product_id"], alert["warehouse_id"])] = (
            "" if alert["resolved"] else alert["level"])
    on_hand = {(row[0], row[1]): int(row[2]) for row in cat.rows["stock"]}
    sold = cat.demand[:, :, -30:].sum(axis=2)
    probes: list[tuple[int, int]] = []
    for k in sorted(on_hand):  # one probe per product: the double's log names the product only
        if (sold[k[0] - 1, k[1] - 1] >= 10 and latest.get(k) != "critico" and on_hand[k] > 0
                and all(k[0] != p for p, _ in probes)):
            probes.append(k)
    probes = probes[:48]
    background = [k for k in sorted(on_hand) if k not in set(probes)]
    return probes, background, on_hand


def _pair_runs(sup: Supervisor, pids: dict[str, int], runs: int,
               stock_run: Callable[[int, dict[str, int]], dict[str, float]]
               ) -> list[dict[str, float]]:
    """The same load through two `--flows stock` workers in one consumer group: a second one
    joins the first, and the group's first run (which waits for the rebalance) is not kept."""
    second = sup.start("worker-b", "worker", "--flows", "stock",
                       env={"FAUST_WEB_PORT": str(free_port())})
    both = {**pids, "worker_b": second.pid}
    results = [stock_run(run, both) for run in range(runs, 2 * runs + 1)]
    sup.stop("worker-b")
    return results[1:]


def _pair_rows(pair: list[dict[str, float]], single: list[dict[str, float]],
               partitions: int) -> list[dict[str, Any]]:
    rate, alone = (median([r["events_per_s"] for r in pair]),
                   median([r["events_per_s"] for r in single]))
    cpu = [r["worker_cpu_us"] + r["worker_b_cpu_us"] for r in pair]
    return [
        {"measure": "stream: stock events/s, two workers in one consumer group",
         "policy": rate,
         "note": f"= {rate / alone:.2f} × one worker on this {os.cpu_count()}-core machine, "
                 f"which also runs the broker; {partitions} partitions; runs "
                 f"{[round(r['events_per_s']) for r in pair]}; wall clock"},
        {"measure": "stream: two workers' CPU µs per stock event, together",
         "policy": median(cpu),
         "note": f"runs {[round(c) for c in cpu]}; the broker spent "
                 f"{median([r['broker_cpu_us'] for r in pair]):.0f} µs per event"},
    ]


def _floor_runs(sup: Supervisor, bootstrap: str, broker: int, sends: int, runs: int,
                load: Callable[[int], list[Record]]) -> list[dict[str, float]]:
    """The Faust floor (ops/bench/faust_floor.py) sending each record `sends` more times, on
    the loads of the stock worker's runs; a warm-up run on another load goes first."""
    name = f"floor-{sends}"
    floor = sup.start(name, "-m", "ops.bench.faust_floor", "worker", "-l", "warn",
                      env={"FAUST_WEB_PORT": str(free_port()), "BENCH_FLOOR_SENDS": str(sends)})
    wait_floor_ready(bootstrap, f"{name}-ready")
    pids = {"worker": floor.pid, "broker": broker}
    results = [timed_run(bootstrap, FLOOR_SOURCE, load(run), floor_finish(f"{name}-{run}"),
                         pids, "bench-floor-tput") for run in (runs, *range(runs))]
    sup.stop(name)
    return results[1:]


def _throughput_rows(rates: list[dict[str, float]],
                     floors: dict[int, list[dict[str, float]]], load: str
                     ) -> list[dict[str, Any]]:
    worker_us = median([r["worker_cpu_us"] for r in rates])

    def runs(samples: list[dict[str, float]], what: str) -> str:
        return f"runs {[round(r[what]) for r in samples]}"

    rows = [
        {"measure": "stream: stock events/s, inventory + policy + alert, one worker",
         "policy": median([r["events_per_s"] for r in rates]),
         "note": f"target >= 3,000; {load}, {runs(rates, 'events_per_s')}; "
                 f"{median([r['outputs_per_1000'] for r in rates]):.0f} alert events per "
                 "1,000 stock events; a `--flows stock` worker; embedded broker; wall clock"},
        {"measure": "stream: stock worker CPU µs per stock event",
         "policy": worker_us,
         "note": f"= {1e6 / worker_us:,.0f} events/s per worker core (3,000/s needs <= 333); "
                 f"{runs(rates, 'worker_cpu_us')}; the broker spent "
                 f"{median([r['broker_cpu_us'] for r in rates]):.0f} µs per event"},
    ]
    for sends, samples in floors.items():
        floor_us = median([r["worker_cpu_us"] for r in samples])
        what = f"{1 + sends} produce{'s' if sends else ''} per record"
        rows += [
            {"measure": f"stream: Faust floor events/s, decode + table row, {what}",
             "policy": median([r["events_per_s"] for r in samples]),
             "note": f"same records and broker, ops/bench/faust_floor.py; "
                     f"{runs(samples, 'events_per_s')}; wall clock"},
            {"measure": f"stream: Faust floor CPU µs per event, {what}",
             "policy": floor_us,
             "note": f"= {1e6 / floor_us:,.0f} events/s per core; stock worker / this = "
                     f"{worker_us / floor_us:.2f}; {runs(samples, 'worker_cpu_us')}; the broker "
                     f"spent {median([r['broker_cpu_us'] for r in samples]):.0f} µs per event"},
        ]
    return rows


def _partitions(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-reader"})
    try:
        return len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()
