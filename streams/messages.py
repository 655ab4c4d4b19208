"""Outbound messages onto their channel's topic: WhatsApp on `messages.outbound`, e-mail on
`messages.email`.

Each channel has its own topic and its own sink agent (streams/sink_agents.py), so its own
back-pressure and offsets: a mail server that is down (each e-mail is retried for up to 15
minutes) holds no customer's WhatsApp reply. Keyed by the recipient, so one recipient's messages
stay in order.
"""

from __future__ import annotations

import asyncio

from schemas.commands import OutboundMessage
from streams.topics import raw_topic

whatsapp_messages = raw_topic("messages.outbound")
email_messages = raw_topic("messages.email")
BY_CHANNEL = {"whatsapp": whatsapp_messages, "email": email_messages}


async def send_message(message: OutboundMessage) -> asyncio.Future:  # type: ignore[type-arg]
    return await BY_CHANNEL[message.channel].send(key=message.to.encode(),
                                                  value=message.model_dump_json().encode())
