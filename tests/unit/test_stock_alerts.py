"""Alert classification and the alert state machine.

Case: d̄ = 10/day, σd = 3, L = 4, class B → SS 10, ROP 50, S 159; continuous review, so
`medio` below ROP + 7 days of demand (120), `critico` below d̄·L (40), hysteresis 10 units.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.inventory.alerts import AlertState, classify, decide, snooze
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PriceBreak,
    SupplyTerms,
    evaluate_policy,
)
from processors.inventory.position import InventoryState, decision_basis, undecided
from schemas.alerts import AlertLevel, StockAlert
from schemas.events import InventoryPosition

CONFIG = InventoryConfig()
DEMAND = DemandStats(mean=10.0, std=3.0, observed_days=90, days_since_last_sale=0)
TERMS = SupplyTerms(supplier_id=7, unit_cost=1000.0, lead_time_days=4.0, pack_multiple=4,
                    min_order_qty=8)
T0 = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)


def pos(on_hand: int, on_order: int = 0, reserved: int = 0) -> InventoryPosition:
    return InventoryPosition(product_id=101, warehouse_id=2, on_hand=on_hand, reserved=reserved,
                             on_order=on_order)


def level_of(position: InventoryPosition, demand: DemandStats = DEMAND,
             terms: SupplyTerms = TERMS) -> AlertLevel | None:
    return classify(position, evaluate_policy(demand, terms, "B", position, CONFIG), CONFIG)


def run(steps: list[tuple[InventoryPosition, datetime]], state: AlertState | None = None,
        terms: SupplyTerms = TERMS) -> tuple[AlertState | None, list[StockAlert]]:
    events = []
    for position, now in steps:
        result = evaluate_policy(DEMAND, terms, "B", position, CONFIG)
        state, event = decide(state, position, result, now, CONFIG)
        if event is not None:
            events.append(event)
    return state, events


def test_classification_levels() -> None:
    assert level_of(pos(0, on_order=100)) is AlertLevel.CRITICO  # nothing available now
    assert level_of(pos(39)) is AlertLevel.CRITICO  # 39 < 10 × 4
    assert level_of(pos(40)) is AlertLevel.ALTO
    assert level_of(pos(30, on_order=20)) is AlertLevel.ALTO  # position 50 = ROP
    assert level_of(pos(120)) is AlertLevel.MEDIO  # 120 − 70 = 50
    assert level_of(pos(121)) is None
    assert level_of(pos(1900)) is AlertLevel.SOBRESTOCK  # 190 days > 6 months
    silent = DemandStats(0.0, 0.0, 90, 90)
    assert level_of(pos(5), silent) is AlertLevel.SIN_MOVIMIENTO
    assert level_of(pos(0), silent) is None
    assert level_of(pos(5), DemandStats(0.0, 0.0, 30, 30)) is None  # too little history


def test_opportunity_when_a_break_is_worth_taking_before_the_reorder_point() -> None:
    terms = SupplyTerms(7, 1000.0, 4.0, price_breaks=(PriceBreak(200, 960.0),))
    assert level_of(pos(200), terms=terms) is AlertLevel.OPORTUNIDAD  # ROP in 15 days
    assert level_of(pos(400), terms=terms) is None  # ROP 35 days away: too early
    _, events = run([(pos(200), T0)], terms=terms)
    assert events[0].proposed_qty == 200 and events[0].break_min_qty == 200
    assert str(events[0].unit_cost) == "960.00" and "960.00" in events[0].reason


def test_drop_below_reorder_point_gives_exactly_one_alert() -> None:
    steps = [(pos(q), T0 + timedelta(minutes=i)) for i, q in enumerate([200, 150, 50, 48, 44])]
    state, events = run(steps)
    assert len(events) == 1
    alert = events[0]
    assert alert.level is AlertLevel.ALTO and alert.previous_level is None
    assert alert.alert_id == alert.event_id == "stk-101-2-1-alto"
    assert (alert.available, alert.position, alert.reorder_point, alert.safety_stock) == (
        50, 50, 50, 10)
    assert alert.days_of_cover == 5.0 and alert.proposed_qty == 112  # 159 − 50 → pack of 4
    assert "punto de reorden 50" in alert.reason and "Pedir 112 pzas" in alert.recommendation
    assert state is not None and state.level is AlertLevel.ALTO


def test_level_changes_emit_and_same_level_does_not() -> None:
    steps = [(pos(q), T0 + timedelta(minutes=i))
             for i, q in enumerate([200, 115, 110, 50, 45, 38, 35])]
    _, events = run(steps)
    assert [(e.level, e.previous_level) for e in events] == [
        (AlertLevel.MEDIO, None), (AlertLevel.ALTO, AlertLevel.MEDIO),
        (AlertLevel.CRITICO, AlertLevel.ALTO)]


def test_receipt_resolves_the_alert() -> None:
    state, events = run([(pos(50), T0), (pos(46), T0 + timedelta(hours=1)),
                         (pos(46, on_order=112), T0 + timedelta(hours=2))])
    assert len(events) == 2
    opened, resolved = events
    assert resolved.resolved and resolved.alert_id == opened.alert_id
    assert resolved.event_id == f"{opened.alert_id}-resuelta"
    assert resolved.level is AlertLevel.ALTO and resolved.proposed_qty == 0
    assert resolved.recommendation == "Sin acción pendiente."
    assert state == AlertState(101, 2, version=2)
    # and the next drop is a new alert with a new id
    _, again = run([(pos(50), T0 + timedelta(days=3))], state)
    assert again[0].alert_id == "stk-101-2-3-alto"


def test_hysteresis_keeps_a_returned_tire_from_flapping() -> None:
    _, events = run([(pos(50), T0), (pos(51), T0 + timedelta(minutes=1)),
                     (pos(50), T0 + timedelta(minutes=2)), (pos(70), T0 + timedelta(minutes=3))])
    assert [e.level for e in events] == [AlertLevel.ALTO, AlertLevel.MEDIO]


def test_snooze_silences_same_level_and_reminds_once_after() -> None:
    state, events = run([(pos(50), T0)])
    assert state is not None
    state = snooze(state, T0 + timedelta(hours=24))
    state, quiet = run([(pos(46), T0 + timedelta(hours=2)),
                        (pos(44), T0 + timedelta(hours=23))], state)
    assert quiet == []
    state, later = run([(pos(44), T0 + timedelta(hours=25)),
                        (pos(42), T0 + timedelta(hours=26))], state)
    assert len(later) == 1
    reminder = later[0]
    assert reminder.reminder and reminder.alert_id == events[0].alert_id
    assert reminder.event_id == f"{events[0].alert_id}-r2"
    assert state is not None and state.snoozed_until is None


def test_snooze_is_broken_when_the_level_worsens() -> None:
    state, _ = run([(pos(50), T0)])
    assert state is not None
    state, events = run([(pos(38), T0 + timedelta(hours=1))],
                        snooze(state, T0 + timedelta(days=2)))
    assert [e.level for e in events] == [AlertLevel.CRITICO]
    assert state is not None and state.snoozed_until is None


def test_easing_while_snoozed_is_silent_then_announced_when_the_snooze_ends() -> None:
    state, _ = run([(pos(50), T0)])
    assert state is not None
    state, quiet = run([(pos(90), T0 + timedelta(hours=1))], snooze(state, T0 + timedelta(hours=8)))
    assert quiet == [] and state is not None and state.level is AlertLevel.MEDIO
    state, after = run([(pos(90), T0 + timedelta(hours=9))], state)
    assert len(after) == 1 and not after[0].reminder
    assert after[0].level is AlertLevel.MEDIO and after[0].previous_level is AlertLevel.ALTO
    assert after[0].event_id == after[0].alert_id == "stk-101-2-2-medio"


def test_resolution_while_snoozed_closes_what_the_buyer_saw() -> None:
    state, opened = run([(pos(50), T0)])
    assert state is not None
    state = snooze(state, T0 + timedelta(days=1))
    _, events = run([(pos(90), T0 + timedelta(hours=1)), (pos(300), T0 + timedelta(hours=2))],
                    state)
    assert len(events) == 1 and events[0].resolved
    assert events[0].alert_id == opened[0].alert_id and events[0].level is AlertLevel.ALTO


def test_snooze_without_alert_is_a_no_op() -> None:
    idle = AlertState(1, 1)
    assert snooze(idle, T0) is idle


def test_deterministic_replay() -> None:
    quantities = [300, 200, 120, 110, 60, 50, 47, 39, 30, 0, 0, 160, 150, 140, 60, 45, 400]
    steps = [(pos(q, on_order=12 if i % 5 == 0 else 0), T0 + timedelta(hours=3 * i))
             for i, q in enumerate(quantities)]
    first_state, first = run(steps)
    second_state, second = run(steps)
    assert len(first) >= 5
    assert [e.model_dump() for e in first] == [e.model_dump() for e in second]
    assert first_state == second_state
    assert len({e.event_id for e in first}) == len(first)


def test_state_round_trips_through_a_table_value() -> None:
    state, _ = run([(pos(50), T0)])
    assert state is not None
    state = snooze(state, T0 + timedelta(hours=4))
    assert AlertState.from_dict(state.to_dict()) == state
    assert AlertState.from_dict(AlertState(1, 2).to_dict()) == AlertState(1, 2)


def test_sin_movimiento_and_sobrestock_propose_no_purchase() -> None:
    stale = DemandStats(0.0, 0.0, 90, 90)
    result = evaluate_policy(stale, TERMS, "C", pos(12), CONFIG)
    _, event = decide(None, pos(12), result, T0, CONFIG)
    assert event is not None and event.level is AlertLevel.SIN_MOVIMIENTO
    assert event.proposed_qty == 0 and "Sin ventas en 90 días" in event.reason
    assert "$12,000.00" in event.reason
    result = evaluate_policy(DEMAND, TERMS, "B", pos(2000), CONFIG)
    _, event = decide(None, pos(2000), result, T0, CONFIG)
    assert event is not None and event.level is AlertLevel.SOBRESTOCK
    assert event.proposed_qty == 0 and str(event.total_cost) == "0.00"
    assert "200 días" in event.reason and "~1,841 pzas" in event.recommendation


def test_alert_contract_round_trips_as_json() -> None:
    _, events = run([(pos(50), T0)])
    alert = events[0]
    assert StockAlert.model_validate_json(alert.model_dump_json()) == alert
    fields = set(StockAlert.model_json_schema()["properties"])
    assert {"alert_id", "product_id", "warehouse_id", "level", "previous_level", "reason",
            "recommendation", "available", "on_order", "reorder_point", "safety_stock",
            "days_of_cover", "proposed_qty", "supplier_id", "unit_cost", "total_cost",
            "resolved", "at"} <= fields
    assert alert.model_dump(mode="json")["unit_cost"] == "1000.00"  # decimals as strings


def test_an_unchanged_position_is_decided_when_the_alert_state_missed_it() -> None:
    """A worker that died between the `inventory` and `stock_alerts` changelog writes re-reads
    the stock record and finds its position unchanged: decided again unless the alert state was
    decided from exactly this position."""
    position = InventoryState(7, 1, on_hand=30, reserved=2, stock_lsn=900,
                              on_order_lines={"po": 5}).position()
    basis = decision_basis(position)
    assert basis == [30, 2, 5, 0, 900]
    assert undecided(position, changed=True, decided_on=basis)
    assert undecided(position, changed=False, decided_on=[500, 0, 0, 0, 800])  # the replay
    assert undecided(position, changed=False, decided_on=[30, 2, 5, 0, 700])  # 30 again, later
    assert undecided(position, changed=False, decided_on=None)  # never decided
    assert not undecided(position, changed=False, decided_on=basis)  # a duplicate record
