"""WhatsApp request bodies, the 24-hour window and error classification (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.commands import Button, OutboundMessage
from sinks.whatsapp.errors import WhatsAppApiError
from sinks.whatsapp.payloads import (
    InvalidMessage,
    buttons_body,
    fallback_template_body,
    free_form_body,
    template_body,
    text_body,
)
from sinks.whatsapp.window import MappingCustomerWindow, window_open

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _msg(**kw: object) -> OutboundMessage:
    return OutboundMessage(idempotency_key="k", to="5215512345678", issued_at=NOW, **kw)


def test_text_body_has_the_graph_api_shape() -> None:
    body = text_body("5215512345678", "Hola")
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": "5215512345678", "type": "text",
                    "text": {"preview_url": False, "body": "Hola"}}
    with pytest.raises(InvalidMessage):
        text_body("5215512345678", "x" * 4097)


def test_template_body_is_es_mx_with_body_parameters() -> None:
    body = template_body("5215512345678", "pedido_confirmado", ["Ana", "1000123"])
    assert body["template"] == {
        "name": "pedido_confirmado", "language": {"code": "es_MX"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Ana"}, {"type": "text", "text": "1000123"}]}]}
    assert "components" not in template_body("1", "hola", [])["template"]


def test_reply_buttons_respect_the_limits() -> None:
    buttons = [Button(id="si", title="Sí, reservar"), Button(id="no", title="No, gracias")]
    body = buttons_body("5215512345678", "¿Reservamos?", buttons)
    assert body["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in body["interactive"]["action"]["buttons"]] == ["si", "no"]
    with pytest.raises(InvalidMessage, match="unique"):
        buttons_body("1", "x", [Button(id="a", title="A"), Button(id="a", title="B")])
    with pytest.raises(InvalidMessage, match="1..3"):
        buttons_body("1", "x", [Button(id=str(i), title="t") for i in range(4)])
    with pytest.raises(InvalidMessage, match="1..3"):
        buttons_body("1", "x", [])


def test_free_form_and_fallback_choice() -> None:
    assert free_form_body(_msg(text="hola"))["type"] == "text"
    assert free_form_body(_msg(text="hola", buttons=[Button(id="a", title="A")]))["type"] == (
        "interactive")
    assert fallback_template_body(_msg(text="hola", template="t"))["type"] == "template"
    assert "context" not in free_form_body(_msg(text="hola"))
    quoted = free_form_body(_msg(text="hola", reply_to="wamid.in-1"))
    assert quoted["context"] == {"message_id": "wamid.in-1"}
    with pytest.raises(InvalidMessage, match="no template"):
        fallback_template_body(_msg(text="hola"))


def test_window_is_open_for_24_hours_after_the_last_inbound() -> None:
    assert not window_open(None, NOW)
    assert window_open(NOW - timedelta(hours=23, minutes=59), NOW)
    assert not window_open(NOW - timedelta(hours=24), NOW)


def test_mapping_window_keeps_the_latest_inbound() -> None:
    table: dict[str, float] = {}
    window = MappingCustomerWindow(table)
    window.record_inbound("521", NOW)
    window.record_inbound("521", NOW - timedelta(hours=2))  # arrives late, older
    assert window.last_inbound("521") == NOW
    assert window.last_inbound("999") is None
    assert table == {"521": NOW.timestamp()}


@pytest.mark.parametrize(("status", "code", "retryable", "reengagement"), [
    (429, 130429, True, False), (400, 130429, True, False), (400, 131056, True, False),
    (500, 131000, True, False), (503, None, True, False), (400, 131047, False, True),
    (400, 100, False, False), (401, 190, False, False)])
def test_error_classification(status: int, code: int | None, retryable: bool,
                              reengagement: bool) -> None:
    payload = {"error": {"message": "m", "type": "OAuthException", "code": code,
                         "error_data": {"details": "d"}, "fbtrace_id": "A1"}}
    error = WhatsAppApiError.from_response(status, payload, "2")
    assert (error.retryable, error.reengagement) == (retryable, reengagement)
    assert error.retry_after_s == 2.0
    assert "d" in error.describe()


def test_error_from_a_non_json_answer() -> None:
    error = WhatsAppApiError.from_response(502, None, None)
    assert error.retryable and error.code is None and error.retry_after_s is None
