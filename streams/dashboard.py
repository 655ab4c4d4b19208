"""The status dashboard on the worker's web server, behind `settings.dashboard_token`.

    GET  /dashboard/            the page (Spanish, es-MX); refreshes from data.json every 5 s
    GET  /dashboard/data.json   the numbers (processors.analytics.dashboard.summarize)
    POST /analytics/inventory-daily/        emit today's `analytics.inventory_daily` now
    GET  /analytics/dimensions/{kind}/{id}/ the versions of one dimension the joins use

Token: `Authorization: Bearer <token>` or `?token=<token>`; anything else gets a 401 page
(streams/web_access.py guards every page of the worker).

What is whose:
- business counters (sales, alerts, deliveries, agent, messages, errors) are kept per source
  partition by streams.analytics and published every 2 s to the GlobalTable
  `analytics_dashboard` (streams.telemetry), so every worker shows the cluster's totals;
- events per topic are Faust's own per-process counts, published by every worker, whatever its
  flows (streams.telemetry), and summed;
- integration health, consumer lag and dead letters in 24 h are probed by *this* worker every
  10 s into Prometheus gauges (streams.metrics), so consumer lag covers this worker's
  partitions only; uptime is this worker's.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import psutil
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from faust.utils.cron import secs_for_next
from faust.web import Request, Response, View
from prometheus_client import Gauge

from processors.analytics.calendar import MX, utc_hour
from processors.analytics.counters import combine, expired
from processors.analytics.dashboard import TARGET_WEEKS, Integration, Job, summarize
from schemas.settings import get_settings
from streams import metrics
from streams.analytics.facts import request_inventory_snapshot
from streams.analytics.state import INSIGHTS_DOMAIN, counter_items, dimensions, waiting_lines
from streams.app import app, catalogue
from streams.telemetry import WORKER_ID, partition_lags, published, ready

log = logging.getLogger("topllantas.dashboard")
settings = get_settings()
PAGE_DIR = Path(__file__).resolve().parent.parent / "ops" / "dashboard"
STARTED_AT = psutil.Process().create_time()
PROBE_TIMEOUT_S = 2.0
TARGETS = {"broker": "Broker Kafka", "erp": "Base de datos ERP", "cdc": "Replicación CDC",
           "whatsapp": "WhatsApp Cloud API", "llm": "Modelo de lenguaje (LLM)"}
DLQ_TOPICS = [s.name for s in catalogue.all_specs() if s.name.endswith(".dlq")]

# ---------------------------------------------------------------------------- timers


def first_kept_day() -> date:
    """Counters of days before this one are no longer shown, published or kept."""
    return datetime.now(MX).date() - timedelta(days=settings.analytics_retention_days)


@app.timer(interval=2.0)
async def publish_counters() -> None:
    """Copy this worker's business counters (its partitions) to every worker."""
    if not ready():
        return
    first_day = first_kept_day()
    items, owners = counter_items()
    for key, bucket in items.items():
        if published.get(key) != bucket and not expired(key, first_day):
            published[key] = bucket
    for key in [k for k in list(published.keys())
                if k.rsplit("|", 1)[1] in owners and k not in items]:
        published.pop(key, None)  # swept, or a derived day that no longer has a sale
    for kind, n in waiting_lines().items():
        metrics.LINES_WAITING.labels(dimension=kind).set(n)


@app.timer(interval=3600.0)
async def prune_published() -> None:
    """Drop the published counters of days before ANALYTICS_RETENTION_DAYS (any worker's)."""
    if not ready():
        return
    first_day = first_kept_day()
    for key in [k for k in list(published.keys()) if expired(k, first_day)]:
        published.pop(key, None)


@app.timer(interval=10.0)
async def probe_integrations() -> None:
    """Broker, ERP, CDC slot, WhatsApp and LLM endpoints; consumer lag of this worker."""
    await asyncio.gather(_probe_broker(), _probe_erp(),
                         _probe_http("whatsapp", settings.whatsapp_base_url),
                         _probe_http("llm", settings.llm_base_url), _probe_lag())


@app.timer(interval=10.0)
async def scan_dead_letters() -> None:
    """Records that reached a dead-letter topic in the last 24 h, read from the broker."""
    since_ms = int((time.time() - 24 * 3600) * 1000)
    try:
        counts = await asyncio.to_thread(count_since, settings.bootstrap_servers(),
                                         DLQ_TOPICS, since_ms)
    except KafkaException as exc:
        log.warning("dead-letter scan failed: %s", exc)
        return
    for topic in DLQ_TOPICS:
        metrics.DEAD_LETTERS_24H.labels(topic=topic).set(counts.get(topic, 0))


def _record(target: str, started: float | None) -> None:
    """started None = the probe failed."""
    metrics.INTEGRATION_UP.labels(target=target).set(0 if started is None else 1)
    if started is not None:
        metrics.INTEGRATION_LATENCY.labels(target=target).set(time.perf_counter() - started)


@cache
def _admin() -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers(),
                        **settings.kafka_confluent_auth()})


async def _probe_broker() -> None:
    started = time.perf_counter()
    try:
        await asyncio.to_thread(_admin().list_topics, timeout=PROBE_TIMEOUT_S)
    except KafkaException as exc:
        log.info("broker probe failed: %r", exc)
        _record("broker", None)
        return
    _record("broker", started)


async def _probe_erp() -> None:
    started = time.perf_counter()
    try:
        conn = await asyncpg.connect(settings.erp_dsn(), timeout=PROBE_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        log.info("ERP probe failed: %r", exc)
        _record("erp", None)
        _record("cdc", None)
        return
    try:
        lag = await conn.fetchval(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) "
            "FROM pg_replication_slots WHERE slot_name = $1", settings.cdc_slot,
            timeout=PROBE_TIMEOUT_S)
        _record("erp", started)
    finally:
        await conn.close()
    if lag is None:
        _record("cdc", None)
    else:
        metrics.CDC_LAG_BYTES.set(float(lag))
        metrics.INTEGRATION_UP.labels(target="cdc").set(1)


async def _probe_http(target: str, base_url: str | None) -> None:
    if not base_url:
        metrics.INTEGRATION_UP.labels(target=target).set(-1)  # not configured
        return
    started = time.perf_counter()
    try:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(base_url, allow_redirects=False) as response:
            await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.info("%s probe failed: %r", target, exc)
        _record(target, None)
        return
    _record(target, started)  # any HTTP answer means the endpoint is reachable


async def _probe_lag() -> None:
    """Consumer lag per topic: the sum over this worker's partitions of it."""
    for topic, lags in (await partition_lags(set(catalogue.topics))).items():
        metrics.CONSUMER_LAG.labels(topic=topic).set(sum(lag or 0 for lag in lags))


def count_since(bootstrap: str, topics: list[str], since_ms: int,
                max_wait_s: float = 10.0) -> dict[str, int]:
    """Records per topic with a timestamp >= since_ms (reads from the first such offset)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "topllantas-dashboard",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         **settings.kafka_confluent_auth()})
    try:
        metadata = consumer.list_topics(timeout=PROBE_TIMEOUT_S)
        wanted = [TopicPartition(t, p, since_ms) for t in topics if t in metadata.topics
                  for p in metadata.topics[t].partitions]
        starts = [tp for tp in consumer.offsets_for_times(wanted, timeout=PROBE_TIMEOUT_S)
                  if tp.offset >= 0] if wanted else []
        counts: dict[str, int] = {}
        if not starts:
            return counts
        consumer.assign(starts)
        open_parts = {(tp.topic, tp.partition) for tp in starts}
        deadline = time.monotonic() + max_wait_s
        while open_parts and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.2):
                if msg.error():
                    open_parts.discard((msg.topic(), msg.partition()))
                elif msg.timestamp()[1] >= since_ms:
                    counts[msg.topic()] = counts.get(msg.topic(), 0) + 1
        return counts
    finally:
        consumer.close()


# ----------------------------------------------------------------------------- payload


def dashboard_data() -> dict[str, Any]:
    now = datetime.now(UTC)
    today = now.astimezone(MX).date()
    day = today.isoformat()
    periods = {"-", *(str(today - timedelta(weeks=w)) for w in range(TARGET_WEEKS + 1)),
               *(utc_hour(now - timedelta(hours=h)) for h in range(24))}
    items = list(published.items())
    counters = combine([(k, v) for k, v in items if k.split("|", 2)[1] in periods
                        and not k.startswith(INSIGHTS_DOMAIN + "|")])
    insights = [i for k, v in items if k.startswith(INSIGHTS_DOMAIN + "|") for i in v["items"]]
    events = {t: n for t, n in counters.get(("events_in", day), {}).items()}
    for topic, n in counters.get(("events_out", day), {}).items():
        events[topic] = max(events.get(topic, 0), n)
    return summarize(
        counters, now, sales_target=None, integrations=_integrations(),
        consumer_lag=_gauge_by_label(metrics.CONSUMER_LAG, "topic"),
        dead_letters_24h=_gauge_by_label(metrics.DEAD_LETTERS_24H, "topic"),
        events_today=events, jobs=scheduled_jobs(),
        worker={"id": WORKER_ID, "uptime_s": round(time.time() - STARTED_AT),
                "partitions": len(app.consumer.assignment())}, insights=insights)


def _integrations() -> list[Integration]:
    """From this worker's gauges (read directly: a registry-wide lookup costs ~2 ms each)."""
    ups = _gauge_by_label(metrics.INTEGRATION_UP, "target", float)
    latencies = _gauge_by_label(metrics.INTEGRATION_LATENCY, "target", float)
    out = []
    for target, label in TARGETS.items():
        up, latency = ups.get(target), latencies.get(target)
        detail = ""
        if target == "cdc" and up == 1:
            lag = metrics.CDC_LAG_BYTES.collect()[0].samples[0].value
            detail = f"{lag / 1024:,.0f} KiB de WAL pendiente"
        elif up == -1:
            detail = "no configurado"
        elif up is None:
            detail = "sin sondeo todavía"
        out.append(Integration(
            target=target, label=label, up=None if up in (None, -1) else up == 1,
            latency_ms=round(latency * 1000, 1) if latency is not None and up == 1 else None,
            detail=detail))
    return out


def _gauge_by_label(gauge: Gauge, label: str, kind: type = int) -> dict[str, Any]:
    return {s.labels[label]: kind(s.value) for family in gauge.collect()
            for s in family.samples}


def scheduled_jobs() -> list[Job]:
    """Every `@app.crontab` / `@app.timer` of the app with its next run (read from Faust)."""
    jobs = []
    for task in app._app_tasks:
        starter = inspect.getclosurevars(task).nonlocals.get("fun")
        if starter is None:
            continue
        scope = inspect.getclosurevars(starter).nonlocals
        fun = scope.get("fun", starter)
        doc = (inspect.getdoc(fun) or "").split("\n")[0]
        if "cron_format" in scope:
            tz = scope.get("timezone") or MX
            wait = round(secs_for_next(scope["cron_format"], tz))
            nxt = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=wait)
            jobs.append(Job(fun.__name__, doc, f"{scope['cron_format']} ({tz})", nxt))
        elif "interval_s" in scope:
            jobs.append(Job(fun.__name__, doc, f"cada {scope['interval_s']:g} s", None))
    return jobs


# ------------------------------------------------------------------------------- pages


def render_page(data: dict[str, Any]) -> str:
    page = (PAGE_DIR / "index.html").read_text()
    initial = orjson.dumps(data).decode().replace("</", "<\\/")
    return (page.replace("/*STYLE*/", (PAGE_DIR / "dashboard.css").read_text())
                .replace("/*SCRIPT*/", (PAGE_DIR / "dashboard.js").read_text())
                .replace("/*DATA*/", initial))


@app.page("/dashboard/")
async def dashboard_page(web: View, request: Request) -> Response:
    return web.html(render_page(dashboard_data()), headers={"Cache-Control": "no-store"})


@app.page("/dashboard/data.json")
async def dashboard_json(web: View, request: Request) -> Response:
    return web.json(dashboard_data(), headers={"Cache-Control": "no-store"})


@app.page("/analytics/inventory-daily/")
class InventorySnapshotView(View):
    """POST: emit today's end-of-day inventory rows now (reason "manual")."""

    async def post(self, request: Request) -> Response:
        partitions = await request_inventory_snapshot("manual")
        return self.json({"requested": partitions})


@app.page("/analytics/dimensions/{kind}/{ident}/")
async def dimension_versions(web: View, request: Request, kind: str, ident: str) -> Response:
    history = dimensions.get(f"{kind}:{ident}")
    if history is None:
        return web.json({"error": "dimensión desconocida"}, status=404)
    return web.json({"key": f"{kind}:{ident}", "versions": history})
