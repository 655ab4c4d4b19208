"""Stock alert classification and the per product × warehouse alert state machine (pure).

Levels, checked in this order (the first that holds wins; d̄ = daily demand, L = lead time):

- `critico`: a stockout before a new order can arrive: d̄ > 0 and (available ≤ 0 or
  available + on order + in transit < d̄·L). Everything already ordered is assumed to arrive
  within L (it was ordered earlier than an order placed now).
- `alto`: d̄ > 0 and position ≤ reorder point.
- `medio`: d̄ > 0 and position − d̄·H ≤ reorder point, H = review period R when R > 0, else
  the warning days (7): the reorder point will be crossed before the next look.
- `sin_movimiento`: stock on hand and no sale for `no_movement_days` (90).
- `sobrestock`: d̄ > 0 and position / d̄ above the overstock cover (6 months).
- `oportunidad`: the reorder point is at most `opportunity_window_days` of demand away and a
  supplier price break makes the proposed order bigger at a lower annual total cost.

A shortage level (critico, alto, medio) only eases once the position is `hysteresis_days` of
demand past the threshold, so one returned tire does not flap an alert off and on.

`decide` emits an event only when something changed for the buyer: a new level (never a repeat
of the same level), a resolution when the level clears, or one reminder when a snooze ends while
the alert is still active. While snoozed (`Posponer`), a new level is recorded silently unless it
is more severe than the level the buyer was last told about. Nothing reads a clock: `now` is an
input, and alert ids come from product × warehouse, the state version and the level, so
replaying the same inputs gives the same events. The stream glue should also call `decide` on a
timer so that a snooze that ends without a stock change still reminds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from processors.inventory.policy import DAYS_PER_MONTH, InventoryConfig, PolicyResult
from schemas.alerts import AlertLevel, StockAlert
from schemas.events import InventoryPosition

SEVERITY: dict[AlertLevel, int] = {
    AlertLevel.CRITICO: 5,
    AlertLevel.ALTO: 4,
    AlertLevel.MEDIO: 3,
    AlertLevel.SIN_MOVIMIENTO: 2,
    AlertLevel.SOBRESTOCK: 1,
    AlertLevel.OPORTUNIDAD: 0,
}
SHORTAGE_LEVELS = frozenset({AlertLevel.CRITICO, AlertLevel.ALTO, AlertLevel.MEDIO})
ORDERING_LEVELS = SHORTAGE_LEVELS | {AlertLevel.OPORTUNIDAD}
"""Levels whose alert proposes a purchase."""

LEVEL_LABELS: dict[AlertLevel, str] = {
    AlertLevel.CRITICO: "crítico",
    AlertLevel.ALTO: "alto",
    AlertLevel.MEDIO: "medio",
    AlertLevel.SIN_MOVIMIENTO: "sin movimiento",
    AlertLevel.SOBRESTOCK: "sobrestock",
    AlertLevel.OPORTUNIDAD: "oportunidad",
}
"""How a level reads in Spanish."""


def _level_at(available: float, position: float, on_hand: int, policy: PolicyResult,
              config: InventoryConfig) -> AlertLevel | None:
    levels = policy.levels
    d = levels.daily_demand
    rop = levels.reorder_point
    if d > 0:
        if available <= 0 or position < d * levels.lead_time_days:
            return AlertLevel.CRITICO
        if position <= rop:
            return AlertLevel.ALTO
        horizon = levels.review_period_days or config.warning_days
        if position - d * horizon <= rop:
            return AlertLevel.MEDIO
    if on_hand > 0 and policy.days_since_last_sale >= config.no_movement_days:
        return AlertLevel.SIN_MOVIMIENTO
    if d > 0 and position / d > config.overstock_days:
        return AlertLevel.SOBRESTOCK
    if (d > 0 and policy.proposal.bumped and policy.proposal.annual_savings > 0
            and position - rop <= d * config.opportunity_window_days):
        return AlertLevel.OPORTUNIDAD
    return None


def classify(position: InventoryPosition, policy: PolicyResult, config: InventoryConfig,
             previous: AlertLevel | None = None) -> AlertLevel | None:
    """The alert level now; `previous` applies the hysteresis of shortage levels."""
    available, pos = position.available, position.position
    level = _level_at(available, pos, position.on_hand, policy, config)
    if previous in SHORTAGE_LEVELS and (level is None or SEVERITY[level] < SEVERITY[previous]):
        margin = config.hysteresis_days * policy.levels.daily_demand
        held = _level_at(available - margin, pos - margin, position.on_hand, policy, config)
        if held is not None and SEVERITY[held] >= SEVERITY[previous]:
            return previous
    return level


@dataclass(frozen=True, slots=True)
class AlertState:
    """Alert state of one product × warehouse (a Faust table value via `to_dict`).

    - `version`: bumped on every new episode and every emitted event; part of the ids.
    - `level`/`alert_id`: the current episode (None = no alert).
    - `notified_level`/`notified_alert_id`: what the buyer was last told about (None after a
      resolution). They differ from the current episode only after a silent change while
      snoozed.
    - `snoozed_until`: `Posponer` until then.
    """

    product_id: int
    warehouse_id: int
    version: int = 0
    level: AlertLevel | None = None
    alert_id: str | None = None
    notified_level: AlertLevel | None = None
    notified_alert_id: str | None = None
    snoozed_until: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.product_id, "w": self.warehouse_id, "v": self.version,
                "l": self.level.value if self.level else None, "a": self.alert_id,
                "nl": self.notified_level.value if self.notified_level else None,
                "na": self.notified_alert_id,
                "s": self.snoozed_until.isoformat() if self.snoozed_until else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertState:
        return cls(d["p"], d["w"], d["v"], AlertLevel(d["l"]) if d["l"] else None, d["a"],
                   AlertLevel(d["nl"]) if d["nl"] else None, d["na"],
                   datetime.fromisoformat(d["s"]) if d["s"] else None)


def alert_id_for(product_id: int, warehouse_id: int, version: int, level: AlertLevel) -> str:
    return f"stk-{product_id}-{warehouse_id}-{version}-{level.value}"


def decide(prev_state: AlertState | None, position: InventoryPosition, policy_result: PolicyResult,
           now: datetime, config: InventoryConfig | None = None
           ) -> tuple[AlertState, StockAlert | None]:
    """Next alert state and the event to emit, if any (module docstring)."""
    config = config or _DEFAULT_CONFIG
    state = prev_state or AlertState(position.product_id, position.warehouse_id)
    level = classify(position, policy_result, config, state.level)
    snoozed = state.snoozed(now)
    version = state.version + 1

    if level is not None and level == state.level and state.alert_id is not None:
        if snoozed or state.snoozed_until is None:
            return state, None
        # The snooze ended and the alert is still active: tell the buyer once more.
        alert_id = state.alert_id
        reminder = alert_id == state.notified_alert_id
        new = replace(state, version=version, notified_level=level, notified_alert_id=alert_id,
                      snoozed_until=None)
        return new, _event(f"{alert_id}-r{version}" if reminder else alert_id, alert_id, level,
                           state.notified_level, position, policy_result, config, now,
                           reminder=reminder)

    if level is None:
        if state.level is None:
            return state, None
        # Close what the buyer knows about (the current episode if it was never announced).
        alert_id = state.notified_alert_id or state.alert_id
        if alert_id is None:
            raise ValueError(f"alert state {state} has a level but no alert id")
        closed = state.notified_level or state.level
        new = AlertState(state.product_id, state.warehouse_id, version)
        return new, _event(f"{alert_id}-resuelta", alert_id, closed, state.notified_level,
                           position, policy_result, config, now, resolved=True)

    alert_id = alert_id_for(state.product_id, state.warehouse_id, version, level)
    if snoozed and state.notified_level is not None and (
            SEVERITY[level] <= SEVERITY[state.notified_level]):
        return replace(state, version=version, level=level, alert_id=alert_id), None
    new = AlertState(state.product_id, state.warehouse_id, version, level, alert_id, level,
                     alert_id)
    return new, _event(alert_id, alert_id, level, state.notified_level, position, policy_result,
                       config, now)


def snooze(state: AlertState, until: datetime) -> AlertState:
    """`Posponer`: no reminder until `until` unless the level worsens. No-op without an alert."""
    if state.level is None:
        return state
    return replace(state, snoozed_until=until)


_DEFAULT_CONFIG = InventoryConfig()


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def fmt_money(value: float | Decimal) -> str:
    """es-MX money: $1,234.50."""
    return f"${value:,.2f}"


def fmt_num(value: float) -> str:
    """One decimal, without a trailing .0: 12, 3.5."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def _event(event_id: str, alert_id: str, level: AlertLevel, previous: AlertLevel | None,
           position: InventoryPosition, policy: PolicyResult, config: InventoryConfig,
           now: datetime, *, resolved: bool = False, reminder: bool = False) -> StockAlert:
    levels, proposal, terms = policy.levels, policy.proposal, policy.terms
    orders = level in ORDERING_LEVELS and not resolved
    qty = proposal.qty if orders else 0
    if resolved:
        reason, recommendation = _resolved_text(level, position, policy)
    else:
        reason = _reason(level, position, policy, config)
        recommendation = _recommendation(level, position, policy, config)
    cover = policy.days_of_cover
    return StockAlert(
        event_id=event_id, alert_id=alert_id, product_id=position.product_id,
        warehouse_id=position.warehouse_id, level=level, previous_level=previous,
        resolved=resolved, reminder=reminder, reason=reason, recommendation=recommendation,
        available=position.available, on_order=position.on_order,
        in_transit=position.in_transit, position=position.position,
        reorder_point=levels.reorder_point, safety_stock=levels.safety_stock,
        order_up_to=levels.order_up_to, daily_demand=round(levels.daily_demand, 3),
        days_of_cover=None if cover is None else round(cover, 1), proposed_qty=qty,
        supplier_id=terms.supplier_id, lead_time_days=terms.lead_time_days,
        unit_cost=_money(proposal.unit_cost), total_cost=_money(qty * proposal.unit_cost),
        base_unit_cost=_money(proposal.base_unit_cost),
        break_min_qty=proposal.break_min_qty if orders else None,
        annual_savings=_money(proposal.annual_savings) if orders else Decimal("0.00"),
        pack_multiple=terms.pack_multiple, min_order_qty=terms.min_order_qty,
        price_breaks=tuple((b.min_qty, _money(b.unit_cost)) for b in terms.price_breaks),
        at=now,
    )


def _cover_text(policy: PolicyResult) -> str:
    cover = policy.days_of_cover
    return "sin demanda" if cover is None else f"{fmt_num(max(cover, 0.0))} días"


def _reason(level: AlertLevel, position: InventoryPosition, policy: PolicyResult,
            config: InventoryConfig) -> str:
    levels = policy.levels
    d, rop = levels.daily_demand, levels.reorder_point
    avail, pos = position.available, position.position
    incoming = position.on_order + position.in_transit
    if level is AlertLevel.CRITICO:
        if avail <= 0:
            return (f"Sin existencia disponible ({avail:,} pzas) y se venden {fmt_num(d)} "
                    f"pzas/día; por llegar: {incoming:,} pzas.")
        lead = levels.lead_time_days
        return (f"Disponible {avail:,} + por llegar {incoming:,} = {pos:,} pzas no alcanza la "
                f"demanda esperada en el tiempo de entrega ({fmt_num(d * lead)} pzas en "
                f"{fmt_num(lead)} días): habrá faltante antes de que llegue un pedido nuevo.")
    if level is AlertLevel.ALTO:
        return (f"Posición {pos:,} pzas (disponible {avail:,} + por llegar {incoming:,}) en o bajo "
                f"el punto de reorden {rop:,} (stock de seguridad {levels.safety_stock:,}).")
    if level is AlertLevel.MEDIO:
        return (f"A {fmt_num(d)} pzas/día, la posición de {pos:,} pzas llega al punto de reorden "
                f"{rop:,} en ~{fmt_num(max(pos - rop, 0) / d)} días.")
    if level is AlertLevel.SIN_MOVIMIENTO:
        value = position.on_hand * policy.terms.unit_cost
        return (f"Sin ventas en {policy.days_since_last_sale} días con {position.on_hand:,} pzas "
                f"en existencia ({fmt_money(value)} inmovilizados).")
    if level is AlertLevel.SOBRESTOCK:
        cover = pos / d
        return (f"Cobertura de {fmt_num(cover)} días ({fmt_num(cover / DAYS_PER_MONTH)} meses) "
                f"con posición de {pos:,} pzas; el máximo es {fmt_num(config.overstock_months)} "
                f"meses.")
    proposal = policy.proposal
    return (f"Desde {proposal.break_min_qty:,} pzas el costo baja de "
            f"{fmt_money(proposal.base_unit_cost)} a {fmt_money(proposal.unit_cost)} por pieza "
            f"(ahorro estimado {fmt_money(proposal.annual_savings)} al año); el punto de reorden "
            f"{rop:,} se alcanza en ~{fmt_num(max(pos - rop, 0) / d)} días.")


def _recommendation(level: AlertLevel, position: InventoryPosition, policy: PolicyResult,
                    config: InventoryConfig) -> str:
    proposal = policy.proposal
    qty = proposal.qty
    order = (f"{qty:,} pzas a {fmt_money(proposal.unit_cost)} c/u "
             f"(total {fmt_money(qty * proposal.unit_cost)})")
    if proposal.bumped and level is not AlertLevel.OPORTUNIDAD:
        order += (f"; sube de {proposal.base_qty:,} a {qty:,} pzas por precio de volumen, "
                  f"ahorro estimado {fmt_money(proposal.annual_savings)} al año")
    if level is AlertLevel.CRITICO:
        return f"Pedir hoy {order}; si es posible, traspasar de otra sucursal mientras llega."
    if level is AlertLevel.ALTO:
        return f"Pedir {order}."
    if level is AlertLevel.MEDIO:
        d = policy.levels.daily_demand
        days = max(position.position - policy.levels.reorder_point, 0) / d
        return f"Preparar pedido de {order} en los próximos {max(1, math.floor(days))} días."
    if level is AlertLevel.OPORTUNIDAD:
        return f"Adelantar el pedido: {order}."
    if level is AlertLevel.SOBRESTOCK:
        excess = max(position.position - policy.levels.order_up_to, 0)
        return f"No reordenar; promover o traspasar ~{excess:,} pzas excedentes."
    return "No reordenar; revisar precio, promoción, traspaso o devolución al proveedor."


def _resolved_text(level: AlertLevel, position: InventoryPosition, policy: PolicyResult
                   ) -> tuple[str, str]:
    label = LEVEL_LABELS[level]
    pos, rop = position.position, policy.levels.reorder_point
    if level in SHORTAGE_LEVELS or level is AlertLevel.OPORTUNIDAD:
        reason = (f"Alerta {label} resuelta: posición {pos:,} pzas (disponible "
                  f"{position.available:,}), arriba del punto de reorden {rop:,}; cobertura "
                  f"{_cover_text(policy)}.")
    elif level is AlertLevel.SOBRESTOCK:
        reason = (f"Alerta {label} resuelta: posición {pos:,} pzas, cobertura "
                  f"{_cover_text(policy)}, dentro del máximo.")
    else:
        reason = (f"Alerta {label} resuelta: hubo venta hace {policy.days_since_last_sale} días "
                  f"o ya no hay existencia.")
    return reason, "Sin acción pendiente."
