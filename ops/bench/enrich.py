"""`topllantas bench enrich`: sales-line enrichment per worker, and the dashboard under load.

Runs on embedded stacks (one per producer setting) with a small seeded ERP (CDC loads the
dimensions). Synthetic
CDC records of confirmed orders (two lines each) are produced straight onto
`erp.public.sales_orders` / `erp.public.sales_order_lines`; the clock runs from the first
record produced until the last line is on `analytics.sales_enriched`. Meanwhile a client polls
`/dashboard/data.json` (with the token) every 200 ms (25 open dashboards at their 5 s refresh)
for its p50/p99.

Two workers are measured, each on a fresh stack (embedded profile, batched producer), and
after the analytics worker, on its stack, the Faust floor (ops/bench/enrich_floor.py: the
enrichment's hop, table and records without the enrichment) for the ratio:
- `whole app`: one worker with every flow (inventory, demand, alerts, agent, sinks, routes as
  well), as `topllantas worker` runs by default;
- `analytics flow`: a `topllantas worker --flows analytics` worker, as a deployment that keeps
  the analysts' flow apart runs it.
The time the enrichment agents spend per line is reported too, from the worker's own histograms,
and the CPU the worker process and the broker spend per line (ops/bench/cpu.py): 1e6 / the
worker's is the lines/s one worker does per core, less moved by the VM's neighbours.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from ops.bench.cpu import broker_pid, cpu_seconds
from ops.bench.report import median, percentile, report
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import RunningStack, embedded_stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from schemas.topics import load_catalogue
from sources.cdc.envelope import routed_partition

TOKEN = "bench-dashboard-token"
LINES_PER_ORDER = 2
ENRICH_AGENTS = ("analytics_sales",)
WORKERS = {"whole app": "all", "analytics flow": "analytics"}
FLOOR_OUT = "bench.enrich_floor.lines"
FLOOR_BASE = 50  # the floor's order ids start at 10**7 * 50, above the workers' runs
FLOOR_NEXT_TO = "analytics"  # the worker whose stack the floor runs on, after it


def _name_of(flows: str) -> str:
    return next(name for name, of in WORKERS.items() if of == flows)


def envelope(table: str, row: dict, lsn: int) -> bytes:
    now = int(time.time() * 1000)
    return orjson.dumps({"before": None, "after": row, "op": "c", "ts_ms": now,
                         "source": {"ts_ms": now, "db": "erp", "schema": "public",
                                    "table": table, "lsn": lsn, "snapshot": "false"}})


def produce_orders(bootstrap: str, orders: int, base_id: int) -> None:
    """Orders and their lines, each line in its order's partition as the CDC puts it."""
    lines_topic = load_catalogue().cdc_topic("sales_order_lines")
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "partitioner": "murmur2_random"})
    created = datetime.now(UTC).isoformat()
    for n in range(orders):
        order_id = base_id + n
        lsn = 10**13 + order_id
        producer.produce("erp.public.sales_orders", key=orjson.dumps({"id": order_id}),
                         value=envelope("sales_orders", {
                             "id": order_id, "customer_id": 1 + n % 50, "warehouse_id": 1 + n % 3,
                             "status": "confirmado", "channel": "mostrador",
                             "created_at": created}, lsn))
        for k in range(LINES_PER_ORDER):
            line_id = base_id * 10 + n * LINES_PER_ORDER + k
            line = {"id": line_id, "order_id": order_id, "product_id": 1 + (n * 7 + k) % 300,
                    "qty": 4, "unit_price": "2400.00", "unit_cost": "1500.00"}
            producer.produce(lines_topic.name, key=orjson.dumps({"id": line_id}),
                             value=envelope("sales_order_lines", line, lsn),
                             partition=routed_partition(lines_topic, line))
        if n % 5000 == 0:
            producer.poll(0)
    producer.flush(120)


class DashboardPoller:
    """Polls the dashboard's JSON in a thread; keeps each response time (ms)."""

    def __init__(self, port: str) -> None:
        self.url = f"http://127.0.0.1:{port}/dashboard/data.json"
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        request = urllib.request.Request(self.url, headers={"Authorization": f"Bearer {TOKEN}"})
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                self.samples.append((time.perf_counter() - started) * 1000)
            except (urllib.error.URLError, TimeoutError):
                self.errors += 1
            self._stop.wait(0.2)

    def __enter__(self) -> DashboardPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def enrich_run(stack: RunningStack, port: str, orders: int, base_id: int, worker_pid: int
               ) -> dict:
    """One run through the worker, with the dashboard polled meanwhile."""
    before = agent_seconds(port)
    with DashboardPoller(port) as poller:
        run = timed_lines(stack, "analytics.sales_enriched", orders, base_id, worker_pid)
    after = agent_seconds(port)
    cpu = sum(after[a] - before.get(a, 0.0) for a in after)
    return {**run, "agent_us_per_line": cpu / run["lines"] * 1e6,
            "dashboard_ms": poller.samples, "dashboard_errors": poller.errors}


def timed_lines(stack: RunningStack, topic: str, orders: int, base_id: int, worker_pid: int
                ) -> dict:
    """Produce `orders` orders; time until every line (keyed by its id) is on `topic`; the CPU
    the worker and the broker spent meanwhile, per line."""
    consumer = Consumer({"bootstrap.servers": stack.bootstrap_servers,
                         "group.id": "bench-enrich", "enable.auto.commit": False})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in parts])
    consumer.consume(1000, timeout=1.0)
    lines = orders * LINES_PER_ORDER
    pids = {"worker": worker_pid, "broker": broker_pid(stack)}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    producer = threading.Thread(target=produce_orders,
                                args=(stack.bootstrap_servers, orders, base_id))
    producer.start()
    seen: set[int] = set()
    deadline = time.perf_counter() + 600
    while len(seen) < lines and time.perf_counter() < deadline:
        for msg in consumer.consume(10_000, timeout=0.2):
            if not msg.error() and int(msg.key()) >= base_id * 10:
                seen.add(int(msg.key()))
    elapsed = time.perf_counter() - started
    producer.join()
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    consumer.close()
    return {"lines": lines, "seen": len(seen), "elapsed_s": elapsed,
            "lines_per_s": len(seen) / elapsed,
            **{f"{name}_cpu_us_per_line": (cpu_after[name] - cpu_before[name]) / lines * 1e6
               for name in pids}}


def floor_runs(sup: Supervisor, stack: RunningStack, runs: int, orders: int) -> list[dict]:
    """The enrichment's hop in a bare Faust app (ops/bench/enrich_floor.py) on the same kind
    of records, once the worker is stopped; a first run (while it reads the ERP's history) is
    not counted."""
    floor = sup.start("enrich-floor", "-m", "ops.bench.enrich_floor", "worker", "-l", "warn",
                      env={"FAUST_WEB_PORT": str(free_port())})
    probe = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": "bench-enrich"})
    try:
        wait_for(lambda: FLOOR_OUT in probe.list_topics(timeout=5).topics, 180,
                 "the enrichment floor's first line", interval=1)
    finally:
        probe.close()
    results = [timed_lines(stack, FLOOR_OUT, orders, 10**7 * (FLOOR_BASE + run), floor.pid)
               for run in range(runs + 1)]
    sup.stop("enrich-floor")
    if any(r["seen"] < r["lines"] for r in results):
        raise TimeoutError(f"the enrichment floor lost lines: {[r['seen'] for r in results]}; "
                           f"see {sup.log_dir / 'enrich-floor.log'}")
    return results[1:]


def agent_seconds(port: str) -> dict[str, float]:
    """Seconds the enrichment agents spent processing, from the worker's histograms."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    return {s.labels["agent"]: s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
            if s.name == "topllantas_processing_seconds_sum"
            and s.labels.get("agent") in ENRICH_AGENTS}


def idle(port: str, quiet_s: float = 3.0) -> bool:
    """True once lines were enriched and no more came for `quiet_s` (the backlog is done)."""
    counts = []
    for _ in range(int(quiet_s) + 1):
        counts.append(agent_seconds(port).get("analytics_sales", 0.0))
        time.sleep(1.0)
    return counts[0] > 0 and len(set(counts)) == 1


def _web_up(port: str) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def measure_worker(logs: Path, flows: str, runs: int, orders: int, floor: bool
                   ) -> tuple[list[dict], list[dict]]:
    """A fresh stack (ERP seeded, CDC running) and one worker running `flows`; then, with
    `floor`, the enrichment floor on the same stack."""
    with embedded_stack() as stack:
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=generate_catalogue(
            seed=3, n_products=300, n_customers=50, days=2)))
        apply_catalogue(stack.settings())
        port = str(free_port())
        env = {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
               "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
               "ERP_DATABASE_URL": stack.erp_dsn, "ERP_SINK_DATABASE_URL": stack.sink_dsn,
               "FAUST_WEB_PORT": port, "DASHBOARD_TOKEN": TOKEN}
        with Supervisor(env, logs / flows) as sup:
            sup.start("cdc", "cdc", "run")
            worker = sup.start("worker", "worker", "--flows", flows)
            wait_for(lambda: _web_up(port), 180, f"the {flows} worker")
            wait_for(lambda: idle(port), 600, "the worker to enrich the snapshot")
            measured = [enrich_run(stack, port, orders, 10**7 * (run + 1), worker.pid)
                        for run in range(runs)]
            sup.stop("worker")
            return measured, floor_runs(sup, stack, runs, orders) if floor else []


def main(runs: int, quick: bool) -> None:
    orders = 1_500 if quick else 5_000
    with tempfile.TemporaryDirectory() as logs:
        measured = {name: measure_worker(Path(logs), flows, runs, orders,
                                         floor=flows == FLOOR_NEXT_TO)
                    for name, flows in WORKERS.items()}
    results = {name: runs_of for name, (runs_of, _) in measured.items()}
    rows = []
    for name, runs_of in results.items():
        polls = [ms for r in runs_of for ms in r["dashboard_ms"]]
        rows += [
            {"measure": f"enrichment, one worker, {name} (order lines/s)",
             "median": median([r["lines_per_s"] for r in runs_of]), "target": ">= 3,000",
             "runs": [round(r["lines_per_s"]) for r in runs_of]},
            {"measure": f"enrichment agents' time per line, {name} (us)",
             "median": median([r["agent_us_per_line"] for r in runs_of]), "target": "report",
             "runs": [round(r["agent_us_per_line"]) for r in runs_of]},
            {"measure": f"worker CPU per line, {name} (us)",
             "median": median([r["worker_cpu_us_per_line"] for r in runs_of]),
             "target": "<= 333 (3,000 lines/s per core)",
             "runs": [round(r["worker_cpu_us_per_line"]) for r in runs_of]},
            {"measure": f"broker CPU per line, {name} (us)",
             "median": median([r["broker_cpu_us_per_line"] for r in runs_of]),
             "target": "report", "runs": [round(r["broker_cpu_us_per_line"]) for r in runs_of]},
            {"measure": f"dashboard data.json under load p50, {name} (ms)",
             "median": percentile(polls, 50), "target": "report",
             "runs": len(polls)},
            {"measure": f"dashboard data.json under load p99, {name} (ms)",
             "median": percentile(polls, 99), "target": "report",
             "runs": sum(r["dashboard_errors"] for r in runs_of)},
        ]
    floors = [run for _, floor in measured.values() for run in floor]
    analytics_us = median([r["worker_cpu_us_per_line"]
                           for r in results[_name_of(FLOOR_NEXT_TO)]])
    floor_us = median([r["worker_cpu_us_per_line"] for r in floors])
    rows += [
        {"measure": "Faust floor, the enrichment's hop without enrichment (order lines/s)",
         "median": median([r["lines_per_s"] for r in floors]), "target": "report",
         "runs": [round(r["lines_per_s"]) for r in floors]},
        {"measure": "Faust floor, worker CPU per line (us)", "median": floor_us,
         "target": f"analytics flow / floor = {analytics_us / floor_us:.2f} (the worker also "
                   "served the dashboard polls)",
         "runs": [round(r["worker_cpu_us_per_line"]) for r in floors]},
    ]
    report("enrich", rows, meta={
        "orders_per_run": orders, "lines_per_order": LINES_PER_ORDER, "cpus": os.cpu_count(),
        "runs_column": "per-run values; for the dashboard rows: polls / errors",
        "seen": {n: [r["seen"] for r in rs] for n, rs in results.items()}})
