"""Dead letters of the workers: the one send they all use (`send_dead_letter`), the app class
that dead-letters a record an agent raises on unexpectedly instead of skipping it, and the
retrying dead-lettering of records a bug met (`dead_letter_all`, also used by the loops in
streams/agent_loops.py), and `finished`, which keeps a failing batch from dead-lettering again a
record whose outcome was already out.

Agents dead-letter the bad input they expect (malformed events, unknown tables). An exception
they do not catch crashes the agent; Faust then restarts it and commits the consumer's offsets
(`App._on_agent_error` → `Consumer.on_task_error`, see "Agent errors" in Faust's user guide), so
the record being processed is skipped with nothing but a log line. Here that record goes to its
topic's dead-letter topic first, with the error in the headers, so nothing is lost:
`topllantas dlq replay` brings it back once the cause is fixed. A topic without a dead-letter
topic gets an error log naming the record's partition and offset instead. A dead-letter write
that fails (the broker is failing too) is retried with a backoff until the worker stops
(`dead_letter_all`): Faust restarts a crashed agent only after its error handler returned, and
one that raised would leave the agent dead until the worker restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
from faust.types import AgentT

from sinks.dlq import dead_letter_headers
from streams.metrics import AGENT_ERRORS, DEAD_LETTERS

log = logging.getLogger("topllantas.dlq")
DLQ_RETRY_MAX_S = 30.0
_FINISHED: ContextVar[set[int] | None] = ContextVar("batch_finished", default=None)


def finished(event: faust.EventT) -> None:
    """Inside `apply_in_batches` (streams/agent_loops.py): the record's outcome is out (applied,
    or dead-lettered: `send_dead_letter` marks it), so a later failure of its batch does not
    dead-letter it again."""
    done = _FINISHED.get()
    if done is not None:
        done.add(id(event.message))


@contextmanager
def finished_records() -> Iterator[set[int]]:
    """The ids of the messages marked `finished` inside the block (a batch's `apply`)."""
    done: set[int] = set()
    token = _FINISHED.set(done)
    try:
        yield done
    finally:
        _FINISHED.reset(token)


class DeadLetteringApp(faust.App):
    """`faust.App` whose agents dead-letter the record they crashed on.

    `dlq_for` names the dead-letter topic of a source topic (None: it has none).
    """

    def __init__(self, id: str, *, dlq_for: Callable[[str], str | None], **options: Any) -> None:
        super().__init__(id, **options)
        self._dlq_for = dlq_for

    async def _on_agent_error(self, agent: AgentT, exc: BaseException) -> None:
        AGENT_ERRORS.labels(agent=agent.name).inc()
        event = faust.current_event()  # the record the agent was processing when it raised
        if event is not None:  # retried: Faust restarts the agent only if this returns
            await dead_letter_all(self, [event], exc, agent.name)
        await super()._on_agent_error(agent, exc)

    async def dead_letter(self, event: faust.EventT, exc: BaseException, stage: str) -> None:
        """The record on its topic's dead-letter topic, acknowledged by the broker."""
        msg = event.message
        dlq = self._dlq_for(msg.topic)
        if dlq is None:
            log.error("%s raised on %s[%s]@%s and %s has no dead-letter topic: the record is "
                      "skipped (%s: %s)", stage, msg.topic, msg.partition, msg.offset, msg.topic,
                      type(exc).__name__, exc)
            return
        topic = self.topic(dlq, key_type=bytes, value_type=bytes, key_serializer="raw",
                           value_serializer="raw")
        await (await send_dead_letter(topic, event, exc, stage))


async def dead_letter_all(app: DeadLetteringApp, events: Sequence[faust.EventT],
                          exc: BaseException, stage: str) -> None:
    """Each event on its dead-letter topic, in order; a failed write is retried with a backoff
    (1 s doubling up to `DLQ_RETRY_MAX_S`) until it succeeds. Raises the write's error once the
    worker is stopping: the caller leaves the rest unacknowledged for the next owner."""
    delay = 1.0
    for event in events:
        while True:
            try:
                await app.dead_letter(event, exc, f"{stage}: unexpected error")
                break
            except Exception as err:
                if app.should_stop:
                    raise
                log.warning("%s: dead-lettering %s[%s]@%s failed (%s: %s); retrying in %.0f s",
                            stage, event.message.topic, event.message.partition,
                            event.message.offset, type(err).__name__, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DLQ_RETRY_MAX_S)


async def send_dead_letter(dlq: faust.TopicT, event: faust.EventT, error: str | BaseException,
                           stage: str) -> asyncio.Future:
    """The event's record on `dlq`, with the error and its source in the headers; counted and
    logged. Returns the send's future (await it for the acknowledgement)."""
    msg = event.message
    headers = dead_letter_headers(error, msg.topic, msg.partition, msg.offset, stage)
    sent = await dlq.send(key=msg.key, value=msg.value, headers=headers)
    finished(event)
    DEAD_LETTERS.labels(topic=msg.topic).inc()
    log.warning("dead letter from %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, error)
    return sent
