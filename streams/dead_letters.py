"""Dead letters in the workers: the protocol, in one place.

Contract
- A record a worker cannot process is never dropped: it goes to its topic's dead-letter topic
  (`<topic>.dlq`, `Catalogue.dlq_of`; `topics apply` creates it) with its original key and value
  bytes, and the reason, stage and source topic/partition/offset in headers. The wire format is
  `transport/dlq.py` (`dead_letter_headers`, read back as `DeadLetter`), shared with the CDC, the
  webhook and the sinks' outcomes; `topllantas dlq list / show / replay` reads and replays them.
- Bad input an agent expects (a malformed record): `decoded` (decode, or dead-letter and get
  None), `decoded_events` (a stream's records that decode) or `dead_letter`. The send is not
  waited for: Faust flushes the producer before it commits the record's offset.
- A record an agent raises on unexpectedly (a bug): Faust would restart the agent and commit
  past the record with only a log line. `DeadLetteringApp` overrides Faust's (private)
  `App._on_agent_error` to dead-letter that record first, waiting for the broker's
  acknowledgement and retrying with a backoff until it succeeds or the worker stops
  (`dead_letter_until_sent`): Faust restarts the agent only after the handler returned.
- Sinks apply in batches (`apply_in_batches`). When a batch raises part-way, the records whose
  outcome was not out yet are dead-lettered (as above) and the agent goes on. A record's outcome
  is out when the sink says so (`finished(event)`) or when it was dead-lettered (`dead_letter`
  marks it): the batch in flight is tracked in a context variable, so `dead_letter` needs no
  batch argument.
- Counted in `topllantas_dead_letters_total{topic}` and `topllantas_agent_errors_total{agent}`.
  A topic without a dead-letter topic gets an error log naming the record instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import faust
from faust.types import AgentT

from streams.metrics import AGENT_ERRORS, DEAD_LETTERS
from transport.dlq import dead_letter_headers

log = logging.getLogger("topllantas.dlq")
RETRY_MAX_S = 30.0
T = TypeVar("T")
_IN_BATCH: ContextVar[set[int] | None] = ContextVar("batch_finished", default=None)


class DeadLetteringApp(faust.App):
    """`faust.App` that dead-letters: `dlq_for` names the dead-letter topic of a source topic
    (None: it has none)."""

    def __init__(self, id: str, *, dlq_for: Callable[[str], str | None], **options: Any) -> None:
        super().__init__(id, **options)
        self._dlq_for = dlq_for
        self._dlq_topics: dict[str, faust.TopicT] = {}

    def dead_letter_topic(self, source: str) -> faust.TopicT | None:
        name = self._dlq_for(source)
        if name is None:
            return None
        topic = self._dlq_topics.get(name)
        if topic is None:
            topic = self._dlq_topics[name] = self.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw",
                value_serializer="raw")
        return topic

    async def dead_letter(self, event: faust.EventT, error: str | BaseException, stage: str, *,
                          acknowledged: bool = False) -> None:
        """The event's record on its dead-letter topic (waiting for the broker's acknowledgement
        when `acknowledged`), marked `finished`, counted and logged."""
        msg = event.message
        topic = self.dead_letter_topic(msg.topic)
        if topic is None:
            log.error("%s: %s[%s]@%s has no dead-letter topic: the record is skipped (%s)",
                      stage, msg.topic, msg.partition, msg.offset, error)
            return
        headers = dead_letter_headers(error, msg.topic, msg.partition, msg.offset, stage)
        sent = await topic.send(key=msg.key, value=msg.value, headers=headers)
        finished(event)
        DEAD_LETTERS.labels(topic=msg.topic).inc()
        log.warning("dead letter from %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, error)
        if acknowledged:
            await sent

    async def _on_agent_error(self, agent: AgentT, exc: BaseException) -> None:
        AGENT_ERRORS.labels(agent=agent.name).inc()
        event = faust.current_event()  # the record the agent was processing when it raised
        if event is not None:  # retried: Faust restarts the agent only if this returns
            await dead_letter_until_sent(self, [event], exc, agent.name)
        await super()._on_agent_error(agent, exc)


async def dead_letter(event: faust.EventT, error: str | BaseException, stage: str) -> None:
    """Bad input: the event's record on its topic's dead-letter topic."""
    app: DeadLetteringApp = event.app  # type: ignore[assignment]
    await app.dead_letter(event, error, stage)


async def decoded(event: faust.EventT, stage: str, decode: Callable[..., T], *args: Any,
                  errors: tuple[type[BaseException], ...] = (ValueError,), **kwargs: Any
                  ) -> T | None:
    """`decode(event.value, *args, **kwargs)`, or None: for a record `decode` skips (a tombstone;
    a CDC truncate for a reader of rows, processors/change_events.py), or once the record is
    dead-lettered because `decode` raised one of `errors` (ValueError covers pydantic's
    ValidationError and BadEvent, whose message is the reason in the dead letter's headers)."""
    try:
        return decode(event.value, *args, **kwargs)
    except errors as exc:
        await dead_letter(event, exc, stage)
        return None


async def decoded_events(stream: faust.StreamT, stage: str, decode: Callable[..., T],
                         *args: Any, **kwargs: Any) -> AsyncIterator[tuple[faust.EventT, T]]:
    """Each event of `stream` with its value `decoded` (same arguments); a record that decodes to
    None (skipped, or dead-lettered) is not yielded. For an agent whose decoder does not depend
    on the record's topic."""
    async for event in stream.events():
        value = await decoded(event, stage, decode, *args, **kwargs)
        if value is not None:
            yield event, value


async def dead_letter_until_sent(app: DeadLetteringApp, events: Sequence[faust.EventT],
                                 exc: BaseException, stage: str) -> None:
    """Each event on its dead-letter topic, in order, acknowledged; a failed write is retried
    with a backoff (1 s doubling up to `RETRY_MAX_S`) until it succeeds. Raises the write's
    error once the worker is stopping: the caller leaves the rest unacknowledged for the next
    owner."""
    delay = 1.0
    for event in events:
        while True:
            try:
                await app.dead_letter(event, exc, f"{stage}: unexpected error", acknowledged=True)
                break
            except Exception as err:
                if app.should_stop:
                    raise
                log.warning("%s: dead-lettering %s[%s]@%s failed (%s: %s); retrying in %.0f s",
                            stage, event.message.topic, event.message.partition,
                            event.message.offset, type(err).__name__, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)


# --------------------------------------------------------------------------- batches


def finished(event: faust.EventT) -> None:
    """Inside `apply_in_batches`: the record's outcome is out (applied, or dead-lettered), so a
    later failure of its batch does not dead-letter it again. Outside a batch: nothing."""
    done = _IN_BATCH.get()
    if done is not None:
        done.add(id(event.message))


@contextmanager
def _batch() -> Iterator[set[int]]:
    """The ids of the messages marked `finished` inside the block (a batch's `apply`)."""
    done: set[int] = set()
    token = _IN_BATCH.set(done)
    try:
        yield done
    finally:
        _IN_BATCH.reset(token)


async def apply_in_batches(stream: faust.StreamT, max_: int, within: float,
                           apply: Callable[[Sequence[faust.EventT]], Awaitable[None]],
                           stage: str) -> None:
    """`apply` each batch of `stream.take_events`; a batch is acknowledged once `apply` is done
    (the ERP sink: one transaction per batch; the message sinks: each recipient's messages in
    order, a batch's recipients in parallel).

    Faust's `take_events` acknowledges a batch also when the agent stops part-way through it:
    an extra reference holds the records back until `apply` returned, so a worker that stops
    acknowledges nothing it did not finish (the next owner redelivers; the sinks' idempotency
    absorbs a repeat). When `apply` raises, the batch's records not `finished` go to their
    dead-letter topic (`dead_letter_until_sent`) and the agent goes on, instead of holding the
    partition's commits until the next rebalance.
    """
    app: DeadLetteringApp = stream.app  # type: ignore[assignment]
    async for events in stream.take_events(max_, within):
        for event in events:
            event.message.incref()
        with _batch() as done:
            try:
                await apply(events)
            except Exception as exc:
                AGENT_ERRORS.labels(agent=stage).inc()
                left = [event for event in events if id(event.message) not in done]
                log.exception("%s raised on a batch of %d records: %d not finished go to the "
                              "dead letters", stage, len(events), len(left))
                await dead_letter_until_sent(app, left, exc, stage)
        for event in events:  # not reached when the agent stops inside the batch
            event.ack()
