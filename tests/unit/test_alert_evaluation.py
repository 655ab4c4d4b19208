"""The stock flow's decision per key (processors/inventory/evaluation.py), without a worker.

Demand is 10 every day for 90 days (no deviation), L = 4: critical below d̄·L = 40. The product
is class B in the ERP and its demand smooth: segment B/smooth, service level of "B/regular".
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

import pytest

from processors.forecasting.classify import SeriesClass
from processors.inventory.evaluation import (
    ALERT_CONFIG,
    AlertInputs,
    Valuation,
    decided_on,
    evaluate,
    new_snapshot,
    open_alert,
    pair_margins,
    pending_of,
    plan_sweep,
    replayed_alert,
    take_control,
    take_demand,
    take_forecast,
    take_position,
)
from processors.inventory.policy import InventoryConfig, SupplyTerms
from processors.inventory.triage import (
    DEFAULT_SEGMENT_SERVICE_LEVELS,
    TriageConfig,
    margin_cutoffs,
    with_segment_levels,
)
from schemas.alerts import AlertControl, AlertLevel
from schemas.demand import DailyDemand
from schemas.erp import Product
from schemas.events import InventoryPosition
from schemas.forecasts import DemandForecast

CONFIG = ALERT_CONFIG
T0 = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
TODAY = date(2026, 5, 4)
PRODUCT = Product(id=101, sku="X", brand_id=1, category_id=1, supplier_id=7, model="m", width=205,
                  aspect_ratio=55, rim=16, tire_size="205/55R16", load_index=91, speed_index="V",
                  cost=Decimal(1000), list_price=Decimal(1500), weight_kg=Decimal(9),
                  abc_class="B")
TERMS = SupplyTerms(supplier_id=7, unit_cost=1000.0, lead_time_days=4.0, pack_multiple=4,
                    min_order_qty=8)
SUPPLY = (PRODUCT, TERMS)
CAUSE = ("erp.public.stock", 0, 41)


def position(on_hand: int, lsn: int = 100, at: datetime = T0) -> InventoryPosition:
    return InventoryPosition(product_id=101, warehouse_id=2, on_hand=on_hand, reserved=0,
                             on_order=0, updated_at=at, source_lsn=lsn)


def steady_demand(snapshot: bool = False) -> DailyDemand:
    days = {TODAY - timedelta(days=i): 10 for i in range(1, 91)}
    return DailyDemand(product_id=101, warehouse_id=2, days=days,
                       as_of_ms=int(T0.timestamp() * 1000), snapshot=snapshot)


def inputs_with_demand() -> AlertInputs:
    inputs = AlertInputs(101, 2, partition=3)
    take_demand(inputs, steady_demand(), now_ms=0)
    return inputs


def test_a_streamed_drop_alerts_once_and_survives_a_round_trip() -> None:
    inputs = inputs_with_demand()
    step = take_position(inputs, position(30), now_ms=5)
    assert step.evaluate and step.position is not None
    changed, alert = evaluate(inputs, step.position, SUPPLY, 0, CAUSE, CONFIG)
    assert changed and alert is not None and alert.level is AlertLevel.CRITICO
    assert alert.at == T0  # event time, not the record's or the worker's
    stored = inputs.to_dict()
    assert replayed_alert(stored, CAUSE) == alert
    assert replayed_alert(stored, ("erp.public.stock", 0, 42)) is None
    assert decided_on(stored) == [30, 0, 0, 0, 100]
    again = AlertInputs.from_dict(stored)
    assert again == inputs
    changed, repeat = evaluate(again, position(29, lsn=101), SUPPLY, 0, CAUSE, CONFIG)
    assert repeat is None and not changed


def test_snapshot_inputs_are_recorded_then_settled() -> None:
    inputs = AlertInputs(101, 2, partition=3)
    assert not take_demand(inputs, steady_demand(snapshot=True), now_ms=1_000).evaluate
    step = take_position(inputs, position(10, lsn=0), now_ms=2_000)
    assert not step.evaluate and step.changed and inputs.dirty
    assert (inputs.demand_touched_ms, inputs.position_touched_ms) == (1_000, 2_000)
    settle = AlertControl(kind="settle", at=T0)
    assert take_control(inputs, settle).evaluate
    changed, alert = evaluate(inputs, position(10, lsn=0), SUPPLY, 0, CAUSE, CONFIG)
    assert changed and alert is not None and alert.level is AlertLevel.CRITICO
    assert not inputs.dirty and not take_control(inputs, settle).evaluate


def test_missing_supply_rows_leave_the_key_dirty_without_an_alert() -> None:
    inputs = inputs_with_demand()
    assert evaluate(inputs, position(10), None, 0, CAUSE, CONFIG) == (True, None)
    assert inputs.dirty
    assert evaluate(inputs, position(10), None, 0, CAUSE, CONFIG) == (False, None)


def test_snooze_only_for_the_current_alert() -> None:
    inputs = inputs_with_demand()
    _, alert = evaluate(inputs, position(48), SUPPLY, 0, CAUSE, CONFIG)
    assert alert is not None
    until = T0 + timedelta(days=1)
    other = AlertControl(kind="snooze", at=T0, alert_id="stk-other", until=until)
    assert take_control(inputs, other).changed is False
    mine = AlertControl(kind="snooze", at=T0, alert_id=alert.alert_id, until=until)
    assert take_control(inputs, mine).changed
    assert inputs.state is not None and inputs.state.snoozed_until == until


def test_a_forecast_replaces_trailing_demand_over_the_lead_time() -> None:
    inputs = inputs_with_demand()
    dates = [TODAY + timedelta(days=i) for i in range(1, 15)]
    forecast = DemandForecast(product_id=101, warehouse_id=2, generated_at=T0, dates=dates,
                              mean=[40.0] * 14, p10=[30.0] * 14, p90=[50.0] * 14,
                              sigma=[5.0] * 14, model="x", series_class="smooth",
                              backtest_mase=None, history_days=700)
    assert take_forecast(inputs, forecast).evaluate
    _, alert = evaluate(inputs, position(150), SUPPLY, 0, CAUSE, CONFIG)
    assert alert is not None and alert.level is AlertLevel.CRITICO  # 150 < 40 × 4


def test_sweep_settles_only_quiet_keys_and_ends_snoozes() -> None:
    now = T0
    now_ms = int(now.timestamp() * 1000)
    dirty = AlertInputs(101, 2, partition=3, dirty=True, demand_touched_ms=now_ms - 20_000)
    snoozed = inputs_with_demand()
    evaluate(snoozed, position(48), SUPPLY, 0, CAUSE, CONFIG)
    assert snoozed.state is not None and snoozed.state.alert_id is not None
    take_control(snoozed, AlertControl(kind="snooze", at=T0, alert_id=snoozed.state.alert_id,
                                       until=now - timedelta(seconds=1)))
    rows = [pending_of(dirty.to_dict()), pending_of(snoozed.to_dict())]
    sweep = plan_sweep(rows, now, settle_s=15, settle_without_demand_s=60)
    assert sweep.settle == [(101, 2, 3)] and sweep.ended == [(101, 2, 3)]
    assert plan_sweep(rows, now, settle_s=30, settle_without_demand_s=60).settle == []


def test_a_resnapshot_settles_after_its_last_position_and_shows_the_open_alert_again() -> None:
    """`cdc resnapshot` under a running worker: its rows (a newer record time than the last
    snapshot's) are recorded, not evaluated; a row read again after a crash is not new; the keys
    settle `settle_s` after the newest position, even with old demand; the settle evaluation that
    decides nothing new gives back the open alert the buyer was told about (the go-live
    summary's), and nothing for a key without one."""
    inputs = inputs_with_demand()
    _, alert = evaluate(inputs, position(10), SUPPLY, 0, CAUSE, CONFIG)
    assert alert is not None and alert.level is AlertLevel.CRITICO
    stored = inputs.to_dict()
    assert new_snapshot(stored, 5_000) and new_snapshot(None, 1)
    step = take_position(inputs, position(10), now_ms=7_000, snapshot_ms=5_000)
    assert not step.evaluate and step.changed and inputs.dirty
    assert not new_snapshot(inputs.to_dict(), 5_000) and new_snapshot(inputs.to_dict(), 5_001)
    now = T0
    now_ms = int(now.timestamp() * 1000)
    inputs.demand_touched_ms, inputs.position_touched_ms = now_ms - 3_600_000, now_ms - 5_000
    rows = [pending_of(inputs.to_dict())]
    assert plan_sweep(rows, now, settle_s=15, settle_without_demand_s=60).settle == []
    inputs.position_touched_ms = now_ms - 16_000
    rows = [pending_of(inputs.to_dict())]
    assert plan_sweep(rows, now, settle_s=15, settle_without_demand_s=60).settle == [(101, 2, 3)]
    step = take_control(inputs, AlertControl(kind="settle", at=now))
    assert step.evaluate and step.initial
    assert evaluate(inputs, position(10), SUPPLY, 0, ("stock", 0, 9), CONFIG)[1] is None
    again = open_alert(inputs)
    assert again is not None and again.event_id == alert.event_id
    assert open_alert(inputs_with_demand()) is None
    evaluate(inputs, position(500), SUPPLY, 0, ("stock", 0, 10), CONFIG)  # resolved
    assert open_alert(inputs) is None


def _segment_levels(**levels: float) -> tuple[InventoryConfig, Valuation]:
    triage = TriageConfig(service_levels={**DEFAULT_SEGMENT_SERVICE_LEVELS, **levels})
    return with_segment_levels(InventoryConfig(), triage), Valuation(triage)


@pytest.mark.parametrize(("history_days", "segment", "key"), [
    (90, "B/smooth", "B/regular"),
    (30, "B/short", "B/sporadic"),  # under `min_history_days` (35) of history: sporadic group
])
@pytest.mark.parametrize("level", [0.99, 0.80])
def test_the_reorder_point_takes_the_service_level_of_the_keys_segment(
        history_days: int, segment: str, key: str, level: float) -> None:
    """L = 12 ± 1 days (d̄·L ≥ 30: the normal approximation), σ = √(L·σd² + d̄²·σL²); the class
    B level (0.95) would give another ROP."""
    inputs = AlertInputs(101, 2, partition=3)
    days = {TODAY - timedelta(days=i): 10 for i in range(1, history_days + 1)}
    take_demand(inputs, DailyDemand(product_id=101, warehouse_id=2, days=days,
                                    as_of_ms=int(T0.timestamp() * 1000)), now_ms=0)
    terms = SupplyTerms(supplier_id=7, unit_cost=1000.0, lead_time_days=12.0,
                        lead_time_sd_days=1.0, pack_multiple=4, min_order_qty=8)
    config, valuation = _segment_levels(**{key: level})
    _, alert = evaluate(inputs, position(5), (PRODUCT, terms), 0, CAUSE, config, valuation)
    sold = min(history_days, 89)  # the 90-day window ends today, which sold nothing yet
    mean = 10 * sold / 90
    sd = math.sqrt((100 * sold - mean * mean * 90) / 89)
    sigma = math.sqrt(12 * sd * sd + mean * mean)
    expected = math.ceil(mean * 12 + NormalDist().inv_cdf(level) * sigma)
    assert alert is not None and alert.segment == segment
    assert alert.reorder_point == expected
    assert expected != math.ceil(mean * 12 + NormalDist().inv_cdf(0.95) * sigma)


def test_the_demand_pattern_is_classified_once_a_local_day() -> None:
    inputs = inputs_with_demand()
    changed, _ = evaluate(inputs, position(300), SUPPLY, 0, CAUSE, CONFIG)
    assert changed and inputs.pattern == [TODAY.toordinal(), SeriesClass.SMOOTH.value]
    inputs.pattern = [TODAY.toordinal(), SeriesClass.LUMPY.value]  # the day's class is kept
    changed, _ = evaluate(inputs, position(301, lsn=101), SUPPLY, 0, CAUSE, CONFIG)
    assert not changed and inputs.pattern[1] == SeriesClass.LUMPY.value
    tomorrow = T0 + timedelta(days=1)
    changed, _ = evaluate(inputs, position(302, lsn=102, at=tomorrow), SUPPLY, 0, CAUSE, CONFIG)
    assert changed and inputs.pattern == [TODAY.toordinal() + 1, SeriesClass.SMOOTH.value]
    assert AlertInputs.from_dict(inputs.to_dict()).pattern == inputs.pattern


def test_the_segment_is_abc_on_margin_across_pairs_not_the_erps_class() -> None:
    """PRODUCT is class B in the ERP; 890 units × 500 MXN of margin rank the pair."""
    inputs = inputs_with_demand()
    stored = inputs.to_dict()
    others = [{**stored, "product_id": 102}, {**stored, "product_id": 103}]
    margins = pair_margins([stored, *others], lambda pid: PRODUCT if pid != 103 else None, TODAY)
    assert margins == [890 * 500.0, 890 * 500.0]  # product 103 unknown: not ranked
    top = margin_cutoffs([890 * 500.0, 1000.0, 10.0], TriageConfig())
    bottom = margin_cutoffs([890 * 500.0 * 100, 890 * 500.0 * 50, 890 * 500.0], TriageConfig())
    for cutoffs, abc in ((top, "A"), (bottom, "C")):
        fresh = inputs_with_demand()
        _, alert = evaluate(fresh, position(5), SUPPLY, 0, CAUSE, CONFIG,
                            Valuation(TriageConfig(), cutoffs))
        assert alert is not None and alert.segment == f"{abc}/smooth"
    _, erp = evaluate(inputs_with_demand(), position(5), SUPPLY, 0, CAUSE, CONFIG, Valuation())
    assert erp is not None and erp.segment == "B/smooth"  # no cutoffs yet: the ERP's class
