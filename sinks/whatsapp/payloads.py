"""Graph API request bodies for text, template (es_MX) and interactive reply-button messages.

Pure functions; they enforce the Cloud API limits so a bad message fails here with a reason
instead of at Meta.
"""

from __future__ import annotations

from typing import Any

from schemas.commands import Button, OutboundMessage

TEMPLATE_LANGUAGE = "es_MX"
MAX_TEXT = 4096
MAX_BUTTON_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20


class InvalidMessage(ValueError):
    """The message cannot be expressed as a Cloud API request."""


def _envelope(to: str, kind: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind}


def text_body(to: str, text: str) -> dict[str, Any]:
    if not text or len(text) > MAX_TEXT:
        raise InvalidMessage(f"text must have 1..{MAX_TEXT} characters, has {len(text)}")
    return {**_envelope(to, "text"), "text": {"preview_url": False, "body": text}}


def template_body(to: str, name: str, params: list[str],
                  language: str = TEMPLATE_LANGUAGE) -> dict[str, Any]:
    if not name:
        raise InvalidMessage("template name is empty")
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        template["components"] = [{"type": "body", "parameters": [
            {"type": "text", "text": p} for p in params]}]
    return {**_envelope(to, "template"), "template": template}


def buttons_body(to: str, text: str, buttons: list[Button]) -> dict[str, Any]:
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise InvalidMessage(f"reply buttons must be 1..{MAX_BUTTONS}, got {len(buttons)}")
    if not text or len(text) > MAX_BUTTON_BODY:
        raise InvalidMessage(f"button message body must have 1..{MAX_BUTTON_BODY} characters")
    if len({b.id for b in buttons}) != len(buttons):
        raise InvalidMessage("reply button ids must be unique")
    long = [b.title for b in buttons if len(b.title) > MAX_BUTTON_TITLE]
    if long:
        raise InvalidMessage(f"button titles longer than {MAX_BUTTON_TITLE} characters: {long}")
    return {**_envelope(to, "interactive"), "interactive": {
        "type": "button", "body": {"text": text},
        "action": {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title}}
                               for b in buttons]}}}


def free_form_body(msg: OutboundMessage) -> dict[str, Any]:
    """Text, or text with reply buttons; only allowed inside the customer's 24-hour window.
    A message that answers one (`reply_to`) quotes it (`context.message_id`)."""
    if msg.text is None:
        raise InvalidMessage("no text for a free-form message")
    if msg.buttons:
        body = buttons_body(msg.to, msg.text, msg.buttons)
    else:
        body = text_body(msg.to, msg.text)
    if msg.reply_to:
        body["context"] = {"message_id": msg.reply_to}
    return body


def fallback_template_body(msg: OutboundMessage) -> dict[str, Any]:
    if msg.template is None:
        raise InvalidMessage("no template, needed outside the 24-hour window or without text")
    return template_body(msg.to, msg.template, msg.template_params)
