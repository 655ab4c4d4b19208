"""The stock alert of one product × warehouse, from its recorded inputs (pure).

The stream glue (`streams/stock_alerts.py`) keeps one `AlertInputs` per stock key in the table
`stock_alerts` and, for each input record, calls one `take_*` function (which records the input
and says whether to evaluate), then `evaluate` with the key's position and supply terms. Every
time is passed in: `now_ms` is the worker's clock (only used to tell when snapshot inputs went
quiet), `record_ms` the input record's timestamp; the alert itself is stamped with event time.

Every decision is segmented (processors/inventory/triage.py): the pair's ABC class on margin
(`value_class`) × the Syntetos–Boylan class of the key's trailing daily demand (`pattern_of`,
classified once a local day and kept in the row). The reorder point takes the segment's service
level (`ALERT_CONFIG` answers segment keys), and an alert carries its segment and route (a
critical message, a digest line, or a line in the supplier's next proposal: `triaged`) for the
buyer's attention budget.

Stored rows use the field names of `AlertInputs`; code outside this module reads them only
through `AlertInputs.from_dict`, `pending_of`, `replayed_alert` and `decided_on`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from processors.forecasting.classify import SeriesClass
from processors.inventory.alerts import AlertState, decide, snooze
from processors.inventory.demand import (
    TRAILING_WINDOW_DAYS,
    days_from_value,
    days_to_value,
    demand_stats,
    forecast_stats,
    local_day,
)
from processors.inventory.policy import DemandStats, InventoryConfig, SupplyTerms, evaluate_policy
from processors.inventory.position import decision_basis
from processors.inventory.triage import (
    MarginCutoffs,
    Segment,
    TriageConfig,
    demand_pattern,
    route,
    with_segment_levels,
)
from schemas.alerts import AlertControl, StockAlert
from schemas.demand import DailyDemand
from schemas.erp import Product
from schemas.events import InventoryPosition
from schemas.forecasts import DemandForecast

Cause = tuple[str, int, int]
"""The input record (topic, partition, offset) that caused an alert."""
KeyAt = tuple[int, int, int]
"""product id, warehouse id, partition."""


@dataclass
class AlertInputs:
    """What the alert of one product×warehouse is decided from besides its position, and its
    AlertState.

    `clock_ms` is event time (the newest input's time); `dirty` marks inputs recorded but not
    evaluated yet (snapshot inputs, or dimension rows still missing); `demand_touched_ms` and
    `position_touched_ms` are the worker's time of the last snapshot input of each kind;
    `partition` is the key's partition (for the timers). `days` is daily demand by day ordinal;
    `forecast` the latest forecast's days (ordinals), means and deviations; `sent` the newest
    alert published and the record that caused it; `decided_on` the `decision_basis` of the
    position the stored state was decided from (see `position.undecided`).
    """

    product_id: int
    warehouse_id: int
    partition: int
    days: dict[int, int] = field(default_factory=dict)
    clock_ms: int = 0
    dirty: bool = False
    demand_touched_ms: int = 0
    position_touched_ms: int = 0
    forecast: dict[str, list[float]] | None = None
    state: AlertState | None = None
    sent: dict[str, Any] | None = None
    decided_on: list[int] | None = None
    pattern: list[Any] | None = None
    """[local day ordinal, SeriesClass value]: the demand pattern classified that day (a cache:
    the Syntetos–Boylan class reads the days before the local day, so it holds for the day)."""
    snapshot_ms: int = 0
    """The record time of the newest CDC snapshot row of the key's stock: a later one is a new
    snapshot (`cdc resnapshot`), the same one a record read again after a crash."""
    order_up_to: int | None = field(default=None, compare=False)  # last decision's; not stored

    def to_dict(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "warehouse_id": self.warehouse_id,
                "partition": self.partition, "days": days_to_value(self.days),
                "clock_ms": self.clock_ms, "dirty": self.dirty,
                "demand_touched_ms": self.demand_touched_ms,
                "position_touched_ms": self.position_touched_ms, "forecast": self.forecast,
                "state": self.state.to_dict() if self.state else None, "sent": self.sent,
                "decided_on": self.decided_on, "pattern": self.pattern,
                "snapshot_ms": self.snapshot_ms}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AlertInputs:
        state = d["state"]
        return cls(d["product_id"], d["warehouse_id"], d["partition"], days_from_value(d["days"]),
                   d["clock_ms"], d["dirty"], d["demand_touched_ms"], d["position_touched_ms"],
                   d["forecast"], AlertState.from_dict(state) if state else None, d["sent"],
                   d["decided_on"], d.get("pattern"),  # rows stored before the cache: None
                   d.get("snapshot_ms", 0))

    def remember_sent(self, alert: StockAlert, cause: Cause) -> None:
        """The newest alert published, and the input record that caused it: replayed after a
        crash, that record publishes the alert again (`replayed_alert`)."""
        self.sent = {"cause": list(cause), "alert": alert.model_dump_json()}

    def advance(self, at: datetime | None) -> None:
        if at is not None:
            self.clock_ms = max(self.clock_ms, int(at.timestamp() * 1000))

    def defer_position(self, now_ms: int) -> None:
        self.dirty = True
        self.position_touched_ms = now_ms

    def defer_demand(self, now_ms: int) -> None:
        self.dirty = True
        self.demand_touched_ms = now_ms


def replayed_alert(stored: Mapping[str, Any] | None, cause: Cause) -> StockAlert | None:
    """The alert `cause` published before, when the stored row remembers it (a replay)."""
    sent = stored.get("sent") if stored else None
    if sent and tuple(sent["cause"]) == cause:
        return StockAlert.model_validate_json(sent["alert"])
    return None


def new_snapshot(stored: Mapping[str, Any] | None, record_ms: int) -> bool:
    """Whether a snapshot row of the key's stock, produced at `record_ms`, belongs to a snapshot
    newer than the last one recorded (not the same row read again after a crash)."""
    return record_ms > (stored.get("snapshot_ms", 0) if stored else 0)


def open_alert(inputs: AlertInputs) -> StockAlert | None:
    """The open alert the buyer was last told about, as published: a re-snapshot's first
    evaluation that decides nothing new publishes it again (same ids) for the go-live summary."""
    state, sent = inputs.state, inputs.sent
    if state is None or state.notified_alert_id is None or not sent:
        return None
    alert = StockAlert.model_validate_json(sent["alert"])
    return None if alert.resolved or alert.alert_id != state.notified_alert_id else alert


def decided_on(stored: Mapping[str, Any] | None) -> list[int] | None:
    """The stored row's `decision_basis`, read without parsing the whole row."""
    return stored.get("decided_on") if stored else None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Step:
    """What one input asks for: evaluate (with the event's position, if it carried one), and
    whether the recorded inputs changed (so the table must be written even without an alert).
    `initial`: a settle tick, the first evaluation of snapshot inputs (its alerts go into the
    buyers' go-live summary)."""

    evaluate: bool
    changed: bool
    position: InventoryPosition | None = None
    initial: bool = False


def take_position(inputs: AlertInputs, position: InventoryPosition, now_ms: int,
                  snapshot_ms: int | None = None) -> Step:
    """A streamed position is evaluated; a snapshot one (a snapshot row, produced at
    `snapshot_ms`, or a key no change was streamed for yet) only recorded, for the settle tick."""
    if snapshot_ms is None and position.source_lsn > 0:
        return Step(evaluate=True, changed=False, position=position)
    if snapshot_ms is not None:
        inputs.snapshot_ms = max(inputs.snapshot_ms, snapshot_ms)
    inputs.advance(position.updated_at)
    inputs.defer_position(now_ms)
    return Step(evaluate=False, changed=True)


def take_demand(inputs: AlertInputs, daily: DailyDemand, now_ms: int) -> Step:
    """Streamed demand is evaluated; snapshot demand only recorded."""
    inputs.days = {day.toordinal(): qty for day, qty in daily.days.items()}
    inputs.clock_ms = max(inputs.clock_ms, daily.as_of_ms)
    if daily.snapshot:
        inputs.defer_demand(now_ms)
    return Step(evaluate=not daily.snapshot, changed=True)


def take_forecast(inputs: AlertInputs, forecast: DemandForecast) -> Step:
    inputs.forecast = {"d": [day.toordinal() for day in forecast.dates],
                       "m": forecast.mean, "s": forecast.sigma}
    inputs.advance(forecast.generated_at)
    return Step(evaluate=not inputs.dirty, changed=True)


def take_control(inputs: AlertInputs, control: AlertControl) -> Step:
    """A snooze of the current (or notified) alert; a settle tick evaluates recorded snapshot
    inputs; a clock tick evaluates at its time."""
    if control.kind == "snooze":
        state = inputs.state
        if control.until is None or state is None or control.alert_id not in (
                state.alert_id, state.notified_alert_id):
            return Step(evaluate=False, changed=False)
        inputs.state = snooze(state, control.until)
        return Step(evaluate=False, changed=inputs.state != state)
    if control.kind == "settle":
        return Step(evaluate=inputs.dirty, changed=False, initial=True)
    inputs.advance(control.at)
    return Step(evaluate=True, changed=True)


# --------------------------------------------------------------------------- decision


TRIAGE = TriageConfig()
ALERT_CONFIG = with_segment_levels(InventoryConfig(), TRIAGE)
"""The inventory config the stock flow decides with: it answers segment keys ("A/sporadic")."""


@dataclass(frozen=True, slots=True)
class Valuation:
    """How pairs are segmented by value: the triage settings and the margin cutoffs of every
    pair (`triage.margin_cutoffs`); without cutoffs (not computed yet) the ERP's ABC class."""

    config: TriageConfig = TRIAGE
    cutoffs: MarginCutoffs | None = None


VALUATION = Valuation()


def decide_alert(inputs: AlertInputs, position: InventoryPosition, product: Product,
                 terms: SupplyTerms, record_ms: int, config: InventoryConfig,
                 valuation: Valuation = VALUATION
                 ) -> tuple[AlertState, StockAlert | None, Segment]:
    """The new alert state, the alert to publish, if any, and the key's segment, whose service
    level the reorder point takes (`config` must answer segment keys: `ALERT_CONFIG`). The
    alert's time is event time: the newest of the position's `updated_at` and the recorded
    inputs' times (the record's own time only when no input carried one)."""
    inputs.advance(position.updated_at)
    now = datetime.fromtimestamp((inputs.clock_ms or record_ms) / 1000, UTC)
    today = local_day(now)
    stats = demand_stats(inputs.days, today)
    seg = Segment(value_class(product, stats, valuation),
                  pattern_of(inputs, today, valuation.config))
    if inputs.forecast:
        ahead = forecast_stats([date.fromordinal(int(d)) for d in inputs.forecast["d"]],
                               inputs.forecast["m"], inputs.forecast["s"], today,
                               terms.lead_time_days)
        if ahead is not None:
            stats = stats.with_forecast(*ahead)
    result = evaluate_policy(stats, terms, seg.key, position, config)
    inputs.order_up_to = result.levels.order_up_to
    return (*decide(inputs.state, position, result, now, config), seg)


def evaluate(inputs: AlertInputs, position: InventoryPosition,
             supply: tuple[Product, SupplyTerms] | None, record_ms: int, cause: Cause,
             config: InventoryConfig = ALERT_CONFIG, valuation: Valuation = VALUATION
             ) -> tuple[bool, StockAlert | None]:
    """Decide and record the outcome in `inputs`: whether they changed, and the alert to
    publish. Without supply terms (dimension rows not known yet) the key stays dirty, to be
    evaluated by a later tick."""
    if supply is None:
        changed = not inputs.dirty
        inputs.dirty = True
        return changed, None
    cached = inputs.pattern
    state, alert, seg = decide_alert(inputs, position, *supply, record_ms, config, valuation)
    if alert is not None:
        alert = triaged(alert, seg, valuation.config)
    changed = inputs.dirty or state != inputs.state or inputs.pattern != cached
    inputs.state, inputs.dirty = state, False
    inputs.decided_on = decision_basis(position)
    if alert is not None:
        inputs.remember_sent(alert, cause)
    return changed or alert is not None, alert


def value_class(product: Product, stats: DemandStats, valuation: Valuation) -> str:
    """The pair's ABC class: by its margin over the demand window against the cutoffs of all
    pairs; before cutoffs exist, the ERP's class (a product without one counts as C)."""
    if valuation.cutoffs is None:
        return product.abc_class if product.abc_class in ("A", "B", "C") else "C"
    return valuation.cutoffs.abc(pair_margin(product, stats))


def pair_margin(product: Product, stats: DemandStats) -> float:
    """Units sold in the trailing window × (list price − cost). `demand.daily` carries units,
    not the sales lines' prices, so the list price stands for the price realised."""
    units = round(stats.mean * stats.observed_days)
    return units * float(product.list_price - product.cost)


def pair_margins(rows: Iterable[Mapping[str, Any]], product_of: Callable[[int], Product | None],
                 today: date) -> list[float]:
    """`pair_margin` of every stored row whose product is known, over the window ending
    `today`: what `triage.margin_cutoffs` ranks."""
    margins = []
    for row in rows:
        product = product_of(row["product_id"])
        if product is not None:
            margins.append(pair_margin(product, demand_stats(days_from_value(row["days"]),
                                                             today)))
    return margins


def pattern_of(inputs: AlertInputs, today: date, config: TriageConfig = TRIAGE) -> SeriesClass:
    """The Syntetos–Boylan class of the key's daily demand from the first day with demand (at
    most `TRAILING_WINDOW_DAYS` back) to the day before `today`, zeros included; classified once
    a local day (`AlertInputs.pattern`)."""
    day = today.toordinal()
    if inputs.pattern is not None and inputs.pattern[0] == day:
        return SeriesClass(inputs.pattern[1])
    days = inputs.days
    start = max(min(days, default=day), day - TRAILING_WINDOW_DAYS)
    pattern = demand_pattern([days.get(d, 0) for d in range(start, day)], config)
    inputs.pattern = [day, pattern.value]
    return pattern


def triaged(alert: StockAlert, seg: Segment, config: TriageConfig = TRIAGE) -> StockAlert:
    """The alert with its segment and route."""
    where = route(alert.level, seg, alert.daily_demand, config)
    return alert.model_copy(update={"route": where.value,
                                    "segment": f"{seg.abc}/{seg.pattern.value}"})


# --------------------------------------------------------------------------- timers


@dataclass(frozen=True, slots=True)
class Pending:
    """What the timers read of one stored row."""

    where: KeyAt
    dirty: bool
    demand_touched_ms: int
    position_touched_ms: int
    snoozed_until: datetime | None


def pending_of(stored: Mapping[str, Any]) -> Pending:
    state = stored["state"]
    until = state["s"] if state else None
    return Pending((stored["product_id"], stored["warehouse_id"], stored["partition"]),
                   stored["dirty"], stored["demand_touched_ms"], stored["position_touched_ms"],
                   datetime.fromisoformat(until) if until else None)


@dataclass(frozen=True, slots=True)
class Sweep:
    """Keys to settle (their snapshot inputs are quiet) and keys whose snooze ended."""

    settle: list[KeyAt]
    ended: list[KeyAt]


def plan_sweep(rows: Iterable[Pending], now: datetime, settle_s: float,
               settle_without_demand_s: float) -> Sweep:
    """Dirty keys are settled once no snapshot input came for `settle_s` (or, when no snapshot
    demand came at all, once snapshot positions were quiet for `settle_without_demand_s`). A
    re-snapshot under a running worker brings positions and (unchanged demand is not published
    again) no new demand: its keys settle together, `settle_s` after its last position."""
    now_ms = int(now.timestamp() * 1000)
    settle: list[KeyAt] = []
    ended: list[KeyAt] = []
    newest_demand = newest_position = 0
    for row in rows:
        if row.dirty:
            settle.append(row.where)
            newest_demand = max(newest_demand, row.demand_touched_ms)
            newest_position = max(newest_position, row.position_touched_ms)
        if row.snoozed_until is not None and row.snoozed_until <= now:
            ended.append(row.where)
    newest = max(newest_demand, newest_position)
    quiet = (now_ms - newest >= settle_s * 1000 if newest_demand
             else now_ms - newest_position >= settle_without_demand_s * 1000)
    return Sweep(settle if quiet else [], ended)
