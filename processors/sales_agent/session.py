"""One turn's tool calls: validate, enforce policy, read the ERP through the injected reader,
update the conversation state and keep every result (the grounding guard's evidence).

The deterministic dialog and the LLM loop use the same session, so both obey the same rules:
prices only from list price and the tier table, reservations only of the current quote and only
after the customer confirmed it in this message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from time import perf_counter
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from processors.sales_agent import delivery, reschedule
from processors.sales_agent.branches import nearest_branch
from processors.sales_agent.catalog import CatalogReader
from processors.sales_agent.faq import answer as faq_answer
from processors.sales_agent.guard_evidence import Evidence, collect_evidence
from processors.sales_agent.options import pick_options
from processors.sales_agent.pricing import (
    discount_pct,
    line_total,
    quote_valid_until,
    unit_price,
)
from processors.sales_agent.state import (
    ConversationState,
    CustomerProfile,
    OfferedOption,
    Quote,
    RescheduleOffer,
    SearchContext,
)
from processors.sales_agent.tire_size import TireSize, find_tire_size, parse_tire_size
from processors.sales_agent.tool_args import (
    TOOL_ARGS,
    CreateQuoteArgs,
    DeliverySlotArgs,
    FaqArgs,
    HandoffArgs,
    NearestBranchArgs,
    OrderStatusArgs,
    PriceForCustomerArgs,
    RescheduleDeliveryArgs,
    ReserveOrderArgs,
    SearchTiresArgs,
    StockByBranchArgs,
    ToolArgs,
)
from processors.sales_agent.tool_results import (
    BranchStock,
    CreateQuoteResult,
    DeliverySlotResult,
    FaqResult,
    HandoffResult,
    NearestBranchResult,
    OrderStatusResult,
    PriceResult,
    RescheduleResult,
    ReserveOrderResult,
    SearchTiresResult,
    StockByBranchResult,
    TireOption,
    ToolResult,
)
from processors.sales_agent.vehicles import Vehicle
from schemas.commands import CreateSalesOrder, RescheduleDelivery, SalesLine
from schemas.erp import Brand, Product, Stock, Warehouse

ResultT = TypeVar("ResultT", bound=BaseModel)

SEARCH_LIMIT = 60


class ToolError(Exception):
    """A tool refused or failed; `code` is stable (the templates key on it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ToolRecord:
    name: str
    arguments: dict[str, Any]
    result: ToolResult | None = None
    error_code: str | None = None
    error: str | None = None


def reservation_key(phone: str, quote_id: str) -> str:
    """Idempotency key of the order a quote becomes: a repeated "sí" reserves once."""
    digits = re.sub(r"\D", "", phone)
    return f"wa-order:{digits}:{quote_id}"


class TurnSession:
    def __init__(self, state: ConversationState, reader: CatalogReader, *, now: datetime,
                 message_id: str, customer_confirmed: bool) -> None:
        self.state = state
        self.reader = reader
        self.now = now
        self.message_id = message_id
        self.customer_confirmed = customer_confirmed
        self.records: list[ToolRecord] = []
        self.order: CreateSalesOrder | None = None
        self.reschedule: RescheduleDelivery | None = None
        self.tools_s = 0.0

    # ------------------------------------------------------------------ entry points
    async def identify_customer(self) -> None:
        """Look the phone up once per conversation; unknown numbers are treated as `publico`."""
        if self.state.customer_checked:
            return
        started = perf_counter()
        customer = await self.reader.customer_by_phone(self.state.phone)
        self.tools_s += perf_counter() - started
        profile = None if customer is None else CustomerProfile(
            customer_id=customer.id, name=customer.name, tier=customer.tier,
            home_warehouse_id=customer.home_warehouse_id,
            delivery_window_start=customer.delivery_window_start,
            delivery_window_end=customer.delivery_window_end)
        self.state = self.state.model_copy(update={"customer": profile, "customer_checked": True})

    async def call(self, name: str, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """Run a tool the model asked for; returns the JSON-able result or `{"error": ...}`."""
        args_model = TOOL_ARGS.get(name)
        raw: Any = arguments
        try:
            if args_model is None:
                raise ToolError("unknown_tool", f"unknown tool {name!r}")
            if isinstance(arguments, str):
                try:
                    raw = json.loads(arguments or "{}")
                except json.JSONDecodeError as exc:
                    raise ToolError("invalid_json", f"arguments are not JSON: {exc}") from None
            try:
                args = args_model.model_validate(raw)
            except ValidationError as exc:
                raise ToolError("invalid_arguments", _short(exc)) from None
        except ToolError as exc:
            self.records.append(ToolRecord(name=name, arguments=raw if isinstance(raw, dict)
                                           else {"raw": str(raw)}, error_code=exc.code,
                                           error=str(exc)))
            return {"error": str(exc), "code": exc.code}
        try:
            result = await self.run(args)
        except ToolError as exc:
            return {"error": str(exc), "code": exc.code}
        return result.model_dump(mode="json")

    async def run(self, args: ToolArgs) -> ToolResult:
        """Run a validated tool call and record it; raises ToolError after recording a refusal."""
        name = next(n for n, model in TOOL_ARGS.items() if isinstance(args, model))
        record = ToolRecord(name=name, arguments=args.model_dump(mode="json"))
        self.records.append(record)
        started = perf_counter()
        try:
            record.result = await getattr(self, f"_{name}")(args)
        except ToolError as exc:
            record.error_code, record.error = exc.code, str(exc)
            raise
        finally:
            self.tools_s += perf_counter() - started
        return record.result

    def evidence(self) -> Evidence:
        """What a reply of this turn may state: the results, and the customer's own numbers."""
        said = next((t.text for t in reversed(self.state.turns) if t.role == "customer"), None)
        return collect_evidence(self.results(), customer_text=said)

    def results(self) -> list[ToolResult]:
        return [r.result for r in self.records if r.result is not None]

    def last(self, kind: type[ResultT]) -> ResultT | None:
        """The last successful result of one kind in this turn, or None."""
        return next((r for r in reversed(self.results()) if isinstance(r, kind)), None)

    def errors(self, name: str) -> list[str]:
        return [r.error_code or "" for r in self.records if r.name == name and r.error_code]

    # ------------------------------------------------------------------ tools
    async def _search_tires(self, args: SearchTiresArgs) -> SearchTiresResult:
        tier = self.state.tier
        vehicle = None
        if args.size is not None:
            sizes = [parse_tire_size(args.size)]
        else:
            vehicle = Vehicle(make=args.vehicle_make, model=args.vehicle_model,
                              year=args.vehicle_year)
            fitments = await self.reader.fitments(args.vehicle_make, args.vehicle_model or "",
                                                  args.vehicle_year)
            sizes = list(dict.fromkeys(
                s for s in (find_tire_size(f.tire_size) for f in fitments) if s is not None))
        self._remember_search(args, sizes, vehicle)
        base = {"sizes": [str(s) for s in sizes], "vehicle": str(vehicle) if vehicle else None,
                "brand": args.brand, "qty": args.qty, "tier": tier,
                "valid_until": quote_valid_until(delivery.local_date(self.now))}
        if not sizes:
            return SearchTiresResult(outcome="vehicle_unknown", options=[], **base)
        if len(sizes) > 1 and args.vehicle_year is None:
            return SearchTiresResult(outcome="year_needed", options=[], **base)
        pct = discount_pct(tier)
        max_list = None
        if args.max_price_per_tire is not None:
            max_list = args.max_price_per_tire * 100 / (100 - pct)
        rows = await self.reader.search_tires([s.key for s in sizes], args.brand, max_list,
                                              min_available=args.qty, per_brand=2,
                                              limit=SEARCH_LIMIT)
        options = await self._options(rows, args.qty)
        # New options replace the old ones and any quote: a "sí" now must pick among these.
        self.state = self.state.model_copy(update={"quote": None, "offered": [
            OfferedOption(number=i, product_id=o.product_id, sku=o.sku, brand=o.brand,
                          model=o.model, tire_size=o.tire_size, warehouse_id=o.warehouse_id)
            for i, o in enumerate(options, start=1)]})
        return SearchTiresResult(outcome="options" if options else "no_stock", options=options,
                                 **base)

    async def _stock_by_branch(self, args: StockByBranchArgs) -> StockByBranchResult:
        product, brand = await self._product(args.product_id)
        rows = [BranchStock(warehouse_id=w.id, branch=w.name, city=w.city,
                            available=_available(s))
                for s, w in await self.reader.branch_stock([product.id])]
        return StockByBranchResult(product_id=product.id, sku=product.sku, brand=brand.name,
                                   model=product.model, tire_size=product.tire_size,
                                   branches=rows, total_available=sum(r.available for r in rows))

    async def _price_for_customer(self, args: PriceForCustomerArgs) -> PriceResult:
        product, brand = await self._product(args.product_id)
        tier = self.state.tier
        price = unit_price(product.list_price, tier)
        return PriceResult(product_id=product.id, sku=product.sku, brand=brand.name,
                           model=product.model, tire_size=product.tire_size, tier=tier,
                           list_price=product.list_price, discount_pct=discount_pct(tier),
                           unit_price=price, qty=args.qty, total=line_total(price, args.qty))

    async def _create_quote(self, args: CreateQuoteArgs) -> CreateQuoteResult:
        product, brand = await self._product(args.product_id)
        stock = await self.reader.branch_stock([product.id])
        branches = {w.id: w for _, w in stock}
        if args.warehouse_id is not None and args.warehouse_id not in branches:
            raise ToolError("unknown_branch",
                            f"warehouse {args.warehouse_id} is not a branch with this product")
        available = {s.warehouse_id: _available(s) for s, _ in stock}
        warehouse_id = args.warehouse_id or self._branch_for(available, args.qty)
        if warehouse_id is None:
            raise ToolError("no_stock", "no branch has this product in stock")
        tier = self.state.tier
        price = unit_price(product.list_price, tier)
        digest = hashlib.sha1(f"{self.state.phone}|{self.message_id}|{product.id}|{args.qty}"
                              .encode()).hexdigest()
        quote = Quote(
            quote_id=f"Q-{digest[:8].upper()}", product_id=product.id, sku=product.sku,
            brand=brand.name, model=product.model, tire_size=product.tire_size, qty=args.qty,
            tier=tier, list_price=product.list_price, discount_pct=discount_pct(tier),
            unit_price=price, total=line_total(price, args.qty), warehouse_id=warehouse_id,
            branch=branches[warehouse_id].name, stock_at_branch=available.get(warehouse_id, 0),
            valid_until=quote_valid_until(delivery.local_date(self.now)), created_at=self.now)
        search = self.state.search.model_copy(update={"qty": args.qty})
        self.state = self.state.model_copy(update={"quote": quote, "search": search})
        return CreateQuoteResult(quote=quote)

    async def _reserve_order(self, args: ReserveOrderArgs) -> ReserveOrderResult:
        quote = self.state.quote
        if quote is None or quote.quote_id != args.quote_id:
            raise ToolError("unknown_quote", "no such quote in this conversation; create one")
        if quote.reserved:
            return ReserveOrderResult(status="already_reserved", quote=quote,
                                      needs_delivery=args.needs_delivery)
        if not self.customer_confirmed:
            raise ToolError("not_confirmed", "the customer has not confirmed this quote in "
                                             "their last message; ask them to confirm first")
        customer = self.state.customer
        if customer is None:
            raise ToolError("customer_unknown", "this phone is not a registered customer; hand "
                                                "the conversation to a human advisor")
        if quote.valid_until < delivery.local_date(self.now):
            raise ToolError("quote_expired", "the quote expired; create a new one")
        stock = await self.reader.branch_stock([quote.product_id])
        available = sum(_available(s) for s, _ in stock if s.warehouse_id == quote.warehouse_id)
        if available < quote.qty:
            raise ToolError("insufficient_stock", f"only {available} available at the branch")
        key = reservation_key(self.state.phone, quote.quote_id)
        self.order = CreateSalesOrder(
            idempotency_key=key, issued_at=self.now, caused_by=f"whatsapp:{self.message_id}",
            customer_id=customer.customer_id, warehouse_id=quote.warehouse_id,
            status="reservado", channel="whatsapp", needs_delivery=args.needs_delivery,
            lines=[SalesLine(product_id=quote.product_id, qty=quote.qty,
                             unit_price=quote.unit_price)])
        reserved = quote.model_copy(update={"reserved_by_message": self.message_id,
                                            "reservation_key": key})
        self.state = self.state.model_copy(update={"quote": reserved})
        return ReserveOrderResult(status="reserved", quote=reserved,
                                  needs_delivery=args.needs_delivery)

    async def _delivery_slot(self, args: DeliverySlotArgs) -> DeliverySlotResult:
        customer = self.state.customer
        if args.mode == "pickup":
            day, start, end = delivery.pickup_slot(self.now)
            branch = self.state.quote.branch if self.state.quote else None
            if branch is None and customer and customer.home_warehouse_id:
                branches = {w.id: w.name for w in await self.reader.branches()}
                branch = branches.get(customer.home_warehouse_id)
            return DeliverySlotResult(mode="pickup", date=day, window_start=start,
                                      window_end=end, branch=branch)
        window = (customer.delivery_window_start, customer.delivery_window_end) if customer \
            else (delivery.BRANCH_OPEN, time(18))
        day, start, end = delivery.delivery_slot(self.now, *window)
        return DeliverySlotResult(mode="delivery", date=day, window_start=start, window_end=end)

    async def _order_status(self, args: OrderStatusArgs) -> OrderStatusResult:
        customer = self.state.customer
        if customer is None:
            raise ToolError("customer_unknown", "this phone is not a registered customer")
        found = await self.reader.order_status(args.order_id, customer.customer_id)
        if found is None:
            raise ToolError("order_not_found",
                            f"order {args.order_id} does not exist for this customer")
        order, shipment = found
        return OrderStatusResult(
            order_id=order.id, status=order.status, created_at=order.created_at,
            delivery_date=order.delivery_date, needs_delivery=order.needs_delivery,
            delivery_status=shipment.status if shipment else None,
            eta_start=shipment.eta_start if shipment else None,
            eta_end=shipment.eta_end if shipment else None)

    async def _reschedule_delivery(self, args: RescheduleDeliveryArgs) -> RescheduleResult:
        customer = self.state.customer
        found = None if customer is None else await self.reader.order_status(
            args.order_id, customer.customer_id)
        if customer is None or found is None:
            raise ToolError("customer_unknown" if customer is None else "order_not_found",
                            f"order {args.order_id} does not exist for this customer")
        order, shipment = found
        if not reschedule.reschedulable(order, shipment):
            raise ToolError("not_reschedulable", f"order {order.id}'s delivery cannot move "
                                                 "(on its way, delivered, cancelled or pickup)")
        current = reschedule.current_day(order, shipment)
        windows = reschedule.windows(self.now, current, customer)
        days = [w.date for w in windows]
        result = RescheduleResult(outcome="choose", order_id=order.id, current_date=current,
                                  windows=windows, window_start=customer.delivery_window_start,
                                  window_end=customer.delivery_window_end)
        if args.date is None:
            self.state = self.state.model_copy(update={
                "reschedule_offer": RescheduleOffer(order_id=order.id, days=days)})
            return result
        if args.date == current:
            return result.model_copy(update={"outcome": "unchanged", "new_date": current})
        if args.date not in days:
            raise ToolError("day_unavailable", f"{args.date} is not a day the route planner can "
                                               "still meet; offer the windows first")
        self.reschedule = RescheduleDelivery(
            idempotency_key=f"wa-reschedule:{order.id}:{self.message_id}", issued_at=self.now,
            caused_by=f"whatsapp:{self.message_id}", sales_order_id=order.id,
            customer_id=customer.customer_id, delivery_date=args.date)
        self.state = self.state.model_copy(update={"reschedule_offer": None})
        return result.model_copy(update={"outcome": "rescheduled", "new_date": args.date})

    async def _nearest_branch(self, args: NearestBranchArgs) -> NearestBranchResult:
        found = nearest_branch(args.latitude, args.longitude, await self.reader.branches())
        if found is None:
            raise ToolError("no_branch", "no branch is known")
        return found

    async def _faq(self, args: FaqArgs) -> FaqResult:
        return FaqResult(topic=args.topic, answer=faq_answer(args.topic))

    async def _handoff_to_human(self, args: HandoffArgs) -> HandoffResult:
        self.state = self.state.model_copy(update={
            "handoff": True, "handoff_reason": args.reason, "handoff_at": self.now})
        return HandoffResult(reason=args.reason)

    # ------------------------------------------------------------------ helpers
    async def _product(self, product_id: int) -> tuple[Product, Brand]:
        found = await self.reader.products([product_id])
        if not found or not found[0][0].active:
            raise ToolError("unknown_product", f"product {product_id} does not exist")
        return found[0]

    def _branch_for(self, available: Mapping[int, int], qty: int) -> int | None:
        """The customer's home branch if it has `qty`, else the branch with the most units."""
        home = self.state.customer.home_warehouse_id if self.state.customer else None
        if home is not None and available.get(home, 0) >= qty:
            return home
        best = max(available.items(), key=lambda kv: (kv[1], kv[0] == home), default=None)
        return best[0] if best and best[1] > 0 else None

    async def _options(self, rows: Sequence[tuple[Product, Brand]], qty: int
                       ) -> list[TireOption]:
        if not rows:
            return []
        branches: dict[int, Warehouse] = {}
        by_product: dict[int, dict[int, int]] = {}
        for s, warehouse in await self.reader.branch_stock([p.id for p, _ in rows]):
            branches[warehouse.id] = warehouse
            by_product.setdefault(s.product_id, {})[s.warehouse_id] = _available(s)
        tier = self.state.tier
        candidates = []
        for product, brand in rows:
            available = by_product.get(product.id, {})
            warehouse_id = self._branch_for(available, qty)
            if warehouse_id is None or available[warehouse_id] < qty:
                continue
            price = unit_price(product.list_price, tier)
            candidates.append(TireOption(
                product_id=product.id, sku=product.sku, brand=brand.name, brand_tier=brand.tier,
                model=product.model, tire_size=product.tire_size, load_index=product.load_index,
                speed_index=product.speed_index, list_price=product.list_price,
                discount_pct=discount_pct(tier), price=price, qty=qty,
                total=line_total(price, qty), warehouse_id=warehouse_id,
                branch=branches[warehouse_id].name, stock_at_branch=available[warehouse_id],
                stock_total=sum(available.values())))
        return pick_options(candidates, {p.id: p.abc_class for p, _ in rows})

    def _remember_search(self, args: SearchTiresArgs, sizes: list[TireSize],
                         vehicle: Vehicle | None) -> None:
        budget = args.max_price_per_tire
        self.state = self.state.model_copy(update={"search": SearchContext(
            size=sizes[0] if len(sizes) == 1 else None, vehicle=vehicle, brand=args.brand,
            qty=args.qty, budget_per_tire=budget)})


def _available(stock: Stock) -> int:
    return max(0, stock.on_hand - stock.reserved)


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                     for e in exc.errors()[:3])
