"""The enriched topics through a real worker: CDC from the ERP, the real broker, Faust tables.

A scripted day: a sale, a price change, a sale, the customer moves to another city, a sale,
the first order is cancelled; a brand-new product and customer sold in the same transaction
that creates them (their lines wait for the dimensions); a delivery; the end-of-day inventory.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import asyncpg
import pytest
import typer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from confluent_kafka import Producer, murmur2
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.reports import cli as report_cli
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from processors.analytics.calendar import MX
from schemas.events import OrderSweep
from schemas.settings import get_settings
from schemas.topics import load_catalogue
from streams.table_stores import rocksdb_root
from tests import stack_fixture
from tests.integration.conftest import process_env
from tests.integration.kafka_read import read_all
from tests.stack_fixture import TestStack
from transport.dlq import H_STAGE

pytestmark = pytest.mark.integration
TOKEN = "prueba-tablero-123"
SWEEPS = "orders.sweeps"


@dataclass
class Pipeline:
    stack: TestStack
    port: str
    supervisor: Supervisor
    env: dict[str, str] = field(default_factory=dict)  # the worker's, for a test that restarts it

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path), headers=(
            {"Authorization": f"Bearer {token}"} if token else {}))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def metric(self, name: str, **labels: str) -> float:
        """The sample's value; 0 while the worker's web server does not answer."""
        try:
            _, body = self.get("/metrics", token=None)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0.0
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    return sample.value
        return 0.0


def web_up(pipeline: Pipeline) -> bool:
    try:
        return pipeline.get("/metrics", token=None)[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


async def _count_lines(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM sales_order_lines")
    finally:
        await conn.close()


def start_pipeline(stack: TestStack, supervisor: Supervisor) -> Pipeline:
    """CDC, the WhatsApp double (so alert messages go out) and one worker."""
    whatsapp = str(free_port())
    env = process_env(stack, DASHBOARD_TOKEN=TOKEN,
                      WHATSAPP_BASE_URL=f"http://127.0.0.1:{whatsapp}")
    supervisor.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port", whatsapp,
                     env=env)
    supervisor.start("cdc", "cdc", "run", env=env)
    supervisor.start("worker", "worker", env=env)
    pipeline = Pipeline(stack, env["FAUST_WEB_PORT"], supervisor, env)
    wait_for(lambda: web_up(pipeline), 120, "the worker's web server")
    lines = asyncio.run(_count_lines(stack.erp_dsn))
    wait_for(lambda: pipeline.metric("topllantas_records_emitted_total",
                                     topic="analytics.sales_enriched") >= lines, 120,
             f"the {lines} snapshot lines to be enriched")
    return pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """ERP (a few days of history) + CDC + one worker, with the snapshot enriched."""
    with stack_fixture.test_stack() as stack:
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=generate_catalogue(
            seed=5, n_products=120, n_customers=30, days=4)))
        apply_catalogue(stack.settings())
        with Supervisor({}, tmp_path_factory.mktemp("logs")) as supervisor:
            yield start_pipeline(stack, supervisor)


def latest_records(stack: TestStack, topic: str) -> dict[str, dict]:
    """The latest value per key of a topic."""
    out: dict[str, dict] = {}
    for record in read_all(stack.bootstrap_servers, [topic], idle=1.0):
        if record.value is not None and record.key is not None:
            out[record.key.decode()] = json.loads(record.value)
    return out


def wait_for_keys(stack: TestStack, topic: str, keys: set[str], check=lambda _: True,
                  timeout: float = 60.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    records: dict[str, dict] = {}
    while time.monotonic() < deadline:
        records = latest_records(stack, topic)
        if keys <= records.keys() and all(check(records[k]) for k in keys):
            return records
    missing = keys - records.keys()
    raise AssertionError(f"{topic}: missing {missing} or not as expected: "
                         f"{[records.get(k) for k in keys]}")


async def sell(conn: asyncpg.Connection, customer: int, warehouse: int, product: int) -> int:
    """One confirmed order of 4 units at the current list price; returns the line id."""
    async with conn.transaction():
        price = await conn.fetchrow("SELECT list_price, cost FROM products WHERE id = $1",
                                    product)
        order = await conn.fetchval(
            "INSERT INTO sales_orders (customer_id, warehouse_id, status) "
            "VALUES ($1, $2, 'confirmado') RETURNING id", customer, warehouse)
        return await conn.fetchval(
            "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost) "
            "VALUES ($1, $2, 4, $3, $4) RETURNING id", order, product, price["list_price"],
            price["cost"])


def known_version(pipeline: Pipeline, key: str, field: str, value: object) -> bool:
    kind, ident = key.split(":")
    status, body = pipeline.get(f"/analytics/dimensions/{kind}/{ident}/")
    return status == 200 and json.loads(body)["versions"][-1]["attrs"][field] == value


async def test_sales_lines_follow_price_changes_and_customer_moves(pipeline: Pipeline) -> None:
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        product, old_price = await conn.fetchrow(
            "SELECT id, list_price FROM products ORDER BY id LIMIT 1")
        customer, old_city, warehouse = await conn.fetchrow(
            "SELECT id, city, home_warehouse_id FROM customers ORDER BY id LIMIT 1")
        first = await sell(conn, customer, warehouse, product)
        new_price = (old_price * Decimal("1.10")).quantize(Decimal("0.01"))
        await conn.execute("UPDATE products SET list_price = $2, updated_at = now() "
                           "WHERE id = $1", product, new_price)
        await asyncio.to_thread(wait_for, lambda: known_version(
            pipeline, f"product:{product}", "list_price", f"{new_price}"), 60, "the new price")
        second = await sell(conn, customer, warehouse, product)
        await conn.execute("UPDATE customers SET city = 'Querétaro', state = 'Querétaro', "
                           "updated_at = now() WHERE id = $1", customer)
        await asyncio.to_thread(wait_for, lambda: known_version(
            pipeline, f"customer:{customer}", "city", "Querétaro"), 60, "the move")
        third = await sell(conn, customer, warehouse, product)
        await conn.execute("UPDATE sales_orders SET status = 'cancelado' WHERE id = "
                           "(SELECT order_id FROM sales_order_lines WHERE id = $1)", first)
    finally:
        await conn.close()

    keys = {str(first), str(second), str(third)}
    lines = await asyncio.to_thread(
        wait_for_keys, pipeline.stack, "analytics.sales_enriched", keys,
        lambda r: r["line_id"] != first or r["order_status"] == "cancelado")
    a, b, c = (lines[str(k)] for k in (first, second, third))
    assert (Decimal(a["list_price"]), a["customer_city"]) == (old_price, old_city)
    assert (Decimal(b["list_price"]), b["customer_city"]) == (new_price, old_city)
    assert (Decimal(c["list_price"]), c["customer_city"]) == (new_price, "Querétaro")
    assert not a["counts_as_sale"] and b["counts_as_sale"] and c["counts_as_sale"]
    assert Decimal(c["revenue"]) == 4 * new_price
    assert Decimal(c["margin"]) == Decimal(c["revenue"]) - Decimal(c["cost"])
    assert c["dimension_lsns"][f"customer:{customer}"] > b["dimension_lsns"][
        f"customer:{customer}"]


async def test_a_line_waits_for_dimensions_created_in_its_own_transaction(
        pipeline: Pipeline) -> None:
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        async with conn.transaction():
            product = await conn.fetchval(
                "INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, "
                "width, aspect_ratio, rim, tire_size, load_index, speed_index, cost, list_price, "
                "weight_kg) SELECT max(id) + 1, 'NEW-' || (max(id) + 1), 1, 1, 1, 'Nueva', 205, "
                "55, 16, '205/55R16', 91, 'V', 1000, 1500, 9 FROM products RETURNING id")
            customer = await conn.fetchval(
                "INSERT INTO customers (id, name, tier, address, city, state, lat, lon, "
                "home_warehouse_id) SELECT max(id) + 1, 'Flotilla Nueva', 'flotilla', "
                "'Av. Juárez 1', 'Puebla', 'Puebla', 19.04, -98.2, 1 FROM customers "
                "RETURNING id")
            line = await sell(conn, customer, 1, product)
    finally:
        await conn.close()
    lines = await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.sales_enriched",
                                    {str(line)})
    record = lines[str(line)]
    assert (record["sku"], record["customer_city"]) == (f"NEW-{product}", "Puebla")
    assert record["counts_as_sale"] and Decimal(record["margin"]) == Decimal("2000.00")


async def test_deliveries_and_the_end_of_day_inventory(pipeline: Pipeline) -> None:
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        order = await conn.fetchval("SELECT max(id) FROM sales_orders")
        delivery = await conn.fetchval(
            "INSERT INTO deliveries (sales_order_id, vehicle_id, route_date, sequence, "
            "eta_start, eta_end, status) VALUES ($1, 1, current_date, 1, now(), "
            "now() + interval '1 hour', 'en_ruta') RETURNING id", order)
        await conn.execute("UPDATE deliveries SET status = 'entregada', delivered_at = now(), "
                           "updated_at = now() WHERE id = $1", delivery)
        positions = await conn.fetchval("SELECT count(*) FROM stock")
    finally:
        await conn.close()
    stops = await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.deliveries",
                                    {str(delivery)}, lambda r: r["status"] == "entregada")
    assert stops[str(delivery)]["on_time"] is True

    status, body = pipeline.get("/analytics/inventory-daily/")
    assert status == 405  # GET is not the trigger
    request = urllib.request.Request(pipeline.url("/analytics/inventory-daily/"), method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["requested"] >= 1

    def all_rows() -> dict[str, dict] | None:
        rows = latest_records(pipeline.stack, "analytics.inventory_daily")
        return rows if len(rows) >= positions else None

    rows = await asyncio.to_thread(wait_for, all_rows, 60, "every position's daily row")
    valued = [r for r in rows.values() if r["unit_cost"] is not None]
    assert len(valued) == len(rows)
    sample = valued[0]
    assert Decimal(sample["value_on_hand"]) == max(sample["on_hand"], 0) * Decimal(
        sample["unit_cost"])
    assert sample["reason"] == "manual" and sample["sku"] and sample["warehouse_name"]


class Mailbox:
    """A loopback SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


async def test_the_weekly_report_reads_the_topics_and_goes_out_by_email(
        pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box, port = Mailbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    for name, value in process_env(pipeline.stack, SMTP_PORT=str(port)).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    out = tmp_path / "semana.html"
    week_end = datetime.now(MX).date()
    cli = typer.Typer()
    cli.add_typer(report_cli.app, name="report")  # as ops/cli/main.py registers it
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, [
            "report", "weekly", "--to", str(out), "--week-end", week_end.isoformat(),
            "--email", "direccion@topllantas.mx"])
    finally:
        smtp.stop()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "direccion@topllantas.mx: sent" in result.output
    html = out.read_text()
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        revenue = await conn.fetchval(
            "SELECT sum(l.qty * l.unit_price) FROM sales_order_lines l JOIN sales_orders o "
            "ON o.id = l.order_id WHERE o.status IN ('reservado', 'confirmado', 'entregado') "
            "AND (o.created_at AT TIME ZONE 'America/Mexico_City')::date "
            "BETWEEN $1::date - 6 AND $1::date", week_end)
    finally:
        await conn.close()
    assert revenue > 0 and f"${float(revenue):,.0f}" in html  # the ERP's own total
    [mail] = box.messages
    assert mail["Subject"].startswith("Reporte semanal TopLlantas")
    assert "data:image/png;base64," in mail.get_payload()[1].get_payload(decode=True).decode()


def _changelog(pipeline: Pipeline, table: str) -> list:
    return read_all(pipeline.stack.bootstrap_servers, [f"topllantas-{table}-changelog"],
                    idle=1.0)


def _table_key(raw: bytes) -> str:
    """A Faust table key (text) as its changelog holds it: JSON-serialized or raw."""
    try:
        key = json.loads(raw)
    except ValueError:
        return raw.decode()
    return key if isinstance(key, str) else raw.decode()


def _tombstones(pipeline: Pipeline, table: str) -> dict[str, int]:
    """Deleted keys of a table's changelog (not written again since) -> partition."""
    latest: dict[str, tuple[bytes | None, int]] = {}
    for record in _changelog(pipeline, table):
        if record.key is not None:
            latest[_table_key(record.key)] = (record.value, record.partition)
    return {key: part for key, (value, part) in latest.items() if value is None}


async def test_orders_live_in_rocksdb_and_a_killed_worker_rebuilds_them(
        pipeline: Pipeline) -> None:
    """The per-order tables are on RocksDB (ORDER_TABLE_STORE's default), in a directory of the
    worker's process. A SIGKILLed worker's directory is removed by the next worker, which starts
    empty and rebuilds the orders from the changelog: cancelling an order sold before the kill
    re-emits its line (an order missing from the rebuilt table would emit nothing)."""
    root = rocksdb_root(pipeline.stack.settings())
    killed = pipeline.supervisor.procs["worker"].pid
    partitions = load_catalogue()[SWEEPS].partitions
    assert {f"{table}-{n}.db" for table in ("analytics_orders", "sales_order_state")
            for n in range(partitions)} <= {p.name for p in (root / str(killed)).iterdir()}
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        line = await sell(conn, 2, 1, 2)
        await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.sales_enriched",
                                {str(line)})
        pipeline.supervisor.kill("worker")
        pipeline.supervisor.start("worker", "worker", env=pipeline.env)
        await asyncio.to_thread(wait_for, lambda: web_up(pipeline), 120, "the worker again")
        await conn.execute("UPDATE sales_orders SET status = 'cancelado' WHERE id = "
                           "(SELECT order_id FROM sales_order_lines WHERE id = $1)", line)
    finally:
        await conn.close()
    record = (await asyncio.to_thread(
        wait_for_keys, pipeline.stack, "analytics.sales_enriched", {str(line)},
        lambda r: r["order_status"] == "cancelado", 120))[str(line)]
    assert record["qty"] == 4 and not record["counts_as_sale"]
    assert not (root / str(killed)).exists()
    assert (root / str(pipeline.supervisor.procs["worker"].pid)).is_dir()


async def test_the_daily_sweep_drops_idle_orders_in_their_own_partitions(
        pipeline: Pipeline) -> None:
    """Runs last: it sweeps every order of the module that is idle as of a month from now."""
    retention = get_settings().analytics_retention_days
    conn = await asyncpg.connect(pipeline.stack.erp_dsn)
    try:
        async with conn.transaction():  # an order of 100 days ago, entered today
            old = await conn.fetchval(
                "INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at) "
                "VALUES (1, 1, 'entregado', now() - interval '100 days') RETURNING id")
            old_line = await conn.fetchval(
                "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, "
                "unit_cost) VALUES ($1, 1, 2, 1000, 700) RETURNING id", old)
        await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.sales_enriched",
                                {str(old_line)})
        await asyncio.sleep(1.0)
        as_of = datetime.now(UTC)  # the old order was last changed before this instant
        await asyncio.sleep(1.0)
        fresh_line = await sell(conn, 1, 1, 1)
        fresh = await conn.fetchval("SELECT order_id FROM sales_order_lines WHERE id = $1",
                                    fresh_line)
        await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.sales_enriched",
                                {str(fresh_line)})
        first_kept = as_of.astimezone(MX).date()
        # a sweep as of a retention window from now: everything idle since `as_of` goes
        request = OrderSweep(at=as_of + timedelta(days=retention), reason="manual")
        producer = Producer({"bootstrap.servers": pipeline.stack.bootstrap_servers})
        partitions = load_catalogue()[SWEEPS].partitions
        for partition in range(partitions):
            producer.produce(SWEEPS, value=request.model_dump_json().encode(),
                             partition=partition)
        producer.produce(SWEEPS, value=b'{"at": "ayer"}', partition=0)  # malformed
        producer.flush(10)
        old_key, fresh_key = (json.dumps({"id": n}, separators=(",", ":")) for n in (old, fresh))
        enriched = await asyncio.to_thread(
            wait_for, lambda: (lambda t: t if old_key in t else None)(
                _tombstones(pipeline, "analytics_orders")), 60, "the idle orders to be swept")

        assert fresh_key not in enriched and len(enriched) > 10  # the module's older orders
        assert all(murmur2(key.encode(), partitions) == part for key, part in enriched.items())
        for key, part in _tombstones(pipeline, "analytics_counters").items():
            domain, period, owner = key.split("|")
            assert period[:10] < first_kept.isoformat() and owner == f"p{part}"
        # the sales counters are derived from the orders: the seeded days' leave the dashboard
        published = await asyncio.to_thread(wait_for, lambda: (lambda t: t if any(
            k.startswith("sales|") and k.split("|")[1] < first_kept.isoformat() for k in t)
            else None)(_tombstones(pipeline, "analytics_dashboard")), 30,
            "the swept days' sales to leave the dashboard")
        fresh_day = f"sales|{first_kept}|p{murmur2(fresh_key.encode(), partitions)}"
        assert fresh_day not in published
        demand = _tombstones(pipeline, "sales_order_state")  # created before 120 days
        assert old_key in demand and fresh_key not in demand
        assert all(murmur2(key.encode(), partitions) == part for key, part in demand.items())

        # a late change of a swept order still reaches the enriched topic
        async with conn.transaction():
            await conn.execute("UPDATE sales_orders SET status = 'cancelado' WHERE id = $1", old)
            await conn.execute("UPDATE sales_order_lines SET qty = 3 WHERE id = $1", old_line)
    finally:
        await conn.close()
    await asyncio.to_thread(wait_for_keys, pipeline.stack, "analytics.sales_enriched",
                            {str(old_line)}, lambda r: r["qty"] == 3)
    # the malformed request was dead-lettered by both of its readers, nothing swept by it
    stages = {dict(r.headers).get(H_STAGE) for r in read_all(
        pipeline.stack.bootstrap_servers, [SWEEPS + ".dlq"], idle=1.0)}
    assert stages == {b"analytics.sales", b"demand.orders"}
