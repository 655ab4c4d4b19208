"""Property tests: any bytes on a CDC topic either decode or are rejected with a reason.

The consumer side reads `erp.public.*` records through `processors.change_events.decode_change`
and, for stock and purchase orders, the inventory processors. Whatever arrives (malformed JSON,
wrong types, unknown ops, unicode, huge values, injection strings), each path either returns a
result or raises one of the exceptions its agent dead-letters (streams/inventory.py,
streams/stock_alerts.py), with a readable reason. Anything else would crash the worker.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from processors.change_events import BadEvent, Change, decode_change
from processors.inventory.position import (
    InventoryState,
    PurchaseOrderState,
    apply_po_change,
    apply_stock_change,
)

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INJECTION = ["'; DROP TABLE stock; --", "${jndi:ldap://x/a}", "<script>alert(1)</script>",
             "\x00", "../../etc/passwd", "{{7*7}}", "%s%s%n", "\u202e\ufeff", "🛞" * 50]
TABLES = ["stock", "purchase_orders", "purchase_order_lines", "products", "nope", "", "ſtock"]
OPS = ["c", "u", "d", "r", "t", "x", "", None, 1]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=40), st.sampled_from(INJECTION),
    st.just("2026-11-24T17:45:00Z"), st.just("x" * 20_000), st.just("1700000000"),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the valid value, sometimes anything: deep paths get reached, and broken."""
    return st.one_of(valid, valid, valid, json_values)


def _stock_row() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"product_id": _mostly(st.integers(1, 5000)), "warehouse_id": _mostly(st.integers(1, 3)),
         "on_hand": _mostly(st.integers(-10, 10_000))},
        optional={"reserved": _mostly(st.integers(0, 9)), "in_transit": json_values,
                  "updated_at": _mostly(st.just("2026-11-24T17:45:00.123456+00:00"))})


def _po_row() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": _mostly(st.integers(1, 99)), "po_id": _mostly(st.integers(1, 99)),
         "supplier_id": st.integers(1, 9), "warehouse_id": _mostly(st.integers(1, 3)),
         "product_id": _mostly(st.integers(1, 99)),
         "status": _mostly(st.sampled_from(["abierta", "recibida", "cancelada"])),
         "created_at": _mostly(st.just("2026-11-24T17:45:00Z")),
         "qty": _mostly(st.integers(0, 500)), "unit_cost": st.just("12.50")},
        optional={"received_qty": _mostly(st.integers(0, 500))})


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly well-formed change events with some fields replaced by anything."""
    table = draw(st.one_of(st.sampled_from(TABLES[:3]), st.sampled_from(TABLES)))
    row = _stock_row() if table == "stock" else _po_row()
    image = st.one_of(st.none(), row, row, json_values)
    source = draw(st.one_of(st.fixed_dictionaries(
        {"ts_ms": _mostly(st.integers(0, 2**53)), "db": st.just("erp"),
         "schema": st.sampled_from(["public", "", "pg_catalog"]), "table": st.just(table)},
        optional={"lsn": _mostly(st.integers(0, 2**64)),
                  "snapshot": st.sampled_from(["true", "false", "last", "nope"]),
                  "txId": json_values}), json_values))
    event = {"before": draw(image), "after": draw(image), "source": source,
             "op": draw(st.one_of(st.sampled_from(["c", "u", "d", "r"]), st.sampled_from(OPS))),
             "ts_ms": draw(st.one_of(st.integers(), scalars))}
    for name in draw(st.sets(st.sampled_from(sorted(event)), max_size=1)):
        del event[name]
    return event


VALID_STOCK = {"product_id": 1, "warehouse_id": 2, "on_hand": 5, "reserved": 1, "in_transit": 0,
               "updated_at": "2026-11-24T17:45:00Z"}
VALID_LINE = {"id": 3, "po_id": 9, "product_id": 1, "qty": 4, "unit_cost": "12.50",
              "received_qty": 0}
VALID_HEADER = {"id": 9, "supplier_id": 1, "warehouse_id": 2, "status": "abierta",
                "created_at": "2026-11-24T17:45:00Z"}


VALID_ROWS = {"stock": VALID_STOCK, "purchase_order_lines": VALID_LINE,
              "purchase_orders": VALID_HEADER}


@st.composite
def one_field_wrong(draw: st.DrawFn, *tables: str) -> dict[str, Any]:
    """A valid change event of one of `tables` with one field of its row (or of the envelope)
    replaced by any scalar: where a typed path meets a type it did not expect."""
    table = draw(st.sampled_from(tables))
    row = dict(VALID_ROWS[table])
    op = draw(st.sampled_from(["c", "u", "d", "r", "t"]))
    event: dict[str, Any] = {"op": op, "ts_ms": 1, "source": {
        "ts_ms": 1, "db": "erp", "schema": "public", "table": table, "lsn": 100}}
    event["before" if op == "d" else "after"] = row
    target = draw(st.sampled_from([*row, "op", "lsn", "ts_ms"]))
    value = draw(scalars)
    if target in row:
        row[target] = value
    elif target == "lsn":
        event["source"]["lsn"] = value
    else:
        event[target] = value
    return event


def _encode(event: Any) -> bytes:
    try:
        return orjson.dumps(event)
    except (orjson.JSONEncodeError, TypeError):
        return repr(event).encode()


raw_values = st.one_of(
    st.binary(max_size=300), st.text(max_size=300).map(str.encode),
    json_values.map(_encode), envelopes().map(_encode),
    st.just(b"{" * 20_000), st.just(b"[" * 10_000 + b"]" * 10_000),
    st.just(b'{"op":"c","after":{"x":"' + b"\xff" * 1000 + b'"}}'),
)


def _reason(exc: Exception) -> str:
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a reason"
    return text


@FAST
@given(raw_values)
def test_decode_change_accepts_or_rejects_with_reason(value: bytes) -> None:
    try:
        change = decode_change(value)
    except BadEvent as exc:
        _reason(exc)
        return
    assert change is None or isinstance(change, Change)


@FAST
@given(envelopes().map(_encode))
def test_row_readers_never_see_a_change_without_a_row(value: bytes) -> None:
    """What decode_change returns to a reader of rows names a row (a truncate is skipped), for
    any table."""
    for table in ("stock", "sales_orders", "purchase_order_lines"):
        try:
            change = decode_change(value, table)
        except BadEvent as exc:
            _reason(exc)
            continue
        if change is not None:
            assert isinstance(change.row, dict)


def _stock_path(value: bytes) -> None:
    """streams/stock_alerts.py → streams/inventory.update_inventory on a stock record."""
    change = decode_change(value, "stock")
    if change is None:
        return
    state = InventoryState(1, 1)
    apply_stock_change(state, change.op, change.row, change.lsn)
    state.position()


@FAST
@given(st.one_of(one_field_wrong("stock").map(_encode), one_field_wrong("stock").map(_encode),
                 envelopes().map(_encode), raw_values))
def test_stock_decode_path_dead_letters_with_reason(value: bytes) -> None:
    """The stock-alert agent dead-letters BadEvent, ValidationError and ValueError; nothing else
    may escape (it would stop the agent)."""
    try:
        _stock_path(value)
    except (BadEvent, ValidationError, ValueError) as exc:
        _reason(exc)


def _po_path(value: bytes, table: str) -> None:
    """streams/inventory.route_purchase_orders then track_purchase_orders on one record."""
    change = decode_change(value, table)
    if change is None:
        return
    row = change.row
    po_id = row["id"] if change.table == "purchase_orders" else row["po_id"]
    assert po_id is not None
    second = decode_change(value)
    assert second is not None
    apply_po_change(PurchaseOrderState(), second.table, second.op, second.row)


@FAST
@given(st.one_of(one_field_wrong("purchase_orders", "purchase_order_lines").map(_encode),
                 envelopes().map(_encode)),
       st.sampled_from(["purchase_orders", "purchase_order_lines"]))
def test_purchase_order_path_dead_letters_with_reason(value: bytes, table: str) -> None:
    """Both purchase-order agents dead-letter only BadEvent: nothing else may escape."""
    try:
        _po_path(value, table)
    except BadEvent as exc:
        _reason(exc)


# Crashes these properties found (a truncate reached `change.row`; pydantic read a number as the
# stock row's `updated_at` and apply_stock_change called str methods on it), pinned.

STOCK_SOURCE = {"ts_ms": 0, "db": "erp", "schema": "public", "table": "stock", "lsn": 1}
TRUNCATE = orjson.dumps({"op": "t", "ts_ms": 0, "source": STOCK_SOURCE})
NUMERIC_UPDATED_AT = orjson.dumps({"op": "c", "ts_ms": 0, "source": STOCK_SOURCE, "after": {
    "product_id": 1, "warehouse_id": 2, "on_hand": 5, "updated_at": 1}})


def test_a_truncate_is_skipped_with_a_log_by_readers_of_rows(
        caplog: pytest.LogCaptureFixture) -> None:
    orders = TRUNCATE.replace(b'"stock"', b'"purchase_orders"')
    with caplog.at_level(logging.WARNING, "topllantas.change_events"):
        assert decode_change(TRUNCATE, "stock") is None
        assert decode_change(orders) is None
    assert caplog.text.count("skipped by a reader of rows") == 2
    _stock_path(TRUNCATE)  # no AssertionError any more
    _po_path(orders, "purchase_orders")


def test_a_truncate_reaches_a_reader_that_asks_for_it_and_names_no_row() -> None:
    change = decode_change(TRUNCATE, "stock", truncates=True)
    assert change is not None and change.op == "t"
    with pytest.raises(BadEvent, match="stock change op 't' names no row"):
        change.row  # noqa: B018


@pytest.mark.parametrize("value", [1, 1.5, True, ["2026-11-24"], {"at": 1}])
def test_a_time_that_is_not_a_string_is_a_bad_event_with_its_reason(value: Any) -> None:
    bad = NUMERIC_UPDATED_AT.replace(b'"updated_at":1', b'"updated_at":' + orjson.dumps(value))
    with pytest.raises(BadEvent, match="bad stock row: updated_at: Input should be a valid "
                                       rf"datetime \(got {type(value).__name__} "):
        _stock_path(bad)


def test_strict_types_keep_what_the_contract_sends() -> None:
    """Decimals as strings, times as ISO strings, integers as numbers decode; an integer as a
    string does not (the CDC sends numbers: sources/cdc/pgoutput.py)."""
    line = {"op": "c", "ts_ms": 0, "after": VALID_LINE,
            "source": {**STOCK_SOURCE, "table": "purchase_order_lines"}}
    assert decode_change(orjson.dumps(line)) is not None
    assert decode_change(orjson.dumps({**line, "after": {**VALID_LINE, "unit_cost": 12.5}}))
    with pytest.raises(BadEvent, match="bad purchase_order_lines row: qty"):
        decode_change(orjson.dumps({**line, "after": {**VALID_LINE, "qty": "4"}}))
