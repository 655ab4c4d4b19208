"""`topllantas export` on the real broker: a topic to Parquet and CSV, read back with DuckDB."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import typer
from confluent_kafka import Producer
from typer.testing import CliRunner

from ops.cli import export as export_cli
from ops.export import export_topic
from ops.topics_admin import apply_catalogue
from schemas.analytics import DeliveryStop
from schemas.topics import load_catalogue
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
TOPIC = "analytics.deliveries"
OLD, RECENT = 300, 200


def stop(i: int) -> bytes:
    eta_end = datetime(2026, 11, 20, 17, tzinfo=UTC)
    delay = i % 120 - 60
    return DeliveryStop(
        delivery_id=i, sales_order_id=1000 + i, route_date=date(2026, 11, 20), sequence=i % 9,
        status="entregada", planned_end=eta_end, delivered_at=eta_end + timedelta(minutes=delay),
        on_time=delay <= 0, delay_minutes=delay).model_dump_json().encode()


def test_a_topic_round_trips_through_parquet_and_duckdb(stack: TestStack, tmp_path: Path) -> None:
    apply_catalogue(stack.settings())
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5})
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    old_ms = int((cutoff - timedelta(days=2)).timestamp() * 1000)
    for i in range(OLD):
        producer.produce(TOPIC, key=str(i).encode(), value=stop(i), timestamp=old_ms + i)
    for i in range(OLD, OLD + RECENT):
        producer.produce(TOPIC, key=str(i).encode(), value=stop(i))
    producer.produce(TOPIC, key=b"0", value=None)  # a tombstone is not a row
    producer.flush(30)

    path = tmp_path / "entregas.parquet"
    seen: list[tuple[int, int]] = []
    rows = export_topic(stack.bootstrap_servers, load_catalogue(), TOPIC, cutoff, path,
                        progress=lambda done, total: seen.append((done, total)))
    assert rows == RECENT and seen and seen[-1][0] == OLD + RECENT + 1
    count, first, late, on_time = duckdb.sql(
        f"SELECT count(*), min(delivery_id), count(*) FILTER (WHERE delay_minutes > 0), "
        f"count(*) FILTER (WHERE on_time) FROM '{path}'").fetchall()[0]
    assert (count, first) == (RECENT, OLD)
    assert late + on_time == RECENT
    kinds = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
    assert kinds["delivered_at"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["route_date"] == "DATE" and kinds["kafka_offset"] == "BIGINT"


def test_the_cli_writes_csv_since_a_local_date(stack: TestStack, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    apply_catalogue(stack.settings())
    topic = "analytics.inventory_daily"
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    value = (b'{"day":"2026-11-24","product_id":1,"warehouse_id":1,"on_hand":4,"reserved":0,'
             b'"available":4,"on_order":0,"in_transit":0,"position":4,"unit_cost":"1500.00",'
             b'"value_on_hand":"6000.00","reason":"cierre","snapshot_at":"2026-11-25T05:59:00Z"}')
    for i in range(25):
        producer.produce(topic, key=f"{i}:1:2026-11-24".encode(), value=value)
    producer.flush(30)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap_servers)
    from schemas.settings import get_settings

    get_settings.cache_clear()
    app = typer.Typer()
    export_cli.register(app)
    app.command()(lambda: None)  # a second command, so `export` is a sub-command
    out = tmp_path / "inventario.csv"
    started = time.monotonic()
    result = CliRunner().invoke(app, ["export", topic, "--since", "2020-01-01", "--to", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "25 records" in result.output and time.monotonic() - started < 30
    total = duckdb.sql(f"SELECT count(*), sum(value_on_hand) FROM read_csv_auto('{out}')"
                       ).fetchall()[0]
    assert total == (25, 150000.0)
