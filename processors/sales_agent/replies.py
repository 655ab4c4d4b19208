"""Templated Spanish (es-MX) replies. Every price, stock figure and date comes from a tool result
of the current turn, so a templated reply always passes the grounding guard."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, Field

from processors.sales_agent import buttons, reschedule
from processors.sales_agent.delivery import MX, local_date
from processors.sales_agent.formatting import clock, long_date, money, relative_date, tires
from processors.sales_agent.pricing import TIER_LABEL
from processors.sales_agent.session import TurnSession
from processors.sales_agent.state import ConversationState, Quote
from processors.sales_agent.tool_results import (
    CreateQuoteResult,
    DeliverySlotResult,
    FaqResult,
    HandoffResult,
    OrderStatusResult,
    PriceResult,
    RescheduleResult,
    ReserveOrderResult,
    SearchTiresResult,
    StockByBranchResult,
)
from schemas.commands import Button

ASK_WHAT = ("¿Qué medida usas o para qué vehículo buscas llantas? Por ejemplo: 205/55R16 o "
            "Jetta 2020. La medida viene escrita en el costado de la llanta.")
HOURS = "lunes a sábado de 9:00 a 19:00"
_ORDER_STATUS = {"cotizacion": "en cotización", "reservado": "apartado",
                 "confirmado": "confirmado", "entregado": "entregado", "cancelado": "cancelado",
                 "devuelto": "devuelto"}
# Refusals the customer should read about; the others are the model's own mistakes.
CUSTOMER_FACING = {"customer_unknown", "order_not_found", "insufficient_stock", "no_stock",
                   "quote_expired"}
_DELIVERY_STATUS = {"pendiente": "pendiente de programar", "asignada": "programada",
                    "en_ruta": "en camino", "entregada": "entregada",
                    "fallida": "con un intento de entrega fallido"}


class Reply(BaseModel):
    text: str
    buttons: list[Button] = Field(default_factory=list, max_length=3)


# ---------------------------------------------------------------------- without tools
def greeting(state: ConversationState) -> Reply:
    return Reply(text=f"{hello(state)} Soy el asistente de TopLlantas: te ayudo a cotizar y "
                      f"apartar llantas, revisar tu pedido o resolver dudas. {ASK_WHAT}")


def hello(state: ConversationState) -> str:
    name = first_name(state)
    return f"¡Hola, {name}!" if name else "¡Hola!"


def first_name(state: ConversationState) -> str | None:
    customer = state.customer
    return customer.name.split()[0] if customer and customer.tier == "publico" else None


def ask_what() -> Reply:
    return Reply(text=ASK_WHAT)


def ask_order_number() -> Reply:
    return Reply(text="Claro, ¿me compartes tu número de pedido? Viene en tu ticket o en el "
                      "mensaje de confirmación.")


def choose_first(state: ConversationState) -> Reply:
    if not state.offered:
        return ask_what()
    return Reply(text=f"¿Cuál opción te interesa? Toca un botón o escribe el número "
                      f"(1 a {len(state.offered)}).",
                 buttons=[buttons.option_button(o.number, o.brand) for o in state.offered])


def stale_quote() -> Reply:
    return Reply(text="Esa cotización ya no es la vigente. ¿Te muestro las opciones "
                      "actualizadas?", buttons=[buttons.more_options_button(),
                                                buttons.human_button()])


def declined() -> Reply:
    return Reply(text="Sin problema. ¿Quieres ver otra medida u otra marca, o te ayudo con algo "
                      "más?")


def discount_policy(state: ConversationState) -> Reply:
    return Reply(text=f"Los precios que te doy ya incluyen el descuento que corresponde a tu "
                      f"tipo de cliente ({TIER_LABEL[state.tier]}) y no puedo aplicar descuentos "
                      f"adicionales por este medio. Para compras por volumen, un asesor puede "
                      f"revisarlo contigo.", buttons=[buttons.human_button()])


def thanks() -> Reply:
    return Reply(text="¡Con gusto! Aquí estoy si necesitas algo más.")


def not_understood() -> Reply:
    return Reply(text="Perdón, no te entendí. Puedo cotizar llantas (dime la medida o tu "
                      "vehículo), revisar tu pedido o resolver dudas de garantía, instalación, "
                      "pago o entrega.", buttons=[buttons.human_button()])


def handoff() -> Reply:
    return Reply(text=f"Te comunico con un asesor de TopLlantas; te escribirá por este medio en "
                      f"breve. Horario de atención: {HOURS}.")


_HANDOFF_FOR = {
    "invoice": "Con gusto. Paso tu solicitud de factura a nuestro equipo de facturación con los "
               "datos de esta conversación; te escribirá por aquí. Ten a la mano tu RFC, razón "
               "social, régimen fiscal, código postal y tu número de pedido o ticket.",
    "fleet": "¡Gracias por considerarnos! Para flotillas, talleres y compras por volumen un "
             "asesor de ventas empresariales revisa precios especiales contigo; ya le pasé "
             "esta conversación y te escribirá por aquí.",
    "reschedule": "Claro. Paso tu cambio de entrega a nuestro equipo de rutas con los datos de "
                  "tu pedido; te escribirán por aquí para confirmar el nuevo horario.",
}


def handoff_for(intent: str) -> Reply:
    """The customer's reply when a person takes over, said for what they asked."""
    text = _HANDOFF_FOR.get(intent)
    return Reply(text=f"{text} Horario de atención: {HOURS}.") if text else handoff()


def injection_refused() -> Reply:
    return Reply(text="Solo puedo ayudarte con llantas de TopLlantas: cotizar y apartar, revisar "
                      "tu pedido o resolver dudas. Los precios y descuentos son los del sistema "
                      "y no los puedo cambiar. ¿Qué medida o vehículo buscas?",
                 buttons=[buttons.human_button()])


# ---------------------------------------------------------------------- from tool results
def options(result: SearchTiresResult) -> Reply:
    if result.outcome == "vehicle_unknown":
        return Reply(text=f"No tengo registrada la medida de tu {result.vehicle}. ¿Me compartes "
                          f"la medida? Viene en el costado de la llanta, por ejemplo 205/55R16.")
    if result.outcome == "year_needed":
        return Reply(text=f"¿De qué año es tu {result.vehicle}? La medida cambia según el año "
                          f"({' o '.join(result.sizes)}).")
    sizes = " o ".join(result.sizes)
    brand = f" {result.brand}" if result.brand else ""
    if result.outcome == "no_stock":
        return Reply(text=f"Por ahora no tengo {sizes}{brand} con existencia para "
                          f"{tires(result.qty)} dentro de lo que buscas. ¿Busco otra marca o te "
                          f"comunico con un asesor para pedirlas?",
                     buttons=[buttons.human_button()])
    target = f"tu {result.vehicle} ({sizes})" if result.vehicle else sizes
    lines = [f"Para {target}{brand} tengo estas opciones:"]
    last = len(result.options)
    for number, option in enumerate(result.options, start=1):
        badge = "🏆 " if number == 1 and last > 1 else "💰 " if number == last > 1 else ""
        lines += ["", f"{number}. {badge}{option.brand} {option.model} ({option.tire_size})",
                  f"   {money(option.price)} c/u · Total {tires(option.qty)}: "
                  f"{money(option.total)}",
                  f"   Disponibles en {option.branch}: {option.stock_at_branch}"]
    lines.append("")
    if result.options[0].discount_pct:
        lines.append(f"Precios {TIER_LABEL[result.tier]} con {result.options[0].discount_pct:g} "
                     f"% de descuento ya aplicado.")
    lines.append(f"Instalación incluida. Precios válidos hasta el "
                 f"{long_date(result.valid_until)}.")
    lines.append("¿Cuál te interesa? Te la aparto sin costo.")
    return Reply(text="\n".join(lines), buttons=[
        buttons.option_button(n, o.brand) for n, o in enumerate(result.options, start=1)])


def quote(q: Quote) -> Reply:
    lines = [f"Tu cotización {q.quote_id}:",
             f"{q.qty} × {q.brand} {q.model} {q.tire_size}",
             f"{money(q.unit_price)} c/u · Total: {money(q.total)}",
             f"{q.branch} ({q.stock_at_branch} disponibles)",
             f"Válida hasta el {long_date(q.valid_until)}."]
    if q.stock_at_branch < q.qty:
        lines.append("No alcanza la existencia en esa sucursal; un asesor puede conseguirlas.")
        return Reply(text="\n".join(lines), buttons=[buttons.human_button(),
                                                     buttons.more_options_button()])
    lines += ["", "¿Te las aparto? Al confirmar quedan reservadas a tu nombre y pagas al "
                  "recogerlas o al recibirlas."]
    return Reply(text="\n".join(lines), buttons=[buttons.confirm_button(q.quote_id),
                                                 buttons.more_options_button(),
                                                 buttons.human_button()])


def reserved(result: ReserveOrderResult, state: ConversationState) -> Reply:
    q = result.quote
    if result.status == "already_reserved":
        return Reply(text=f"Tu pedido ya está apartado: {tires(q.qty)} {q.brand} {q.model} "
                          f"{q.tire_size} en {q.branch}, total {money(q.total)} (cotización "
                          f"{q.quote_id}). Te avisamos por aquí en cuanto quede confirmado.")
    name = first_name(state)
    how = ("Te avisamos por aquí el día y la hora de entrega." if result.needs_delivery else
           f"Puedes pasar a recogerlas con tu nombre ({HOURS}); la instalación va incluida.")
    return Reply(text=f"¡Listo{', ' + name if name else ''}! Aparté {tires(q.qty)} {q.brand} "
                      f"{q.model} {q.tire_size} en {q.branch}.\nTotal: {money(q.total)} "
                      f"(cotización {q.quote_id}, precio respetado hasta el "
                      f"{long_date(q.valid_until)}).\nSiguiente paso: en unos minutos te "
                      f"confirmamos aquí tu número de pedido. {how}")


def order_status(result: OrderStatusResult) -> Reply:
    status = _ORDER_STATUS.get(result.status, result.status)
    lines = [f"Tu pedido {result.order_id} está {status}."]
    if result.eta_start and result.eta_end and result.status not in ("entregado", "cancelado"):
        lines.append(f"Entrega estimada: {long_date(local_date(result.eta_start))}, entre "
                     f"{clock(_local_time(result.eta_start))} y "
                     f"{clock(_local_time(result.eta_end))}.")
    elif result.delivery_date and result.needs_delivery and result.status != "cancelado":
        lines.append(f"Fecha de entrega: {long_date(result.delivery_date)}.")
    if result.delivery_status:
        lines.append(f"Entrega: {_DELIVERY_STATUS.get(result.delivery_status, '')}.")
    if result.status == "entregado":
        lines.append("¡Gracias por tu compra!")
    return Reply(text=" ".join(lines))


def delivery_slot(result: DeliverySlotResult, today: date) -> Reply:
    when = relative_date(result.date, today)
    if result.mode == "pickup":
        where = f" en {result.branch}" if result.branch else " en tu sucursal"
        return Reply(text=f"Puedes recogerlas {when} a partir de las "
                          f"{clock(result.window_start)}{where}.")
    return Reply(text=f"Te las podemos llevar {when} entre {clock(result.window_start)} y "
                      f"{clock(result.window_end)}.")


def price(result: PriceResult) -> Reply:
    return Reply(text=f"{result.brand} {result.model} {result.tire_size}: "
                      f"{money(result.unit_price)} c/u; {tires(result.qty)}: "
                      f"{money(result.total)}.")


def stock(result: StockByBranchResult) -> Reply:
    rows = "; ".join(f"{b.branch}: {b.available} disponibles" for b in result.branches)
    return Reply(text=f"{result.brand} {result.model} {result.tire_size} — {rows}.")


def refusal(tool: str, code: str, order_id: int | None = None) -> Reply:
    """What the customer reads when a tool refused (codes from `session.ToolError`)."""
    if code == "customer_unknown" and tool == "order_status":
        return Reply(text="No encuentro pedidos ligados a este número de WhatsApp. ¿Quieres que "
                          "te comunique con un asesor?", buttons=[buttons.human_button()])
    if code == "customer_unknown":
        return Reply(text="Para apartar necesito registrarte como cliente; te comunico con un "
                          "asesor para terminar tu pedido.")
    if code == "order_not_found":
        number = f" {order_id}" if order_id else ""
        return Reply(text=f"No encuentro el pedido{number} ligado a este número de WhatsApp. "
                          f"Revisa el número o te comunico con un asesor.",
                     buttons=[buttons.human_button()])
    if code in ("insufficient_stock", "no_stock"):
        return Reply(text="Ya no me alcanza la existencia de esa llanta. ¿Te muestro otras "
                          "opciones?", buttons=[buttons.more_options_button(),
                                                buttons.human_button()])
    if code == "quote_expired":
        return Reply(text="Esa cotización ya venció. ¿Te muestro opciones con precios "
                          "actualizados?", buttons=[buttons.more_options_button()])
    return ask_what()


# ---------------------------------------------------------------------- the whole turn
def render_results(session: TurnSession) -> Reply | None:
    """The templated reply for what the tools of this turn returned (None if nothing did)."""
    state, today = session.state, local_date(session.now)
    main: Reply | None = None
    if session.last(HandoffResult) is not None:
        unknown = "customer_unknown" in session.errors("reserve_order")
        main = refusal("reserve_order", "customer_unknown") if unknown else handoff()
    elif (result := session.last(ReserveOrderResult)) is not None:
        main = reserved(result, state)
    elif codes := _facing(session.errors("reserve_order")):
        main = refusal("reserve_order", codes[-1])
    elif (result := session.last(CreateQuoteResult)) is not None:
        main = quote(result.quote)
    elif (result := session.last(RescheduleResult)) is not None:
        main = Reply(text=reschedule.reply_text(result, today),
                     buttons=reschedule.reply_buttons(result))
    elif (result := session.last(OrderStatusResult)) is not None:
        main = order_status(result)
    elif codes := _facing(session.errors("order_status")):
        ids = [r.arguments.get("order_id") for r in session.records if r.name == "order_status"]
        main = refusal("order_status", codes[-1], ids[-1] if ids else None)
    elif (result := session.last(SearchTiresResult)) is not None:
        main = options(result)
    elif (result := session.last(PriceResult)) is not None:
        main = price(result)
    elif (result := session.last(StockByBranchResult)) is not None:
        main = stock(result)
    extras = []
    slot = session.last(DeliverySlotResult)
    if slot is not None:
        extras.append(delivery_slot(slot, today).text)
    faq = session.last(FaqResult)
    if faq is not None:
        extras.append(faq.answer)
    if main is None and not extras:
        return None
    if main is None:
        return Reply(text="\n\n".join(extras))
    return Reply(text="\n\n".join([main.text, *extras]), buttons=main.buttons)


def _facing(codes: list[str]) -> list[str]:
    return [code for code in codes if code in CUSTOMER_FACING]


def _local_time(moment: datetime) -> time:
    return moment.astimezone(MX).time()
