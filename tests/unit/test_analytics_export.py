"""Typed Arrow columns from topic records (value models and flattened CDC rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from ops.export import Record, TopicTable, write_table
from schemas.analytics import DeliveryStop
from schemas.topics import load_catalogue


def test_value_models_become_typed_columns(tmp_path: Path) -> None:
    table = TopicTable(load_catalogue(), "analytics.deliveries")
    stop = DeliveryStop(delivery_id=5, sales_order_id=77, route_date="2026-11-25",
                        status="entregada", delivered_at=datetime(2026, 11, 25, 17, tzinfo=UTC),
                        on_time=True, delay_minutes=-5.5)
    assert table.add(Record(1, 10, 1_764_090_000_000, b"5", stop.model_dump_json().encode()))
    assert not table.add(Record(1, 11, 1_764_090_000_000, b"5", None))  # tombstone
    arrow = table.to_arrow()
    assert arrow.num_rows == 1
    assert arrow.schema.field("route_date").type == pa.date32()
    assert arrow.schema.field("delivered_at").type == pa.timestamp("us", tz="UTC")
    assert arrow.schema.field("on_time").type == pa.bool_()
    path = tmp_path / "deliveries.parquet"
    write_table(arrow, path)
    row = duckdb.sql(f"SELECT delivery_id, kafka_key, delay_minutes, route_date::VARCHAR "
                     f"FROM '{path}'").fetchall()
    assert row == [(5, "5", -5.5, "2026-11-25")]


def test_cdc_records_are_flattened_to_the_row(tmp_path: Path) -> None:
    table = TopicTable(load_catalogue(), "erp.public.products")
    row = {"id": 7, "sku": "MIC-205-16", "brand_id": 1, "category_id": 1, "supplier_id": 1,
           "model": "Primacy 4", "width": 205, "aspect_ratio": 55, "rim": 16,
           "tire_size": "205/55R16", "load_index": 91, "speed_index": "V", "cost": "1500.00",
           "list_price": "2400.50", "weight_kg": "9.10"}
    event = {"before": None, "after": row, "op": "u", "ts_ms": 1,
             "source": {"ts_ms": 1_764_090_000_000, "db": "erp", "schema": "public",
                        "table": "products", "lsn": 42}}
    table.add(Record(0, 3, 1_764_090_000_001, b'{"id":7}', orjson.dumps(event)))
    arrow = table.to_arrow()
    assert arrow.schema.field("list_price").type == pa.decimal128(20, 4)
    assert arrow.column("list_price").to_pylist() == [Decimal("2400.5000")]
    assert arrow.column("op").to_pylist() == ["u"] and arrow.column("lsn").to_pylist() == [42]
    path = tmp_path / "products.csv"
    write_table(arrow, path)
    assert duckdb.sql(f"SELECT sku, list_price FROM read_csv_auto('{path}')").fetchall() == [(
        "MIC-205-16", 2400.5)]


def test_a_truncate_is_exported_as_its_op_without_a_row() -> None:
    table = TopicTable(load_catalogue(), "erp.public.products")
    event = {"before": None, "after": None, "op": "t", "ts_ms": 1,
             "source": {"ts_ms": 1_764_090_000_000, "db": "erp", "schema": "public",
                        "table": "products", "lsn": 43}}
    assert table.add(Record(0, 4, 1_764_090_000_001, None, orjson.dumps(event)))
    arrow = table.to_arrow()
    assert arrow.column("op").to_pylist() == ["t"] and arrow.column("lsn").to_pylist() == [43]
    assert arrow.column("sku").to_pylist() == [None]
