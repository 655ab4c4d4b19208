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

from schemas.whatsapp import InboundMessage, Location, Media, Reaction, StatusUpdate

STATUSES = ("sent", "delivered", "read", "failed")
MEDIA = ("image", "audio", "video", "document", "sticker")


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
    elif kind in MEDIA:
        fields = _media(kind, item[kind])
    elif kind == "location":
        where = item["location"]
        fields = {"kind": "location", "location": Location(
            latitude=where["latitude"], longitude=where["longitude"], name=where.get("name"),
            address=where.get("address"))}
    elif kind == "reaction":
        reaction = item["reaction"]
        fields = {"kind": "reaction", "reaction": Reaction(
            message_id=str(reaction["message_id"]), emoji=reaction.get("emoji") or None)}
    elif kind in ("contacts", "unsupported"):
        errors = item.get("errors") or [{}]
        fields = {"kind": kind, "error_code": errors[0].get("code")}
    return InboundMessage(message_id=str(item["id"]), from_phone=phone,
                          contact_name=names.get(phone), sent_at=_at(item["timestamp"]),
                          received_at=received_at, **fields)


def _media(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """An image, voice note, video, document or sticker: its id and type, and the caption the
    customer typed (read as the message's text)."""
    media = Media(id=str(body["id"]), mime_type=body.get("mime_type"), sha256=body.get("sha256"),
                  voice=body.get("voice") is True, animated=body.get("animated") is True,
                  filename=body.get("filename"))
    caption = body.get("caption")
    if caption is not None and not isinstance(caption, str):
        raise TypeError("caption must be a string")
    return {"kind": kind, "media": media, "text": caption or None}


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
