"""One customer's conversation with the sales agent: the value of the Faust table, keyed by phone.

Immutable by use: every change returns a new state (`model_copy`), so two conversations never
share anything and a turn that fails leaves the stored state as it was.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from processors.sales_agent.pricing import Tier
from processors.sales_agent.tire_size import TireSize
from processors.sales_agent.vehicles import Vehicle
from schemas.commands import CreateSalesOrder, OutboundMessage, RescheduleDelivery

MAX_TURNS = 12
MAX_HANDLED_IDS = 20
MAX_RECENT_OUTPUTS = 4
WHATSAPP_WINDOW = timedelta(hours=24)
HANDOFF_HOLD = timedelta(hours=8)


class Turn(BaseModel):
    role: Literal["customer", "agent"]
    text: str
    at: datetime


class SearchContext(BaseModel):
    """What the customer is looking for, remembered across turns."""

    size: TireSize | None = None
    vehicle: Vehicle | None = None
    brand: str | None = None
    qty: int = 4
    budget_per_tire: Decimal | None = None


class OfferedOption(BaseModel):
    """An option shown to the customer (prices are re-read from the ERP when quoting)."""

    number: int
    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    warehouse_id: int


class Quote(BaseModel):
    quote_id: str
    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    qty: int
    tier: Tier
    list_price: Decimal
    discount_pct: Decimal
    unit_price: Decimal
    total: Decimal
    warehouse_id: int
    branch: str
    stock_at_branch: int
    valid_until: date
    created_at: datetime
    reserved_by_message: str | None = None
    reservation_key: str | None = None

    @property
    def reserved(self) -> bool:
        return self.reservation_key is not None


class RescheduleOffer(BaseModel):
    """Days offered for moving an order's delivery; the customer's next answer picks one."""

    order_id: int
    days: list[date]


class CustomerProfile(BaseModel):
    customer_id: int
    name: str
    tier: Tier
    home_warehouse_id: int | None = None
    delivery_window_start: time = time(9)
    delivery_window_end: time = time(18)


class LastOutputs(BaseModel):
    """What a handled message produced, re-emitted as is if that message is redelivered."""

    message_id: str
    replies: list[OutboundMessage] = Field(default_factory=list)
    order: CreateSalesOrder | None = None
    reschedule: RescheduleDelivery | None = None


class ConversationState(BaseModel):
    phone: str
    customer: CustomerProfile | None = None
    customer_checked: bool = False
    turns: list[Turn] = Field(default_factory=list)
    search: SearchContext = Field(default_factory=SearchContext)
    offered: list[OfferedOption] = Field(default_factory=list)
    quote: Quote | None = None
    reschedule_offer: RescheduleOffer | None = None
    handoff: bool = False
    handoff_reason: str | None = None
    handoff_at: datetime | None = None
    unknown_streak: int = 0
    last_inbound_at: datetime | None = None
    handled_message_ids: list[str] = Field(default_factory=list)
    recent_outputs: list[LastOutputs] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _recent_outputs_from_last(cls, data: object) -> object:
        """States stored before `recent_outputs` kept only the last turn's (`last_outputs`)."""
        if isinstance(data, dict) and "last_outputs" in data:
            data = {**data}  # the caller's dict (a table row) stays as it is
            last = data.pop("last_outputs")
            data.setdefault("recent_outputs", [last] if last else [])
        return data

    def with_outputs(self, outputs: LastOutputs) -> ConversationState:
        """Remembers what the last `MAX_RECENT_OUTPUTS` turns produced, not only the last one's:
        after a crash a worker may replay a message whose outputs never left while a later
        turn's state did reach the changelog (the producer's batches of different partitions
        leave separately), and that message must still re-emit its replies and its order."""
        kept = [o for o in self.recent_outputs if o.message_id != outputs.message_id]
        return self.model_copy(
            update={"recent_outputs": [*kept, outputs][-MAX_RECENT_OUTPUTS:]})

    def outputs_of(self, message_id: str) -> LastOutputs | None:
        return next((o for o in self.recent_outputs if o.message_id == message_id), None)

    @property
    def tier(self) -> Tier:
        return self.customer.tier if self.customer else "publico"

    def in_whatsapp_window(self, now: datetime) -> bool:
        """Free-form messages are allowed only within 24 h of the customer's last message."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < WHATSAPP_WINDOW

    def handoff_active(self, now: datetime) -> bool:
        return self.handoff and self.handoff_at is not None and now - self.handoff_at < HANDOFF_HOLD

    def with_turn(self, role: Literal["customer", "agent"], text: str, at: datetime
                  ) -> ConversationState:
        turns = [*self.turns, Turn(role=role, text=text, at=at)][-MAX_TURNS:]
        return self.model_copy(update={"turns": turns})

    def noted(self, message_id: str) -> ConversationState:
        """A message handled without a turn (a reaction): only its id is remembered."""
        handled = [*self.handled_message_ids, message_id][-MAX_HANDLED_IDS:]
        return self.model_copy(update={"handled_message_ids": handled})

    def received(self, message_id: str, text: str, sent_at: datetime, now: datetime
                 ) -> ConversationState:
        """The state after a customer message sent at `sent_at` arrived (before answering it);
        a handoff older than HANDOFF_HOLD is over and the agent answers again."""
        handled = [*self.handled_message_ids, message_id][-MAX_HANDLED_IDS:]
        expired = self.handoff and not self.handoff_active(now)
        state = self.model_copy(update={
            "last_inbound_at": sent_at, "handled_message_ids": handled,
            **({"handoff": False, "handoff_reason": None, "handoff_at": None} if expired else {}),
        })
        return state.with_turn("customer", text, sent_at)
