"""The sales join: versions as of each line's commit, waiting for unknown dimensions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from processors.analytics.counters import expired
from processors.analytics.dimensions import MAX_VERSIONS, Version, add_version, as_of
from processors.analytics.orders import (
    apply_line,
    apply_order,
    idle_before,
    new_state,
    settled,
    touch,
)
from processors.analytics.sales import MissingDimension, enrich_line
from processors.analytics.sales_view import contribution

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def version(lsn: int, **attrs: object) -> Version:
    return {"lsn": lsn, "ts_ms": lsn, "attrs": attrs}


def catalogue() -> dict[str, list[Version]]:
    """Snapshot versions (LSN 0) of one product, its brand and category, a customer, a branch."""
    return {
        "product:7": [version(0, sku="MIC-205-16", model="Primacy 4", tire_size="205/55R16",
                              brand_id=1, category_id=1, supplier_id=1, cost="1500.00",
                              list_price="2400.00", abc_class="A", active=True)],
        "brand:1": [version(0, name="Michelin", tier="premium")],
        "category:1": [version(0, name="Auto")],
        "customer:9": [version(0, name="Taller Garza", tier="taller", city="Monterrey",
                               state="Nuevo León", home_warehouse_id=1)],
        "warehouse:1": [version(0, code="MTY", name="Sucursal Monterrey Centro",
                                city="Monterrey", state="Nuevo León", is_branch=True)],
    }


def lookup_in(dims: dict[str, list[Version]]):  # type: ignore[no-untyped-def]
    return lambda key, lsn: as_of(dims.get(key), lsn)


def order_row(order_id: int = 1, status: str = "confirmado") -> dict[str, object]:
    return {"id": order_id, "customer_id": 9, "warehouse_id": 1, "status": status,
            "channel": "mostrador", "created_at": "2026-11-25T17:30:00Z"}


def line_row(line_id: int, price: str = "2400.00", qty: int = 4) -> dict[str, object]:
    return {"id": line_id, "order_id": 1, "product_id": 7, "qty": qty, "unit_price": price,
            "unit_cost": "1500.00"}


def test_price_change_and_city_move_mid_stream() -> None:
    dims = catalogue()
    lookup = lookup_in(dims)
    state = new_state()
    apply_order(state, "c", order_row())
    emitted = {}

    def sell(line_id: int, lsn: int, price: str) -> None:
        for lid in apply_line(state, "c", line_row(line_id, price), lsn):
            emitted[lid] = enrich_line(state["order"], state["lines"][lid], lookup, NOW)

    sell(101, lsn=100, price="2400.00")
    dims["product:7"] = add_version(dims["product:7"], version(
        200, **{**dims["product:7"][0]["attrs"], "list_price": "2640.00"}))
    sell(102, lsn=250, price="2640.00")
    dims["customer:9"] = add_version(dims["customer:9"], version(
        300, **{**dims["customer:9"][0]["attrs"], "city": "Guadalajara", "state": "Jalisco"}))
    sell(103, lsn=350, price="2640.00")

    first, second, third = emitted["101"], emitted["102"], emitted["103"]
    assert (first.list_price, first.customer_city) == (Decimal("2400.00"), "Monterrey")
    assert (second.list_price, second.customer_city) == (Decimal("2640.00"), "Monterrey")
    assert (third.list_price, third.customer_city) == (Decimal("2640.00"), "Guadalajara")
    assert third.dimension_lsns == {"product:7": 200, "brand:1": 0, "category:1": 0,
                                    "customer:9": 300, "warehouse:1": 0}
    # revenue, cost and margin come from the line, never from the product's later price
    assert first.revenue == Decimal("9600.00") and first.margin == Decimal("3600.00")
    assert first.margin_pct == pytest.approx(0.375)
    assert first.discount_pct == pytest.approx(0.0)
    assert first.local_date.isoformat() == "2026-11-25" and first.local_hour == 11

    # the order is cancelled afterwards: every line is emitted again, still as of its commit
    again = apply_order(state, "u", order_row(status="cancelado"))
    assert sorted(again) == ["101", "102", "103"]
    redo = enrich_line(state["order"], state["lines"]["101"], lookup, NOW)
    assert (redo.list_price, redo.customer_city) == (Decimal("2400.00"), "Monterrey")
    assert not redo.counts_as_sale and contribution(redo) is None
    assert contribution(first) == {"day": "2026-11-25", "hour": 11,
                                   "branch": "Sucursal Monterrey Centro", "revenue": 9600.0,
                                   "margin": 3600.0}


def test_a_newer_version_processed_first_does_not_leak_into_an_older_line() -> None:
    dims = catalogue()
    dims["customer:9"] = add_version(dims["customer:9"], version(
        500, **{**dims["customer:9"][0]["attrs"], "city": "Guadalajara"}))
    state = new_state()
    apply_order(state, "c", order_row())
    apply_line(state, "c", line_row(101), 400)  # committed before the move, processed after
    line = enrich_line(state["order"], state["lines"]["101"], lookup_in(dims), NOW)
    assert line.customer_city == "Monterrey" and line.dimension_lsns["customer:9"] == 0


def test_an_unknown_dimension_names_what_the_line_waits_for() -> None:
    dims = catalogue()
    del dims["brand:1"]
    state = new_state()
    apply_order(state, "c", order_row())
    apply_line(state, "c", line_row(101), 100)
    with pytest.raises(MissingDimension) as missing:
        enrich_line(state["order"], state["lines"]["101"], lookup_in(dims), NOW)
    assert missing.value.key == "brand:1"
    # the brand arrives (as a carried history on the retry): the line joins
    dims["brand:1"] = [version(120, name="Michelin", tier="premium")]
    line = enrich_line(state["order"], state["lines"]["101"], lookup_in(dims), NOW)
    assert line.brand_name == "Michelin"


def test_lines_wait_for_their_order_and_duplicates_change_nothing() -> None:
    state = new_state()
    assert apply_line(state, "c", line_row(101), 100) == ["101"]  # no header yet
    assert state["order"] is None
    assert apply_order(state, "c", order_row()) == ["101"]  # now it can be emitted
    assert apply_order(state, "c", order_row()) == []  # redelivered
    assert apply_line(state, "c", line_row(101), 100) == []  # redelivered
    assert apply_line(state, "u", line_row(101, qty=2), 150) == ["101"]
    assert state["lines"]["101"]["qty"] == 2 and state["lines"]["101"]["lsn"] == 150
    assert apply_line(state, "d", line_row(101, qty=2), 160) == ["101"]
    assert state["lines"]["101"]["deleted"] and state["lines"]["101"]["lsn"] == 150
    assert not settled(state)
    apply_order(state, "d", order_row())
    assert settled(state)


def test_idle_orders_and_old_counters_leave() -> None:
    state = new_state()
    apply_order(state, "c", order_row())
    touch(state, 5_000)
    apply_line(state, "c", line_row(101), 100)
    touch(state, 3_000)  # redelivered older change: the newest commit time stays
    assert state["seen"] == 5_000
    assert idle_before(state, 5_001) and not idle_before(state, 5_000)
    assert not idle_before({"order": None, "lines": {}}, 5_001)  # stored before `seen`
    assert not idle_before(None, 5_001)
    first_kept = date(2026, 12, 30) - timedelta(days=35)
    assert expired("sales|2026-11-24|p0", first_kept)
    assert not expired("sales|2026-11-25|p0", first_kept)
    assert expired("errors|2026-11-24T23|p1", first_kept)
    assert not expired("alerts_open|-|p1", first_kept)  # levels never expire


def test_as_of_keeps_few_versions_and_treats_deletes_as_unknown() -> None:
    history: list[Version] = []
    for lsn in range(0, 100, 10):
        history = add_version(history, version(lsn, name=f"v{lsn}"))
    assert len(history) == MAX_VERSIONS and history[0]["lsn"] == 20
    assert as_of(history, 5)["attrs"]["name"] == "v20"  # pruned: the oldest known stands in
    assert as_of(history, 55)["attrs"]["name"] == "v50"
    assert add_version(history, version(50, name="again"))[3]["attrs"]["name"] == "again"
    deleted = add_version(history, {"lsn": 100, "ts_ms": 100, "attrs": None})
    assert as_of(deleted, 200) is None and as_of(deleted, 95)["attrs"]["name"] == "v90"
    assert as_of(None, 1) is None
