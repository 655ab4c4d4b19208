"""Graph API request bodies for text, template (es_MX), interactive reply-button and list messages.

Pure functions; they enforce the Cloud API limits so a bad message fails here with a reason
instead of at Meta.
"""

from __future__ import annotations

from typing import Any

from schemas.commands import Button, OutboundMessage
from schemas.message_parts import InteractiveList

TEMPLATE_LANGUAGE = "es_MX"
MAX_TEXT = 4096
MAX_BUTTON_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10


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


def list_body(to: str, text: str, listing: InteractiveList) -> dict[str, Any]:
    """An interactive list (the model checks each field's length; the row count and ids here)."""
    rows = [row for section in listing.sections for row in section.rows]
    if len(rows) > MAX_LIST_ROWS:
        raise InvalidMessage(f"a list has at most {MAX_LIST_ROWS} rows, got {len(rows)}")
    if len({row.id for row in rows}) != len(rows):
        raise InvalidMessage("list row ids must be unique")
    if not text or len(text) > MAX_BUTTON_BODY:
        raise InvalidMessage(f"list message body must have 1..{MAX_BUTTON_BODY} characters")
    return {**_envelope(to, "interactive"), "interactive": {
        "type": "list", "body": {"text": text},
        "action": {"button": listing.button, "sections": [
            {"title": section.title, "rows": [row.model_dump(exclude_none=True)
                                              for row in section.rows]}
            for section in listing.sections]}}}


def free_form_body(msg: OutboundMessage) -> dict[str, Any]:
    """Text, text with reply buttons, or a list; only allowed inside the customer's 24-hour
    window. A message that answers one (`reply_to`) quotes it (`context.message_id`)."""
    if msg.text is None:
        raise InvalidMessage("no text for a free-form message")
    if msg.interactive_list is not None:
        body = list_body(msg.to, msg.text, msg.interactive_list)
    elif msg.buttons:
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
