"""What the WhatsApp webhook ingress puts on `whatsapp.inbound` and `whatsapp.status`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

InboundKind = Literal["text", "button", "interactive", "image", "audio", "video", "document",
                      "sticker", "location", "reaction", "contacts", "unsupported", "other"]


class Media(BaseModel):
    """A media attachment as Meta announces it: download it with its `id` (Graph API
    `GET /<version>/<id>` gives a short-lived URL)."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    voice: bool = False  # audio recorded in WhatsApp (a voice note), not a forwarded file
    animated: bool = False  # stickers
    filename: str | None = None  # documents


class Location(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None


class Reaction(BaseModel):
    """An emoji on one of our messages; `emoji` None when the customer removed it."""

    message_id: str
    emoji: str | None = None


class InboundMessage(BaseModel):
    """One customer message. `text` is what the customer typed: the body, a button's title or
    a media caption; `media`, `location` and `reaction` carry the rest of what they sent."""

    message_id: str
    from_phone: str
    contact_name: str | None = None
    kind: InboundKind
    text: str | None = None
    button_id: str | None = None
    button_title: str | None = None
    media: Media | None = None
    location: Location | None = None
    reaction: Reaction | None = None
    error_code: int | None = Field(None, description="Meta's reason for `unsupported`.")
    sent_at: datetime
    received_at: datetime


class StatusUpdate(BaseModel):
    message_id: str
    recipient: str
    status: Literal["sent", "delivered", "read", "failed"]
    at: datetime
    error_code: int | None = None
    error_title: str | None = None


class AgentControl(BaseModel):
    """A person releases a conversation back to the bot after a handoff (`agent.control`)."""

    phone: str
    action: Literal["release"] = "release"
    by: str
    at: datetime
