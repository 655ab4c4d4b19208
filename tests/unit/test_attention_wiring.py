"""What the attention budget's wiring adds to the pure pieces: go-live, state epochs, replayed
events, triage on the decided alert, and the messages as the WhatsApp double accepts them."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime, timedelta

from ops.doubles.whatsapp_rules import check_body
from processors.forecasting.classify import SeriesClass
from processors.inventory.attention import (
    AttentionConfig,
    BuyerAttention,
    Item,
    SendKind,
    new_state,
    next_wakeup,
    on_initial,
    on_item,
    tick,
)
from processors.inventory.attention_messages import (
    golive_messages,
    list_entries,
    list_message,
    opener_message,
)
from processors.inventory.buyer_labels import ProductLabel
from processors.inventory.evaluation import AlertInputs, pattern_of, triaged
from processors.inventory.triage import Segment
from schemas.alerts import AlertLevel
from schemas.erp import Buyer
from sinks.whatsapp.payloads import fallback_template_body, free_form_body
from tests.unit.test_buyer_go_live import ALERTS, SUPPLIERS, alert

CONFIG = AttentionConfig()
NOON = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City
PHONE = "5218110000001"
BUYER = Buyer(id=1, name="Mariana Treviño", phone=PHONE, email="mariana@topllantas.mx")
LABELS = {a.product_id: ProductLabel(a.product_id, f"SKU-{a.product_id}", "Michelin",
                                     "Primacy 4", "205/55R16", 1) for a in ALERTS}


def opened(now: datetime = NOON) -> BuyerAttention:
    state = new_state(PHONE, now - timedelta(hours=1), CONFIG)
    return BuyerAttention.from_dict({**state.to_dict(),
                                     "li": (now - timedelta(hours=1)).isoformat()})


def test_go_live_is_one_send_once_quiet_and_opens_no_window() -> None:
    state = on_initial(opened(), NOON)
    state = on_initial(state, NOON + timedelta(seconds=4))
    assert next_wakeup(state, NOON, CONFIG) == NOON + timedelta(seconds=14)
    state, early = tick(state, NOON + timedelta(seconds=9), CONFIG)
    assert early == []
    state, sends = tick(state, NOON + timedelta(seconds=14), CONFIG)
    assert [s.kind for s in sends] == [SendKind.GOLIVE] and state.golive_at is None
    state, first = on_item(state, Item("a1", 1, critical=True), NOON + timedelta(seconds=20),
                           CONFIG)
    assert [s.kind for s in first] == [SendKind.SINGLE]  # at once: go-live is no alert message


def test_a_new_state_has_new_keys_and_no_digest_at_once() -> None:
    one = new_state(PHONE, NOON, CONFIG)
    again = new_state(PHONE, NOON + timedelta(hours=1), CONFIG)
    _, sends_one = tick(on_initial(one, NOON), NOON + timedelta(minutes=1), CONFIG)
    _, sends_again = tick(on_initial(again, NOON), NOON + timedelta(hours=2), CONFIG)
    assert [s.kind for s in sends_one] == [SendKind.GOLIVE]  # no digest at 12:00
    assert sends_one[0].key != sends_again[0].key  # a state begun again never reuses keys


def test_an_alert_event_read_again_is_decided_once() -> None:
    state, first = on_item(opened(), Item("a1", 1, True), NOON, CONFIG, event_id="e1")
    state, again = on_item(state, Item("a1", 1, True), NOON + timedelta(minutes=20), CONFIG,
                           event_id="e1")
    assert len(first) == 1 and again == []


def test_triage_routes_an_out_of_stock_sporadic_c_item_to_its_supplier_proposal() -> None:
    out = alert(1, AlertLevel.CRITICO)
    today = out.at.date()
    sporadic = AlertInputs(1, 1, 0, days={today.toordinal() - k: 1
                                          for k in (3, 17, 29, 44, 58, 71)})
    steady = AlertInputs(1, 1, 0, days={today.toordinal() - k: 10 for k in range(1, 60)})
    intermittent, smooth = pattern_of(sporadic, today), pattern_of(steady, today)
    assert (intermittent, smooth) == (SeriesClass.INTERMITTENT, SeriesClass.SMOOTH)
    c_sporadic = triaged(out, Segment("C", intermittent))
    assert (c_sporadic.route, c_sporadic.segment) == ("proposal_line", "C/intermittent")
    assert triaged(out, Segment("A", intermittent)).route == "critical"
    assert triaged(out, Segment("C", smooth)).segment == "C/smooth"
    assert triaged(alert(4, AlertLevel.ALTO), Segment("A", smooth)).route == "digest"


def test_a_gathered_list_is_a_list_message_the_double_accepts() -> None:
    many = [alert(n, AlertLevel.CRITICO, supplier=1 + n % 3) for n in range(30)]
    labels = {a.product_id: ProductLabel(a.product_id, f"SKU-{a.product_id}", "Michelin",
                                         "Primacy 4", "205/55R16", 1) for a in many}
    entries = list_entries(many, labels, SUPPLIERS, {1: "Centro"})
    message = list_message(entries, to=PHONE, key="k", list_key="k", page=0, now=NOON)
    body = free_form_body(message)
    assert check_body(body) == (PHONE, "interactive")
    rows = [r for s in body["interactive"]["action"]["sections"] for r in s["rows"]]
    assert len(rows) == 10 and rows[-1]["id"] == "more:k:1"
    assert len(message.context["alert_ids"].split(",")) == 30
    assert check_body(fallback_template_body(message))[1] == "template"
    opener = opener_message(to=PHONE, key="o", waiting=3, now=NOON)
    assert check_body(fallback_template_body(opener))[1] == "template"


def test_go_live_messages_carry_the_summary_and_the_csv() -> None:
    whatsapp, email = golive_messages(ALERTS, buyer=BUYER, labels=LABELS,
                                      supplier_names=SUPPLIERS, branch_names={1: "Centro"},
                                      key="attention:x:1:golive", now=NOON)
    assert check_body(free_form_body(whatsapp))[1] == "interactive"
    assert [b.id for b in whatsapp.buttons][0] == "golive_supplier:6"
    (attachment,) = email.attachments
    rows = list(csv.DictReader(io.StringIO(
        base64.b64decode(attachment.content_b64).decode("utf-8-sig"))))
    assert len(rows) == 6 and email.to == BUYER.email  # every open alert
