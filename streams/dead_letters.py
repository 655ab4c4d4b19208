"""Send a record that could not be processed to its topic's dead-letter topic, and count it."""

from __future__ import annotations

import faust

from streams.agent_errors import send_dead_letter
from streams.topics import dlq_topic


async def dead_letter(event: faust.EventT, error: str | BaseException, stage: str) -> None:
    await send_dead_letter(dlq_topic(event.message.topic), event, error, stage)


__all__ = ["dead_letter"]
