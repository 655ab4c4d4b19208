"""Webhook signature, notification parsing and the redelivery cache (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sources.whatsapp_webhook.dedupe import RecentIds
from sources.whatsapp_webhook.notifications import InvalidNotification, parse_notification
from sources.whatsapp_webhook.signature import sign, signature_valid

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = b"app-secret"


def _notification(value: dict) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"a": 1}'
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_valid(SECRET, body, header)
    assert not signature_valid(SECRET, body + b" ", header)
    assert not signature_valid(b"other", body, header)
    assert not signature_valid(SECRET, body, None)
    assert not signature_valid(SECRET, body, "sha256=")


def test_text_button_and_interactive_messages() -> None:
    value = {
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5215511111111"}],
        "messages": [
            {"from": "5215511111111", "id": "wamid.1", "timestamp": "1740830400",
             "type": "text", "text": {"body": "¿Tienen 205/55R16?"}},
            {"from": "5215511111111", "id": "wamid.2", "timestamp": "1740830401",
             "type": "interactive",
             "interactive": {"type": "button_reply",
                             "button_reply": {"id": "reservar", "title": "Reservar"}}},
            {"from": "5215511111111", "id": "wamid.3", "timestamp": "1740830402",
             "type": "button", "button": {"payload": "si", "text": "Sí"}},
            {"from": "5215511111111", "id": "wamid.4", "timestamp": "1740830403",
             "type": "image", "image": {"id": "img"}},
        ]}
    parsed = parse_notification(_notification(value), NOW)
    text, interactive, button, image = parsed.messages
    assert (text.kind, text.text, text.contact_name) == ("text", "¿Tienen 205/55R16?", "Ana")
    assert text.sent_at == datetime.fromtimestamp(1740830400, UTC)
    assert (interactive.kind, interactive.button_id, interactive.button_title) == (
        "interactive", "reservar", "Reservar")
    assert (button.kind, button.button_id, button.text) == ("button", "si", "Sí")
    assert image.kind == "image" and image.media is not None and image.media.id == "img"
    assert not parsed.rejects


def test_statuses_and_rejects() -> None:
    value = {"statuses": [
        {"id": "wamid.9", "status": "delivered", "timestamp": "1740830400",
         "recipient_id": "5215511111111"},
        {"id": "wamid.9", "status": "failed", "timestamp": "1740830401",
         "recipient_id": "5215511111111", "errors": [{"code": 131047, "title": "Re-engagement"}]},
        {"id": "wamid.9", "status": "teleported", "timestamp": "1", "recipient_id": "1"},
        {"status": "read"},
    ]}
    parsed = parse_notification(_notification(value), NOW)
    assert [s.status for s in parsed.statuses] == ["delivered", "failed"]
    assert parsed.statuses[1].error_code == 131047
    assert [r[2] for r in parsed.rejects] == ["ValueError: unknown status 'teleported'",
                                             "missing field 'id'"]


@pytest.mark.parametrize("payload", [[], {"object": "x"}, {"entry": [{"changes": "no"}]},
                                     {"entry": [{"changes": [{"value": 3}]}]}])
def test_not_a_notification(payload: object) -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(payload, NOW)


def test_recent_ids_are_bounded_and_expire() -> None:
    now = [0.0]
    recent = RecentIds(ttl_s=10, max_size=2, clock=lambda: now[0])
    assert recent.add("a") and not recent.add("a")
    assert recent.add("b") and recent.add("c")
    assert len(recent) == 2 and recent.add("a")  # "a" was evicted by size
    now[0] = 11.0
    assert recent.add("b")  # expired
    recent.forget("b")
    assert recent.add("b")
