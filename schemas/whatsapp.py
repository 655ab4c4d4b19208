"""What the WhatsApp webhook ingress puts on `whatsapp.inbound` and `whatsapp.status`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class InboundMessage(BaseModel):
    message_id: str
    from_phone: str
    contact_name: str | None = None
    kind: Literal["text", "button", "interactive", "other"]
    text: str | None = None
    button_id: str | None = None
    button_title: str | None = None
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
