"""Send a record that could not be processed to its topic's dead-letter topic, and count it."""

from __future__ import annotations

import logging

import faust

from sinks.dlq import dead_letter_headers
from streams.app import app
from streams.metrics import DEAD_LETTERS
from streams.topics import dlq_topic

log = logging.getLogger("topllantas.dlq")


async def dead_letter(event: faust.EventT, error: str | BaseException, stage: str) -> None:
    msg = event.message
    headers = dead_letter_headers(error, msg.topic, msg.partition, msg.offset, stage)
    await dlq_topic(msg.topic).send(key=msg.key, value=msg.value, headers=headers)
    DEAD_LETTERS.labels(topic=msg.topic).inc()
    log.warning("dead letter from %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, error)


__all__ = ["app", "dead_letter"]
