"""Meta's webhook notification (`whatsapp_business_account`) to our `InboundMessage` and
`StatusUpdate` events. Pure; a payload that is not a notification raises `InvalidNotification`,
and single items that cannot be read, whatever is odd about them (a field of the wrong type, a
timestamp no date can hold), are returned as rejects (for the dead-letter topic), each item
validated alone so that the good ones of the same batch go through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.whatsapp import InboundMessage, StatusUpdate

STATUSES = ("sent", "delivered", "read", "failed")


class InvalidNotification(ValueError):
    """The body is JSON but not a WhatsApp webhook notification."""


@dataclass
class Notification:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    rejects: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    """(kind "message" or "status", the raw item, reason)"""


def parse_notification(payload: Any, received_at: datetime) -> Notification:
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise InvalidNotification("expected an object with an 'entry' list")
    out = Notification()
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise InvalidNotification("expected each entry to have a 'changes' list")
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise InvalidNotification("expected each change to have a 'value' object")
            names = _contact_names(value.get("contacts"))
            for item in _items(value, "messages"):
                try:
                    out.messages.append(_message(item, names, received_at))
                except Exception as exc:  # any odd item is this item's reject, not the batch's
                    out.rejects.append(("message", item, _reason(exc)))
            for item in _items(value, "statuses"):
                try:
                    out.statuses.append(_status(item))
                except Exception as exc:
                    out.rejects.append(("status", item, _reason(exc)))
    return out


def _items(value: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = value.get(name) or []
    if not isinstance(items, list):
        raise InvalidNotification(f"'{name}' must be a list")
    return [i if isinstance(i, dict) else {"raw": i} for i in items]


def _contact_names(contacts: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in contacts if isinstance(contacts, list) else []:
        if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
            names[str(contact.get("wa_id"))] = str(contact["profile"].get("name", ""))
    return names


def _at(timestamp: Any) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


def _message(item: dict[str, Any], names: dict[str, str],
             received_at: datetime) -> InboundMessage:
    kind = item["type"]
    phone = str(item["from"])
    fields: dict[str, Any] = {"kind": "other"}
    if kind == "text":
        fields = {"kind": "text", "text": item["text"]["body"]}
    elif kind == "interactive":
        reply = item["interactive"].get("button_reply") or item["interactive"]["list_reply"]
        fields = {"kind": "interactive", "button_id": reply["id"], "button_title": reply["title"],
                  "text": reply["title"]}
    elif kind == "button":
        button = item["button"]
        fields = {"kind": "button", "button_id": button.get("payload"),
                  "button_title": button.get("text"), "text": button.get("text")}
    return InboundMessage(message_id=str(item["id"]), from_phone=phone,
                          contact_name=names.get(phone), sent_at=_at(item["timestamp"]),
                          received_at=received_at, **fields)


def _status(item: dict[str, Any]) -> StatusUpdate:
    status = item["status"]
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    errors = item.get("errors") or [{}]
    return StatusUpdate(message_id=str(item["id"]), recipient=str(item["recipient_id"]),
                        status=status, at=_at(item["timestamp"]),
                        error_code=errors[0].get("code"), error_title=errors[0].get("title"))


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return f"{type(exc).__name__}: {exc}"
