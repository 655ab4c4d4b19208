"""`topllantas bench stock`: the pure inventory logic's speed and a one-year policy simulation.

1. Throughput on one core (plain Python, no Kafka/Faust): a stream of stock changes (sales in
   sets of 1, 2 or 4 tires, and receipts when stock runs low) over the whole catalogue, each
   decoded position run through `evaluate_policy` + `decide` ("pure decide() events/s"), and
   `decide` alone on precomputed policy results. Positions are built before timing: decoding is
   the stream glue's cost, measured with Faust separately.
2. One simulated year, day by day, on the reference catalogue of `ops.erp.generate` (every
   product × warehouse, its suppliers' lead times, minimums, pack multiples and price breaks,
   and its generated demand): the policy (default service levels, and 85/80/75 % to show the
   service/inventory trade-off) against the naive min/max of 30/60 days of average demand, and
   against the naive k/2k-days rule whose average inventory is closest to the policy's (same
   money on the shelf: who serves more, who earns more?). Each run draws lead times with
   another seed; medians are reported.
3. The stream glue in real workers (`pipeline_rows`): stock events/s through inventory + policy
   + alert in one `--flows stock` worker, and ERP stock change -> WhatsApp request at the double
   (through CDC, the stock worker and a `--flows sinks` worker) at 100 and 500 changes/s.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import orjson
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition

from ops.bench.report import median, percentile, report
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import embedded_stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from processors.inventory.alerts import AlertState, decide
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PolicyResult,
    PriceBreak,
    SupplyTerms,
    evaluate_policy,
    policy_levels,
    trailing_demand_stats,
)
from processors.inventory.simulation import SimConfig, SimItem, SimResult, simulate
from schemas.events import InventoryPosition

HISTORY_DAYS = 90
HORIZON_DAYS = 365
NAIVE_GRID_DAYS = range(30, 125, 5)
LOWER_SERVICE_LEVELS = {"A": 0.85, "B": 0.80, "C": 0.75}


@dataclass(frozen=True)
class BenchCatalogue:
    """Every product × warehouse series of the reference catalogue."""

    items: list[SimItem]
    demand: np.ndarray  # series × days, oldest first
    keys: list[tuple[int, int]]  # (product_id, warehouse_id) per series
    products: int
    warehouses: int


def load_catalogue(n_products: int, seed: int = 7) -> BenchCatalogue:
    cat = generate_catalogue(seed=seed, n_products=n_products)
    product_cols = cat.columns["products"]
    products = [dict(zip(product_cols, row, strict=True)) for row in cat.rows["products"]]
    suppliers = {row[0]: dict(zip(cat.columns["suppliers"], row, strict=True))
                 for row in cat.rows["suppliers"]}
    supplier_of = {p["id"]: p["supplier_id"] for p in products}
    breaks: dict[int, list[PriceBreak]] = {}
    for supplier_id, product_id, min_qty, unit_cost in cat.rows["supplier_price_breaks"]:
        if supplier_of.get(product_id) == supplier_id:
            breaks.setdefault(product_id, []).append(PriceBreak(min_qty, float(unit_cost)))
    n_wh = cat.demand.shape[1]
    items, series, keys = [], [], []
    for index, product in enumerate(products):
        supplier = suppliers[product["supplier_id"]]
        terms = SupplyTerms(
            supplier_id=supplier["id"], unit_cost=float(product["cost"]),
            lead_time_days=float(supplier["lead_time_days"]),
            lead_time_sd_days=float(supplier["lead_time_sd_days"]),
            pack_multiple=supplier["pack_multiple"], min_order_qty=supplier["min_order_qty"],
            price_breaks=tuple(breaks.get(product["id"], ())))
        for w in range(n_wh):
            items.append(SimItem(terms, product["abc_class"], float(product["list_price"])))
            series.append(cat.demand[index, w, -(HISTORY_DAYS + HORIZON_DAYS):])
            keys.append((product["id"], w + 1))
    return BenchCatalogue(items, np.array(series, dtype=np.int64), keys, len(products), n_wh)


# --------------------------------------------------------------------------- throughput


@dataclass(frozen=True)
class EventStream:
    positions: list[InventoryPosition]
    at: list[datetime]
    stats: list[DemandStats]
    terms: list[SupplyTerms]
    classes: list[str]
    series: list[int]  # which series each event belongs to


def event_stream(catalogue: BenchCatalogue, n_events: int, config: InventoryConfig,
                 seed: int = 11) -> EventStream:
    """Sales drawn by popularity; a series at or below its reorder point gets a receipt that
    brings it back to its order-up-to level 30 % of the time it is drawn."""
    rng = np.random.default_rng(seed)
    history = catalogue.demand[:, :HISTORY_DAYS]
    stats = [trailing_demand_stats(row) for row in history.tolist()]
    terms = [item.terms for item in catalogue.items]
    classes = [item.abc_class for item in catalogue.items]
    levels = [policy_levels(s, t, c, config) for s, t, c in zip(stats, terms, classes,
                                                                 strict=True)]
    weight = history.mean(axis=1) + 0.01
    draws = rng.choice(len(stats), size=n_events, p=weight / weight.sum()).tolist()
    sizes = rng.choice([1, 2, 4], size=n_events, p=[0.2, 0.3, 0.5]).tolist()
    receipts = (rng.random(n_events) < 0.3).tolist()
    on_hand = [lv.order_up_to for lv in levels]
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    positions, at = [], []
    for n, i in enumerate(draws):
        if on_hand[i] <= levels[i].reorder_point and receipts[n]:
            on_hand[i] = levels[i].order_up_to
        else:
            on_hand[i] = max(0, on_hand[i] - sizes[n])
        product_id, warehouse_id = catalogue.keys[i]
        positions.append(InventoryPosition(product_id=product_id, warehouse_id=warehouse_id,
                                           on_hand=on_hand[i]))
        at.append(start + timedelta(seconds=n))
    return EventStream(positions, at, stats, terms, classes, draws)


def _time_full(stream: EventStream, config: InventoryConfig) -> tuple[float, int]:
    states: dict[int, AlertState] = {}
    emitted = 0
    began = time.perf_counter()
    for position, now, i in zip(stream.positions, stream.at, stream.series, strict=True):
        result = evaluate_policy(stream.stats[i], stream.terms[i], stream.classes[i], position,
                                 config)
        state, event = decide(states.get(i), position, result, now, config)
        states[i] = state
        if event is not None:
            emitted += 1
    return len(stream.positions) / (time.perf_counter() - began), emitted


def _time_decide(stream: EventStream, results: list[PolicyResult],
                 config: InventoryConfig) -> float:
    states: dict[int, AlertState] = {}
    began = time.perf_counter()
    for position, result, now, i in zip(stream.positions, results, stream.at, stream.series,
                                        strict=True):
        states[i] = decide(states.get(i), position, result, now, config)[0]
    return len(stream.positions) / (time.perf_counter() - began)


def throughput_rows(catalogue: BenchCatalogue, runs: int, n_events: int,
                    config: InventoryConfig) -> list[dict[str, Any]]:
    stream = event_stream(catalogue, n_events, config)
    results = [evaluate_policy(stream.stats[i], stream.terms[i], stream.classes[i], pos, config)
               for pos, i in zip(stream.positions, stream.series, strict=True)]
    full, alone, emitted = [], [], 0
    for _ in range(runs):
        rate, emitted = _time_full(stream, config)
        full.append(rate)
        alone.append(_time_decide(stream, results, config))
    note = f"1 core, {n_events:,} stock events on {len(catalogue.items):,} series, median"
    return [
        {"measure": "pure decide() events/s", "policy": median(full),
         "note": note + " (evaluate_policy + decide)"},
        {"measure": "decide() alone events/s", "policy": median(alone),
         "note": "policy results precomputed"},
        {"measure": "alert events per 1,000 stock events", "policy": emitted * 1000 / n_events,
         "note": "alerts, reminders, resolutions; stress stream of slow movers sold in sets"},
    ]


# --------------------------------------------------------------------------- simulation


def _median_of(results: list[SimResult], metric: Callable[[SimResult], float]) -> float:
    return float(statistics.median(metric(r) for r in results))


def simulation_rows(catalogue: BenchCatalogue, runs: int,
                    config: InventoryConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    policy, lower, naive, matched = [], [], [], []
    matched_days = []
    lower_config = replace(config, service_levels=LOWER_SERVICE_LEVELS)
    for run in range(runs):
        sim = SimConfig(horizon_days=HORIZON_DAYS, history_days=HISTORY_DAYS, seed=run,
                        inventory=config)
        mine = simulate(catalogue.demand, catalogue.items, "policy", sim)
        policy.append(mine)
        lower.append(simulate(catalogue.demand, catalogue.items, "policy",
                              replace(sim, inventory=lower_config)))
        naive.append(simulate(catalogue.demand, catalogue.items, "minmax", sim))
        grid = [simulate(catalogue.demand, catalogue.items, "minmax",
                         SimConfig(horizon_days=HORIZON_DAYS, history_days=HISTORY_DAYS,
                                   seed=run, naive_min_days=k, naive_max_days=2 * k,
                                   inventory=config))
                for k in NAIVE_GRID_DAYS]
        best = min(range(len(grid)), key=lambda j: abs(grid[j].avg_inventory_value
                                                       - mine.avg_inventory_value))
        matched.append(grid[best])
        matched_days.append(NAIVE_GRID_DAYS[best])
    k = int(statistics.median(matched_days))
    columns = {"policy": policy, "policy 85/80/75 %": lower, "min/max 30/60": naive,
               f"min/max {k}/{2 * k} (same inventory)": matched}

    def row(measure: str, metric: Callable[[SimResult], float], note: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"measure": measure}
        for name, results in columns.items():
            out[name] = _median_of(results, metric)
        out["note"] = note
        return out

    def by_class(results: list[SimResult]) -> str:
        classes = sorted(results[0].fill_rate_by_class)
        return " / ".join(
            f"{statistics.median(r.fill_rate_by_class[c] for r in results):.3f}"
            for c in classes)

    rows = [
        row("stockout SKU-days", lambda r: r.stockout_days,
            f"{len(catalogue.items):,} product×warehouse series, {HORIZON_DAYS} days"),
        row("fill rate", lambda r: r.fill_rate, "units served / units demanded"),
        {"measure": "fill rate A / B / C",
         **{name: by_class(results) for name, results in columns.items()},
         "note": "policy: cycle service levels 98 / 95 / 90 %"},
        row("avg inventory value MXN", lambda r: r.avg_inventory_value, "at list cost"),
        row("orders placed", lambda r: r.orders_placed),
        row("avg purchase cost per unit MXN", lambda r: r.purchase_cost / max(r.units_purchased, 1),
            "price breaks taken"),
        row("holding + ordering MXN", lambda r: r.holding_cost + r.ordering_cost,
            f"{config.holding_cost_rate:.0%} a year, MXN {config.ordering_cost:,.0f} per order"),
        row("lost margin MXN", lambda r: r.lost_margin, "unserved units × (price − cost)"),
        row("net margin MXN", lambda r: r.net_margin,
            "revenue − cost of goods sold − holding − ordering (higher is better)"),
    ]
    meta = {"naive_same_inventory_days": [k, 2 * k], "sim_runs": runs,
            "lead_time_seeds": list(range(runs))}
    return rows, meta


# --------------------------------------------------------------------------- stream pipeline


def pipeline_rows(runs: int, quick: bool) -> list[dict[str, Any]]:
    """The stream glue in real workers, on its own embedded stack (Tansu + PostgreSQL + CDC + a
    `--flows stock` worker + a `--flows sinks` worker + the WhatsApp double):

    - end-to-end latency, ERP commit of a stock change -> the WhatsApp request for its critical
      alert arriving at the double, while the ERP commits 100 and then 500 stock changes/s (one
      in 50 drives a probe product × warehouse to 0; the others are ±1 adjustments); the
      `messages.outbound` record's arrival is timed too, to show the sink's share;
    - stock events/s through inventory + policy + alert in the stock worker: synthetic stock
      change events produced onto `erp.public.stock` as fast as the client can, timed until a
      final critical change in every partition has reached `alerts.stock`.
    Latency runs first: the synthetic events carry LSNs above the ERP's, so later ERP changes
    of those keys would be (correctly) ignored as older.
    """
    events = 5_000 if quick else 30_000
    seconds = 10.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as logs, embedded_stack() as stack:
        cat = generate_catalogue(seed=3, n_products=200 if quick else 600, n_customers=60,
                                 days=60, end=date.today())
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=cat))
        settings = stack.settings()
        apply_catalogue(settings)
        whatsapp = str(free_port())
        env = {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
               "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
               "ERP_DATABASE_URL": stack.erp_dsn, "ERP_SINK_DATABASE_URL": stack.sink_dsn,
               "FAUST_WEB_PORT": str(free_port()), "CDC_POLL_INTERVAL_MS": "20",
               "WHATSAPP_BASE_URL": f"http://127.0.0.1:{whatsapp}"}
        with Supervisor(env, Path(logs)) as sup:
            sup.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port", whatsapp)
            sup.start("cdc", "cdc", "run")
            sup.start("worker", "worker", "--flows", "stock")
            sup.start("sinks", "worker", "--flows", "sinks",
                      env={"FAUST_WEB_PORT": str(free_port())})
            began = time.perf_counter()
            _wait_bootstrap(stack.bootstrap_servers)
            bootstrap_s = time.perf_counter() - began
            probes, background, on_hand = _stream_keys(cat, stack.bootstrap_servers)
            double = f"http://127.0.0.1:{whatsapp}"
            latency = {rate: [asyncio.run(_latency_run(
                stack.erp_dsn, stack.bootstrap_servers, double, probes,
                background, on_hand, seconds, seed=run, rate=rate)) for run in range(runs)]
                for rate in (100, 500)}
            time.sleep(10)  # let the worker drain what the 500/s runs queued
            popularity = {(p + 1, w + 1): float(cat.popularity[p, w])
                          for p in range(cat.popularity.shape[0])
                          for w in range(cat.popularity.shape[1])}
            rates = [_throughput_run(stack.bootstrap_servers, background, on_hand, popularity,
                                     probes, events, run) for run in range(runs)]
    keys = f"{len(on_hand):,} product×warehouse keys"
    rows = [
        {"measure": "stream: stock events/s, inventory + policy + alert, one worker",
         "policy": median([r["events_per_s"] for r in rates]),
         "note": f"target >= 3,000; {events:,} synthetic stock events on {keys}, runs "
                 f"{[round(r['events_per_s']) for r in rates]}; "
                 f"{median([r['alerts_per_1000'] for r in rates]):.0f} alert events per 1,000 "
                 "stock events; a `--flows stock` worker; embedded broker"},
    ]
    for rate, runs_of_rate in latency.items():
        target = " (target <= 300 / <= 1,000)" if rate == 500 else ""
        for where, label in (("double", "WhatsApp request at the double"),
                             ("outbound", "messages.outbound record")):
            samples = [run[where] for run in runs_of_rate]
            p50s = [percentile(s, 50) if s else float("nan") for s in samples]
            p99s = [percentile(s, 99) if s else float("nan") for s in samples]
            rows += [
                {"measure": f"stream: ERP stock change -> {label}, p50 ms at {rate}/s",
                 "policy": median(p50s),
                 "note": f"runs {[round(x, 1) for x in p50s]}, {[len(s) for s in samples]} "
                         f"critical probes timed{target if where == 'double' else ''}; "
                         f"stack bootstrap {bootstrap_s:.0f} s"},
                {"measure": f"stream: ERP stock change -> {label}, p99 ms at {rate}/s",
                 "policy": median(p99s), "note": f"runs {[round(x, 1) for x in p99s]}"},
            ]
    return rows


OUTBOUND, STATUS = "messages.outbound", "messages.status"
PROBE_RESTOCK = 1_000  # far above any probe's critical level, so a drop to 0 always alerts


def _records(bootstrap: str, topic: str, idle: float = 1.0) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-reader",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out: list[bytes] = []
        last = time.monotonic()
        while time.monotonic() - last < idle:
            batch = [m.value() for m in consumer.consume(10_000, timeout=0.2)
                     if not m.error() and m.value() is not None]
            if batch:
                out.extend(batch)
                last = time.monotonic()
        return out
    finally:
        consumer.close()


def _wait_bootstrap(bootstrap: str) -> None:
    """Until the worker settled its snapshot inputs (settle ticks) and the alerts stopped."""
    wait_for(lambda: any(orjson.loads(v)["kind"] == "settle"
                         for v in _records(bootstrap, "alerts.control", idle=0.5)),
             600, "the settle ticks after the snapshot", interval=2)
    counts = [-1]
    wait_for(lambda: counts.append(len(_records(bootstrap, "alerts.stock"))) or
             counts[-1] == counts[-2], 300, "the bootstrap alerts", interval=2)


def _stream_keys(cat: Any, bootstrap: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]],
                                                   dict[tuple[int, int], int]]:
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


async def _latency_run(dsn: str, bootstrap: str, double: str,
                       probes: list[tuple[int, int]], background: list[tuple[int, int]],
                       on_hand: dict[tuple[int, int], int], seconds: float, seed: int,
                       rate: int = 500) -> dict[str, list[float]]:
    """Commit `rate` stock changes/s; ms from each probe drop's commit to its critical alert's
    `messages.outbound` record ("outbound") and to its request at the WhatsApp double
    ("double"; the double logs each accepted request with its arrival time)."""
    async with httpx.AsyncClient() as client:
        await client.post(f"{double}/_double/reset")
    rng = random.Random(seed)
    drops: dict[tuple[int, int], list[float]] = {}  # probe -> wall ms of its drops to 0
    seen: list[tuple[tuple[int, int], float]] = []
    done = threading.Event()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-latency",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, OFFSET_END) for topic in (OUTBOUND, STATUS)
                     for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions])
    consumer.consume(100, timeout=1.0)
    sent_for: dict[str, tuple[int, int]] = {}  # WhatsApp message id -> probe it alerts on

    def watch() -> None:
        while not done.is_set():
            for msg in consumer.consume(1000, timeout=0.05):
                if msg.error() or msg.value() is None:
                    continue
                record = orjson.loads(msg.value())
                if msg.topic() == STATUS:  # the sink's result: idempotency key -> message id
                    key, wamid = record["idempotency_key"], record["provider_message_id"]
                    where = (_critical_key(key.removeprefix("alert:").rsplit(":", 1)[0])
                             if key.startswith("alert:") else None)
                    if where and wamid:
                        sent_for[wamid] = where
                    continue
                where = _critical_key(record["context"].get("event_id", ""))
                if where:
                    seen.append((where, time.time() * 1000))

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    conn = await asyncpg.connect(dsn)
    down: set[tuple[int, int]] = set()
    try:
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < seconds:
            if n % 50 == 0:  # a probe: down to 0 (critical), or a restock
                key = probes[(n // 50) % len(probes)]
                value = PROBE_RESTOCK if key in down else 0
                down ^= {key}
            else:
                key = rng.choice(background)
                on_hand[key] = max(0, on_hand[key] + rng.choice((-1, 1)))
                value = on_hand[key]
            await conn.execute("UPDATE stock SET on_hand = $3, updated_at = now() "
                               "WHERE product_id = $1 AND warehouse_id = $2", *key, value)
            if key in down:
                drops.setdefault(key, []).append(time.time() * 1000)
            n += 1
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(3)
        for key in down:  # every probe restocked, for the next run
            await conn.execute("UPDATE stock SET on_hand = $3, updated_at = now() "
                               "WHERE product_id = $1 AND warehouse_id = $2", *key,
                               PROBE_RESTOCK)
        await asyncio.sleep(3)
    finally:
        await conn.close()
        done.set()
        reader.join()
        consumer.close()
    async with httpx.AsyncClient() as client:
        logged = (await client.get(f"{double}/_double/messages")).json()["messages"]
    # Matched through the sink's results (message id -> alert event), not by the SKU in the
    # template: the same product's critical alert in another warehouse is not the probe's.
    at_double = [(sent_for[m["wamid"]], datetime.fromisoformat(m["at"]).timestamp() * 1000)
                 for m in logged if m.get("wamid") in sent_for]

    def since_drop(arrivals: list[tuple[tuple[int, int], float]]) -> list[float]:
        samples = []
        for key, at in arrivals:
            before = [t for t in drops.get(key, ()) if t <= at]
            if before:
                samples.append(at - max(before))
        return samples

    return {"outbound": since_drop(seen), "double": since_drop(at_double)}


def _critical_key(event_id: str) -> tuple[int, int] | None:
    """(product, warehouse) of a stock alert event that opens a critical alert, else None."""
    if not event_id.endswith("-critico"):  # an alert opening, not its resolution
        return None
    _, product, warehouse, *_ = event_id.split("-")
    return int(product), int(warehouse)


def _partition_of(key: bytes, partitions: int) -> int:
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))


def _throughput_run(bootstrap: str, background: list[tuple[int, int]],
                    on_hand: dict[tuple[int, int], int], popularity: dict[tuple[int, int], float],
                    probes: list[tuple[int, int]], events: int, run: int) -> dict[str, float]:
    """`events` stock changes drawn by popularity (sales in sets of 1-4 tires; a receipt back to
    the starting stock once a key is down to a week of sales) produced onto `erp.public.stock`,
    then one probe per partition restocked and dropped to 0; timed until the probes' critical
    alerts are on `alerts.stock`."""
    rng = random.Random(100 + run)
    topic = "erp.public.stock"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-tput",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    n_parts = len(parts)
    consumer.assign([TopicPartition("alerts.stock", p, OFFSET_END) for p in range(n_parts)])
    consumer.consume(100, timeout=1.0)
    by_partition: dict[int, list[tuple[int, int]]] = {}
    for key in probes:
        by_partition.setdefault(_partition_of(_stock_key_bytes(key), n_parts), []).append(key)
    sentinels = [keys[0] for keys in by_partition.values()]
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 5})
    base_lsn = 10**13 * (run + 1)
    stamp = datetime.now(UTC).isoformat()
    level = dict(on_hand)

    def change(key: tuple[int, int], value: int, lsn: int) -> None:
        row = {"product_id": key[0], "warehouse_id": key[1], "on_hand": value, "reserved": 0,
               "in_transit": 0, "updated_at": stamp}
        producer.produce(topic, key=_stock_key_bytes(key), value=orjson.dumps({
            "before": None, "after": row, "op": "u", "ts_ms": 0,
            "source": {"ts_ms": 0, "db": "erp", "schema": "public", "table": "stock",
                       "lsn": lsn}}))

    weights = [popularity[key] for key in background]
    draws = rng.choices(background, weights=weights, k=events)
    began = time.perf_counter()
    for i, key in enumerate(draws):  # a sale in a set; a receipt back to the start when low
        low = level[key] <= popularity[key] * 7
        level[key] = on_hand[key] if low else max(0, level[key] - rng.choice((1, 2, 4, 4)))
        change(key, level[key], base_lsn + i)
        if i % 10_000 == 0:
            producer.poll(0)
    for n, key in enumerate(sentinels):  # restocked (not critical), then out: critical
        change(key, PROBE_RESTOCK, base_lsn + events + 2 * n)
        change(key, 0, base_lsn + events + 2 * n + 1)
    producer.flush(60)
    waiting = set(sentinels)
    alerts = 0
    deadline = time.perf_counter() + 600
    while waiting and time.perf_counter() < deadline:
        for msg in consumer.consume(10_000, timeout=0.1):
            if msg.error() or msg.value() is None:
                continue
            alerts += 1
            alert = orjson.loads(msg.value())
            waiting.discard((alert["product_id"], alert["warehouse_id"]))
    elapsed = time.perf_counter() - began
    consumer.close()
    if waiting:
        raise TimeoutError(f"the worker did not reach the sentinels {waiting}")
    total = events + 2 * len(sentinels)
    return {"events_per_s": total / elapsed, "alerts_per_1000": alerts * 1000 / total}


def _stock_key_bytes(key: tuple[int, int]) -> bytes:
    return orjson.dumps({"product_id": key[0], "warehouse_id": key[1]})


def main(runs: int = 3, quick: bool = False) -> None:
    runs = max(1, runs)
    config = InventoryConfig()
    began = time.perf_counter()
    catalogue = load_catalogue(n_products=400 if quick else 2400)
    loaded = time.perf_counter() - began
    rows = throughput_rows(catalogue, runs, 20_000 if quick else 200_000, config)
    sim_rows, sim_meta = simulation_rows(catalogue, 1 if quick else runs, config)
    rows.extend(sim_rows)
    rows.extend(pipeline_rows(runs, quick))
    columns = ["measure", *(k for k in sim_rows[0] if k not in ("measure", "note")), "note"]
    rows = [{c: row.get(c, "") for c in columns} for row in rows]
    report("stock", rows, meta={
        "catalogue": f"ops.erp.generate seed 7: {catalogue.products} products × "
                     f"{catalogue.warehouses} warehouses",
        "catalogue_load_s": round(loaded, 2), "quick": quick, "runs": runs,
        "config": {"service_levels": dict(config.service_levels),
                   "holding_cost_rate": config.holding_cost_rate,
                   "ordering_cost_mxn": config.ordering_cost,
                   "review_period_days": config.review_period_days},
        **sim_meta,
        "wall_s": round(time.perf_counter() - began, 1),
    })
