"""Buyer messages: alert text and buttons, reply parsing, PO drafts, consolidation, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from processors.inventory.alerts import decide
from processors.inventory.buyer_digest import morning_digest
from processors.inventory.buyer_intents import (
    AdjustQuantity,
    AdjustRequest,
    Approve,
    ApproveAll,
    BuyerIntent,
    CancelAdjust,
    Snooze,
    Unrecognized,
    parse_buyer_reply,
)
from processors.inventory.buyer_labels import ProductLabel
from processors.inventory.buyer_messages import (
    NOT_A_BUYER_TEXT,
    BuyerResponse,
    alert_message,
    awaits_feed,
    respond,
)
from processors.inventory.buyer_orders import consolidate
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PriceBreak,
    SupplyTerms,
    evaluate_policy,
)
from schemas.alerts import StockAlert
from schemas.erp import Brand, Buyer, Product
from schemas.events import InventoryPosition
from schemas.whatsapp import InboundMessage

T0 = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)  # 08:00 in Mexico City
CONFIG = InventoryConfig()
DEMAND = DemandStats(mean=10.0, std=3.0, observed_days=90, days_since_last_sale=0)
MICHELIN = SupplyTerms(supplier_id=1, unit_cost=1850.0, lead_time_days=4.0, pack_multiple=4,
                       min_order_qty=8, price_breaks=(PriceBreak(150, 1776.0),))
PIRELLI = SupplyTerms(supplier_id=4, unit_cost=2100.0, lead_time_days=4.0, pack_multiple=4,
                      min_order_qty=8)
LABELS = {
    101: ProductLabel(101, "MIC-2055516-0100S", "Michelin", "Primacy 4", "205/55R16", buyer_id=1),
    102: ProductLabel(102, "MIC-1956515-0100S", "Michelin", "Energy XM2+", "195/65R15",
                      buyer_id=1),
    201: ProductLabel(201, "PIR-2254518-0103S", "Pirelli", "P7 <Cinturato>", "225/45R18",
                      buyer_id=2),
}
SUPPLIERS = {1: "Michelin México", 4: "Pirelli Neumáticos"}
MARIANA = Buyer(id=1, name="Mariana Treviño", phone="5218110000001",
                email="mariana.trevino@topllantas.mx")
OSCAR = Buyer(id=2, name="Óscar Villarreal", phone="5218110000002",
              email="oscar.villarreal@topllantas.mx")


def make_alert(product_id: int, on_hand: int, terms: SupplyTerms = MICHELIN,
               warehouse_id: int = 1) -> StockAlert:
    position = InventoryPosition(product_id=product_id, warehouse_id=warehouse_id,
                                 on_hand=on_hand)
    result = evaluate_policy(DEMAND, terms, "A", position, CONFIG)
    _, alert = decide(None, position, result, T0, CONFIG)
    assert alert is not None
    return alert


def inbound(text: str | None = None, button: str | None = None,
            phone: str = MARIANA.phone) -> InboundMessage:
    return InboundMessage(message_id="wamid.1", from_phone=phone,
                          kind="button" if button else "text", text=text, button_id=button,
                          sent_at=T0, received_at=T0)


def answer(intent: BuyerIntent, alerts: list[StockAlert], buyer: Buyer | None = MARIANA,
           message_id: str = "wamid.1") -> BuyerResponse:
    return respond(intent, phone=buyer.phone if buyer else "5215550000000", buyer=buyer,
                   open_alerts={a.alert_id: a for a in alerts}, labels=LABELS,
                   supplier_names=SUPPLIERS, now=T0, message_id=message_id)


def test_alert_message_says_what_why_and_offers_buttons() -> None:
    alert = make_alert(101, 48)
    message = alert_message(alert, LABELS[101], "Michelin México", MARIANA.phone, "Monterrey")
    text = message.text or ""
    for expected in ("ALTO", "MIC-2055516-0100S", "Michelin Primacy 4 205/55R16", "Monterrey",
                     "48 disp.", "cobertura 4.8 días", "152 pzas a Michelin México",
                     "$1,776.00 c/u", "Precio por volumen desde 150 pzas", "punto de reorden"):
        assert expected in text, expected
    assert [(b.id, b.title) for b in message.buttons] == [
        (f"approve:{alert.alert_id}", "Aprobar"), (f"snooze:{alert.alert_id}", "Posponer"),
        (f"adjust:{alert.alert_id}", "Ajustar")]
    assert message.idempotency_key == f"alert:{alert.event_id}:{MARIANA.phone}"
    assert message.template == "alerta_inventario" and len(text) <= 1024


def test_product_label_from_erp_rows() -> None:
    product = Product(id=101, sku="MIC-2055516-0100S", brand_id=1, category_id=1, supplier_id=1,
                      model="Primacy 4", width=205, aspect_ratio=55, rim=16,
                      tire_size="205/55R16", load_index=91, speed_index="V",
                      cost=Decimal("1850.00"), list_price=Decimal("2599.00"),
                      weight_kg=Decimal("9.1"))
    brand = Brand(id=1, name="Michelin", tier="premium", buyer_id=1)
    assert ProductLabel.from_rows(product, brand) == LABELS[101]


def test_parse_buttons() -> None:
    assert parse_buyer_reply(inbound(button="approve:stk-101-1-1-alto")) == Approve(
        "stk-101-1-1-alto")
    assert parse_buyer_reply(inbound(button="snooze:stk-101-1-1-alto")) == Snooze(
        "stk-101-1-1-alto")
    assert parse_buyer_reply(inbound(button="adjust:stk-101-1-1-alto")) == AdjustRequest(
        "stk-101-1-1-alto")
    assert parse_buyer_reply(inbound(button="approve_all")) == ApproveAll()


def test_parse_consolidation_commands() -> None:
    assert parse_buyer_reply(inbound("Aprobar todo Michelin")) == ApproveAll(brand="Michelin")
    assert parse_buyer_reply(inbound("aprueba todos los de Michelin.")) == ApproveAll(
        brand="Michelin")
    assert parse_buyer_reply(inbound("APROBAR TODO")) == ApproveAll()
    assert parse_buyer_reply(inbound("Aprobar todo Importadora Asia")) == ApproveAll(
        brand="Importadora Asia")


def test_parse_adjust_quantity_only_after_ajustar() -> None:
    pending = "stk-101-1-1-alto"
    assert parse_buyer_reply(inbound("24"), pending) == AdjustQuantity(pending, 24)
    assert parse_buyer_reply(inbound("pide 24"), pending) == AdjustQuantity(pending, 24)
    assert parse_buyer_reply(inbound("mejor 24 piezas"), pending) == AdjustQuantity(pending, 24)
    assert parse_buyer_reply(inbound("cancelar"), pending) == CancelAdjust(pending)
    assert parse_buyer_reply(inbound("24")) == Unrecognized("24")
    assert parse_buyer_reply(inbound("hola, ¿cuánto cuesta la 205/55R16?"), pending) == (
        Unrecognized("hola, ¿cuánto cuesta la 205/55R16?"))


def test_approve_adds_one_line_to_the_days_draft_with_a_stable_key() -> None:
    alert = make_alert(101, 48)
    first = answer(Approve(alert.alert_id), [alert], message_id="wamid.A")
    second = answer(Approve(alert.alert_id), [alert], message_id="wamid.B")
    (command,) = first.commands
    assert command.idempotency_key == f"pol:{alert.alert_id}"
    assert command.order_key == "po:1:1:2026-05-04"  # the Mexico City day of the tap
    assert second.commands[0].idempotency_key == command.idempotency_key
    assert command.supplier_id == 1 and command.warehouse_id == 1
    assert command.line.qty == alert.proposed_qty
    assert command.expected_at == date(2026, 5, 8)
    assert command.requested_by == "comprador:1" and command.caused_by == alert.alert_id
    assert first.approved_alert_ids == (alert.alert_id,)
    assert (first.reply.text or "").startswith("✅ Agregué Michelin Primacy 4 205/55R16")
    assert "pedido borrador po:1:1:2026-05-04 de Michelin México" in (first.reply.text or "")
    (draft,) = first.drafts
    assert draft.key == command.order_key and [line.alert_id for line in draft.lines] == [
        alert.alert_id]
    assert first.reply.idempotency_key == "buyer-reply:wamid.A"
    assert first.reply.reply_to == "wamid.A"  # quotes the tap it answers


def test_a_c_item_kept_off_the_phone_joins_its_suppliers_next_order() -> None:
    """Triage routed 102 (Michelin, branch 1) to its supplier's next proposal; approving 101 of
    the same supplier and branch adds 102's line to that order; another branch's waits."""
    alert = make_alert(101, 48)
    deferred = make_alert(102, 5).model_copy(update={"route": "proposal_line"})
    elsewhere = make_alert(102, 5, warehouse_id=2).model_copy(update={"route": "proposal_line"})
    done = answer(Approve(alert.alert_id), [alert, deferred, elsewhere])
    assert [c.idempotency_key for c in done.commands] == [f"pol:{alert.alert_id}",
                                                          f"pol:{deferred.alert_id}"]
    assert {c.order_key for c in done.commands} == {"po:1:1:2026-05-04"}
    assert done.approved_alert_ids == (alert.alert_id, deferred.alert_id)
    (draft,) = done.drafts
    assert [line.alert_id for line in draft.lines] == [alert.alert_id, deferred.alert_id]
    assert "MIC-1956515-0100S" in (done.reply.text or "")
    plain = answer(Approve(alert.alert_id), [alert, make_alert(102, 5)])
    assert len(plain.commands) == 1  # a critical message of its own is not swept in


def test_adjust_flow_rounds_to_pack_and_keeps_the_line_key() -> None:
    alert = make_alert(101, 48)
    asked = answer(AdjustRequest(alert.alert_id), [alert])
    assert asked.pending_adjust == alert.alert_id and asked.commands == ()
    assert "¿Cuántas piezas" in (asked.reply.text or "")
    intent = parse_buyer_reply(inbound("pide 22"), asked.pending_adjust)
    done = answer(intent, [alert])
    (command,) = done.commands
    assert command.line.qty == 24 and str(command.line.unit_cost) == "1850.00"
    assert command.idempotency_key == f"pol:{alert.alert_id}"
    assert "redondeé a 24" in (done.reply.text or "") and done.pending_adjust is None
    big = answer(AdjustQuantity(alert.alert_id, 150), [alert])
    assert str(big.commands[0].line.unit_cost) == "1776.00"  # the 150-unit break
    zero = answer(AdjustQuantity(alert.alert_id, 0), [alert])
    assert zero.commands == () and zero.pending_adjust == alert.alert_id


def test_snooze_reply_and_request() -> None:
    alert = make_alert(101, 48)
    response = answer(Snooze(alert.alert_id), [alert])
    (request,) = response.snoozes
    assert request.until == T0 + timedelta(hours=24)
    assert (request.product_id, request.warehouse_id) == (101, 1)
    assert "05/05 a las 08:00" in (response.reply.text or "") and response.commands == ()


def test_approve_all_michelin_joins_the_days_draft_per_supplier_and_warehouse() -> None:
    alerts = [make_alert(101, 48), make_alert(102, 45), make_alert(101, 40, warehouse_id=2),
              make_alert(201, 30, PIRELLI)]
    response = answer(parse_buyer_reply(inbound("Aprobar todo Michelin")), alerts)
    assert len(response.commands) == 3  # one line per Michelin alert
    orders = {c.order_key: [] for c in response.commands}
    for command in response.commands:
        orders[command.order_key].append(command.line.product_id)
    assert orders == {"po:1:1:2026-05-04": [101, 102], "po:1:2:2026-05-04": [101]}
    assert {c.idempotency_key for c in response.commands} == {
        f"pol:{a.alert_id}" for a in alerts[:3]}
    assert sorted(d.key for d in response.drafts) == sorted(orders)
    assert response.approved_alert_ids == tuple(sorted(a.alert_id for a in alerts[:3]))
    assert "Michelin México" in (response.reply.text or "")
    # Pirelli belongs to another buyer: never part of Mariana's "todo"
    everything = answer(ApproveAll(), alerts)
    assert all(c.supplier_id == 1 for c in everything.commands)


def test_consolidate_groups_per_supplier_and_warehouse_whatever_the_order() -> None:
    alerts = [make_alert(101, 48), make_alert(102, 45)]
    forward = consolidate(alerts)
    backward = consolidate(list(reversed(alerts)))
    assert forward == backward and len(forward) == 1
    assert forward[0].total_cost == sum((a.total_cost for a in alerts), Decimal("0.00"))


def test_refusals_are_polite_and_create_nothing() -> None:
    alert = make_alert(101, 48)
    stranger = answer(Approve(alert.alert_id), [alert], buyer=None)
    assert stranger.reply.text == NOT_A_BUYER_TEXT and stranger.commands == ()
    unknown = answer(Approve("stk-999-1-4-alto"), [alert])
    assert unknown.commands == () and "stk-999-1-4-alto" in (unknown.reply.text or "")
    assert "No encontré" in (unknown.reply.text or "")
    other = answer(Approve(alert.alert_id), [alert], buyer=OSCAR)
    assert other.commands == () and "otro comprador" in (other.reply.text or "")
    nothing = answer(ApproveAll(brand="Bridgestone"), [alert])
    assert nothing.commands == () and "Bridgestone" in (nothing.reply.text or "")
    confused = answer(Unrecognized("¿qué onda?"), [alert])
    assert confused.commands == () and "Aprobar todo" in (confused.reply.text or "")


def test_only_taps_on_alerts_not_read_yet_await_the_feed() -> None:
    alert = make_alert(101, 48)
    known = {alert.alert_id: alert}
    for tap in (Approve, Snooze, AdjustRequest):
        assert awaits_feed(tap("stk-101-1-9-critico"), known)
        assert not awaits_feed(tap(alert.alert_id), known)
    for other in (ApproveAll(), ApproveAll(brand="Michelin"), Unrecognized("hola"),
                  AdjustQuantity(alert.alert_id, 24), CancelAdjust(alert.alert_id)):
        assert not awaits_feed(other, {})


def test_morning_digest_whatsapp_and_email() -> None:
    alerts = [make_alert(101, 48), make_alert(102, 35), make_alert(201, 30, PIRELLI)]
    whatsapp, email = morning_digest(alerts, buyer=MARIANA, labels=LABELS,
                                     supplier_names=SUPPLIERS, now=T0)
    text = whatsapp.text or ""
    assert "04/05/2026" in text and "1 crítico" in text and "1 alto" in text
    assert "MIC-2055516-0100S" in text and "PIR-2254518-0103S" not in text
    assert "Michelin México: 2 productos" in text
    assert [b.id for b in whatsapp.buttons] == ["approve_all"]
    assert whatsapp.idempotency_key == "digest:1:2026-05-04:whatsapp"
    assert email.channel == "email" and email.to == MARIANA.email
    html = email.html or ""
    assert html.count("<tr>") == 3 and "MIC-1956515-0100S" in html
    assert "Buenos días, Mariana Treviño." in html
    pirelli, _ = morning_digest(alerts, buyer=OSCAR, labels=LABELS, supplier_names=SUPPLIERS,
                                now=T0)
    _, oscar_email = morning_digest(alerts, buyer=OSCAR, labels=LABELS,
                                    supplier_names=SUPPLIERS, now=T0)
    assert "PIR-2254518-0103S" in (pirelli.text or "")
    assert "P7 &lt;Cinturato&gt;" in (oscar_email.html or "")
