"""Daily demand from sales order changes: absolute per-line contributions, local dates,
idempotence under redelivery, cancellations, moves, retention."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import pytest

from processors.inventory.demand import (
    DailyDemand,
    DemandHistory,
    LineDemand,
    SalesOrderState,
    apply_line_demand,
    apply_sales_change,
    days_from_value,
    days_to_value,
    demand_stats,
    forecast_stats,
    local_day,
    sweepable,
)
from processors.inventory.policy import trailing_demand_stats

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 21:00 on the 24th in Mexico City
T0_MS = int(T0.timestamp() * 1000)


def header(status: str = "confirmado", warehouse_id: int = 1,
           created_at: str = "2026-11-25T03:00:00Z") -> dict:
    return {"id": 77, "customer_id": 5, "warehouse_id": warehouse_id, "status": status,
            "created_at": created_at}


def line(line_id: int = 900, product_id: int = 12, qty: int = 4) -> dict:
    return {"id": line_id, "order_id": 77, "product_id": product_id, "qty": qty,
            "unit_price": "1500.00", "unit_cost": "1000.00"}


def apply(state: SalesOrderState, table: str, op: str, row: dict) -> list[tuple]:
    out = apply_sales_change(state, table, op, row, at_ms=T0_MS)
    return [(d.line_id, d.product_id, d.warehouse_id, d.day, d.qty) for d in out]


def test_local_day_is_mexico_city() -> None:
    assert local_day("2026-11-25T03:00:00Z") == date(2026, 11, 24)
    assert local_day("2026-11-25T06:00:00+00:00") == date(2026, 11, 25)
    assert local_day(datetime(2026, 11, 25, 5, 59)) == date(2026, 11, 24)  # naive = UTC


def test_line_contributes_once_its_header_is_known() -> None:
    state = SalesOrderState()
    assert apply(state, "sales_order_lines", "c", line()) == []
    assert apply(state, "sales_orders", "c", header()) == [
        (900, 12, 1, date(2026, 11, 24), 4)]
    assert apply(state, "sales_order_lines", "c", line(901, 13, 2)) == [
        (901, 13, 1, date(2026, 11, 24), 2)]


@pytest.mark.parametrize("status", ["cancelado", "devuelto", "cotizacion"])
def test_orders_that_are_not_demand_contribute_zero(status: str) -> None:
    state = SalesOrderState()
    apply(state, "sales_orders", "c", header())
    apply(state, "sales_order_lines", "c", line())
    assert apply(state, "sales_orders", "u", header(status)) == [
        (900, 12, 1, date(2026, 11, 24), 0)]


def test_moved_line_and_warehouse_take_the_old_contribution_back() -> None:
    state = SalesOrderState()
    apply(state, "sales_orders", "c", header())
    apply(state, "sales_order_lines", "c", line())
    assert apply(state, "sales_order_lines", "u", line(product_id=14)) == [
        (900, 14, 1, date(2026, 11, 24), 4), (900, 12, 1, date(2026, 11, 24), 0)]
    assert apply(state, "sales_orders", "u", header(warehouse_id=2)) == [
        (900, 14, 2, date(2026, 11, 24), 4), (900, 14, 1, date(2026, 11, 24), 0)]


def test_deletes_contribute_zero() -> None:
    state = SalesOrderState()
    apply(state, "sales_orders", "c", header())
    apply(state, "sales_order_lines", "c", line())
    apply(state, "sales_order_lines", "c", line(901, 13, 2))
    assert apply(state, "sales_order_lines", "d", line()) == [
        (900, 12, 1, date(2026, 11, 24), 0)]
    assert apply(state, "sales_orders", "d", header()) == [(901, 13, 1, date(2026, 11, 24), 0)]


def test_orders_older_than_the_retention_expire() -> None:
    state = SalesOrderState()
    apply(state, "sales_order_lines", "r", line())
    assert apply(state, "sales_orders", "r", header(created_at="2026-06-01T18:00:00Z")) == []
    assert state.expired and state.lines == {}
    assert apply(state, "sales_order_lines", "r", line(901)) == []
    assert SalesOrderState.from_dict(state.to_dict()).expired


def test_order_state_round_trips() -> None:
    state = SalesOrderState()
    apply(state, "sales_orders", "c", header())
    apply(state, "sales_order_lines", "c", line())
    again = SalesOrderState.from_dict(state.to_dict())
    assert again == state
    assert SalesOrderState.from_dict(None) == SalesOrderState()


def test_the_daily_sweep_drops_what_left_the_retention_window() -> None:
    today = local_day(T0)
    recent = SalesOrderState()
    apply(recent, "sales_orders", "c", header())
    apply(recent, "sales_order_lines", "c", line())
    assert recent.seen_ms == T0_MS and not sweepable(recent, today)
    assert sweepable(recent, today + timedelta(days=121))  # created before the window
    headerless = SalesOrderState()
    apply(headerless, "sales_order_lines", "u", line())  # its header never came
    assert not sweepable(headerless, today + timedelta(days=120))
    assert sweepable(SalesOrderState.from_dict(headerless.to_dict()),
                     today + timedelta(days=121))
    assert sweepable(SalesOrderState(expired=True), today)  # a mark only
    swept = SalesOrderState()  # a late header change after the sweep: expired again
    assert apply_sales_change(swept, "sales_orders", "u", header(created_at="2026-06-01T18:00Z"),
                              at_ms=T0_MS) == [] and swept.expired


def test_wrong_table_is_rejected() -> None:
    with pytest.raises(ValueError):
        apply_sales_change(SalesOrderState(), "stock", "c", {}, at_ms=T0_MS)


def contribution(line_id: int, day: date, qty: int, at: datetime = T0) -> LineDemand:
    return LineDemand(line_id=line_id, order_id=1, product_id=12, warehouse_id=1, day=day,
                      qty=qty, at_ms=int(at.timestamp() * 1000))


def test_history_overwrites_per_line_so_redelivery_changes_nothing() -> None:
    history = DemandHistory(12, 1)
    day = date(2026, 11, 24)
    assert apply_line_demand(history, contribution(1, day, 4))
    assert apply_line_demand(history, contribution(2, day, 2))
    assert not apply_line_demand(history, contribution(1, day, 4))  # redelivered
    assert history.daily_totals() == {day: 6}
    assert apply_line_demand(history, contribution(1, day, 0))  # cancelled
    assert history.daily_totals() == {day: 2}
    assert not apply_line_demand(history, contribution(1, day, 0))
    assert DemandHistory.from_dict(history.to_dict()) == history


def test_history_keeps_the_retention_window() -> None:
    history = DemandHistory(12, 1)
    old = date(2026, 7, 1)
    apply_line_demand(history, contribution(1, old, 3, at=datetime(2026, 7, 2, tzinfo=UTC)))
    assert history.daily_totals() == {old: 3}
    assert apply_line_demand(history, contribution(2, date(2026, 11, 24), 1))  # ~145 days on
    assert history.daily_totals() == {date(2026, 11, 24): 1}
    assert not apply_line_demand(history, contribution(3, old, 5))  # too old to keep


def test_history_rejects_another_key() -> None:
    with pytest.raises(ValueError):
        apply_line_demand(DemandHistory(13, 1), contribution(1, date(2026, 11, 24), 1))


def test_daily_demand_round_trips_as_json() -> None:
    history = DemandHistory(12, 1)
    apply_line_demand(history, contribution(1, date(2026, 11, 20), 4))
    daily = history.daily(snapshot=True)
    again = DailyDemand.model_validate_json(daily.model_dump_json())
    assert again == daily and again.days == {date(2026, 11, 20): 4} and again.snapshot


def test_series_and_stats_fill_days_without_sales() -> None:
    today = date(2026, 11, 24)
    days = {(today - timedelta(days=ago)).toordinal(): qty
            for ago, qty in ((0, 4), (2, 2), (200, 50))}
    assert daily_series(days, today, 4) == [0, 2, 0, 4]
    assert demand_stats(days, today, window=4) == trailing_demand_stats([0, 2, 0, 4], 4)
    stats = demand_stats(days, today)
    assert stats.observed_days == 90
    assert stats.mean == pytest.approx(6 / 90)
    assert stats.days_since_last_sale == 0
    assert demand_stats(days, today + timedelta(days=5)).days_since_last_sale == 5
    assert demand_stats({}, today).days_since_last_sale == 90


def daily_series(days: Mapping[int, int], end: date, length: int) -> list[int]:
    """The reference: one value per calendar day of the `length` days ending on `end`."""
    first = end.toordinal() - length + 1
    return [days.get(first + i, 0) for i in range(length)]


def test_stats_from_sales_days_equal_the_daily_series_statistics() -> None:
    rng = random.Random(7)
    today = date(2026, 11, 24)
    for _ in range(2_000):
        window = rng.choice((1, 2, 7, 90))
        days = {(today - timedelta(days=rng.randrange(-3, 130))).toordinal():
                rng.choice((-2, 0, 1, 1, 2, 4, 40, 10**6)) for _ in range(rng.randrange(0, 40))}
        assert demand_stats(days, today, window) == trailing_demand_stats(
            daily_series(days, today, window), window)
    with pytest.raises(ValueError):
        demand_stats({}, today, window=0)


def test_days_round_trip_as_a_json_table_value_and_the_older_object_is_read() -> None:
    days = {739_579: 4, 739_581: 1}
    assert days_from_value(json.loads(json.dumps(days_to_value(days)))) == days
    assert days_from_value(days_to_value(days)) == days  # the in-memory value, before a changelog
    assert days_from_value({"739579": 4, "739581": 1}) == days


def test_forecast_stats_cover_the_lead_time_from_today() -> None:
    today = date(2026, 11, 24)
    dates = [today - timedelta(days=1) + timedelta(days=i) for i in range(6)]
    mean = [50.0, 2.0, 4.0, 6.0, 8.0, 10.0]  # yesterday's 50 is history, not forecast
    sigma = [9.0, 1.0, 1.0, 1.0, 3.0, 3.0]
    daily, std = forecast_stats(dates, mean, sigma, today, lead_time_days=3.5)
    assert daily == pytest.approx(5.0)  # 2, 4, 6, 8: ⌈3.5⌉ = 4 days
    assert std == pytest.approx(((1 + 1 + 1 + 9) / 4) ** 0.5)
    assert forecast_stats(dates, mean, sigma, today, lead_time_days=0) == (2.0, 1.0)
    assert forecast_stats(dates, [-1.0] * 6, sigma, today, 1)[0] == 0.0  # never negative
    assert forecast_stats(dates, mean, sigma, today + timedelta(days=10), 3) is None  # stale
