"""Commands for the sinks: ERP write-back (`erp.commands`) and messages (`messages.outbound` for
WhatsApp, `messages.email` for e-mail).

Every command carries an `idempotency_key` derived from the event that caused it, so a
redelivered command never writes twice nor sends twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.message_parts import Attachment, InteractiveList


class CommandBase(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=200)
    issued_at: datetime
    caused_by: str = Field("", description="The event this command answers, e.g. alert id.")


class PurchaseLine(BaseModel):
    product_id: int
    qty: int = Field(gt=0)
    unit_cost: Decimal = Field(ge=0)


class CreatePurchaseOrderDraft(CommandBase):
    type: Literal["create_purchase_order_draft"] = "create_purchase_order_draft"
    supplier_id: int
    warehouse_id: int
    lines: list[PurchaseLine] = Field(min_length=1)
    expected_at: date | None = None
    requested_by: str = "topllantas"


class AddPurchaseOrderLine(CommandBase):
    """One approved line joins the day's draft purchase order of its supplier and branch.

    `order_key` names the draft (`po:<supplier>:<warehouse>:<YYYY-MM-DD>`): the first line
    creates it as `borrador`, later lines join it; `idempotency_key` names the line
    (`pol:<alert_id>`), so the same approval twice adds one line. A draft no longer `borrador`
    (sent, received, cancelled) takes no more lines: the command is rejected.
    """

    type: Literal["add_purchase_order_line"] = "add_purchase_order_line"
    order_key: str = Field(min_length=1, max_length=200)
    supplier_id: int
    warehouse_id: int
    line: PurchaseLine
    expected_at: date | None = None
    requested_by: str = "topllantas"


class CreateStockTransfer(CommandBase):
    """Stock moved from one branch to another (`tr:<alert_id>`); the ERP takes it out of the
    sender at once and puts it in transit at the receiver (refused without available stock)."""

    type: Literal["create_stock_transfer"] = "create_stock_transfer"
    product_id: int
    from_warehouse_id: int
    to_warehouse_id: int
    qty: int = Field(gt=0)
    transit_days: Decimal = Field(Decimal(1), gt=0, le=999)
    requested_by: str = "topllantas"

    @model_validator(mode="after")
    def _two_branches(self) -> CreateStockTransfer:
        if self.from_warehouse_id == self.to_warehouse_id:
            raise ValueError("a transfer needs two different branches")
        return self


class SalesLine(BaseModel):
    product_id: int
    qty: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class CreateSalesOrder(CommandBase):
    """A quote turned into a reservation ('reservado') or a confirmed order."""

    type: Literal["create_sales_order"] = "create_sales_order"
    customer_id: int
    warehouse_id: int
    status: Literal["reservado", "confirmado"] = "reservado"
    channel: str = "whatsapp"
    lines: list[SalesLine] = Field(min_length=1)
    delivery_date: date | None = None
    needs_delivery: bool = False


class RouteStop(BaseModel):
    sales_order_id: int
    vehicle_id: int
    sequence: int = Field(ge=1)
    eta_start: datetime
    eta_end: datetime


class ReleasedStop(BaseModel):
    """An order an earlier plan of the day put on `vehicle_id` and this plan does not route."""

    sales_order_id: int
    vehicle_id: int


class AssignDeliveryRoute(CommandBase):
    """A branch-day's plan: its stops on their vehicles, and the stops of the day's previous
    plan it no longer routes (cancelled, moved to another day or branch, left unassigned)."""

    type: Literal["assign_delivery_route"] = "assign_delivery_route"
    route_date: date
    stops: list[RouteStop] = Field(default_factory=list)
    released: list[ReleasedStop] = Field(default_factory=list, description=(
        "Deliveries still assigned to this day on these vehicles go back to pendiente; one "
        "assigned since to another day or vehicle is left alone."))

    @model_validator(mode="after")
    def _changes_something(self) -> AssignDeliveryRoute:
        if not self.stops and not self.released:
            raise ValueError("a route assignment needs stops or released orders")
        if {s.sales_order_id for s in self.stops} & {r.sales_order_id for r in self.released}:
            raise ValueError("an order cannot be both on a route and released from it")
        return self


class UpdateDeliveryEta(CommandBase):
    type: Literal["update_delivery_eta"] = "update_delivery_eta"
    sales_order_id: int
    eta_start: datetime
    eta_end: datetime


class RescheduleDelivery(CommandBase):
    """The customer moved their delivery to another day (WhatsApp): the order's
    `delivery_date` changes and its delivery goes back to `pendiente` on that day, so the route
    planner takes it off the old day's truck and plans it on the new day (CDC re-plan)."""

    type: Literal["reschedule_delivery"] = "reschedule_delivery"
    sales_order_id: int
    customer_id: int = Field(description="The order must belong to this customer.")
    delivery_date: date


ErpCommand = Annotated[
    CreatePurchaseOrderDraft | AddPurchaseOrderLine | CreateStockTransfer | CreateSalesOrder
    | AssignDeliveryRoute | UpdateDeliveryEta | RescheduleDelivery,
    Field(discriminator="type"),
]


class CommandEnvelope(BaseModel):
    """The value of an `erp.commands` record."""

    command: ErpCommand


class CommandResult(BaseModel):
    """Reported back on `erp.commands.results` so the processor that asked can react."""

    idempotency_key: str
    command_type: str
    status: Literal["applied", "duplicate", "failed"]
    entity_ids: list[int] = []
    error: str | None = None
    at: datetime


class Button(BaseModel):
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class OutboundMessage(BaseModel):
    """One message to send, WhatsApp (`messages.outbound`) or e-mail (`messages.email`).

    WhatsApp: `text` alone, or `text` + up to 3 `buttons` (interactive), or a `template`.
    Outside the customer's 24-hour window the sink sends `template` (es_MX) instead of free text,
    so every free-form message that may go out late should name a fallback template.
    """

    idempotency_key: str = Field(min_length=1, max_length=200)
    channel: Literal["whatsapp", "email"] = "whatsapp"
    to: str
    text: str | None = None
    buttons: list[Button] = Field(default_factory=list, max_length=3)
    template: str | None = None
    template_params: list[str] = Field(default_factory=list)
    subject: str | None = None
    html: str | None = None
    interactive_list: InteractiveList | None = None  # WhatsApp: `text` is the list's body
    attachments: list[Attachment] = Field(default_factory=list)  # e-mail only
    context: dict[str, str] = Field(default_factory=dict)
    reply_to: str | None = Field(
        None, max_length=200,
        description="WhatsApp: the inbound message (wamid) this one answers, sent as "
                    "`context.message_id` so the chat shows it quoted.")
    issued_at: datetime


class MessageResult(BaseModel):
    idempotency_key: str
    channel: str
    to: str
    status: Literal["sent", "duplicate", "failed"]
    provider_message_id: str | None = None
    used_template: bool = False
    error: str | None = None
    at: datetime
