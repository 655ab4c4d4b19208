"""Decoding CDC records: tombstones, truncates and malformed records."""

from __future__ import annotations

import logging

import orjson
import pytest

from processors.change_events import BadEvent, decode_change
from schemas.cdc import UNAVAILABLE_VALUE

ORDER = {"id": 41, "customer_id": 3, "warehouse_id": 1, "status": "confirmado",
         "created_at": "2026-12-01T17:00:00Z"}


def _record(table: str, op: str, before: dict | None, after: dict | None) -> bytes:
    return orjson.dumps({"before": before, "after": after, "op": op, "ts_ms": 1,
                         "source": {"ts_ms": 1, "db": "erp", "schema": "public",
                                    "table": table, "lsn": 7}})


def test_a_change_of_an_order_decodes_with_its_join_key() -> None:
    change = decode_change(_record("sales_orders", "c", None, ORDER), "sales_orders")
    assert change is not None and change.op == "c" and change.lsn == 7
    assert change.order_key == b'{"id":41}'


def test_tombstones_are_none_and_bad_records_raise() -> None:
    assert decode_change(None) is None
    with pytest.raises(BadEvent, match="not JSON"):
        decode_change(b"{roto")
    with pytest.raises(BadEvent, match="unknown table"):
        decode_change(_record("nominas", "c", None, {"id": 1}))
    with pytest.raises(BadEvent, match="on the topic of"):
        decode_change(_record("sales_orders", "c", None, ORDER), "sales_order_lines")
    with pytest.raises(BadEvent, match="bad sales_orders row"):
        decode_change(_record("sales_orders", "c", None, {**ORDER, "customer_id": "x"}))


def test_a_reader_of_rows_skips_a_truncate_and_says_so(caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    truncate = _record("sales_orders", "t", None, None)
    change = decode_change(truncate, "sales_orders", truncates=True)
    assert change is not None and change.op == "t"
    with caplog.at_level(logging.WARNING):
        assert decode_change(truncate, "sales_orders") is None
    assert "truncate of sales_orders (lsn 7) skipped by a reader of rows" in caplog.text
    assert decode_change(_record("sales_orders", "u", ORDER, ORDER), "sales_orders") is not None


def test_defect5_an_unchanged_toast_value_is_merged_from_the_previous_image_or_dead_lettered(
        ) -> None:
    """A column the server did not send (Debezium's placeholder) is taken from the reader's
    previous image of the row; a reader without one gets a BadEvent that says why."""
    update = _record("sales_orders", "u", None, {**ORDER, "status": UNAVAILABLE_VALUE})
    with pytest.raises(BadEvent, match="without the value of status.*REPLICA IDENTITY FULL"):
        decode_change(update, "sales_orders")
    with pytest.raises(BadEvent, match="no earlier image"):
        decode_change(update, "sales_orders", previous={"id": 41})
    change = decode_change(update, "sales_orders", previous={**ORDER, "status": "reservado"})
    assert change is not None and change.after == {**ORDER, "status": "reservado"}
    change = decode_change(update, "sales_orders", previous=ORDER)
    assert change is not None and change.row["status"] == "confirmado"
