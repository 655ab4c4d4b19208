"""Two ways for an agent through its stream besides one record after another: batches
(`apply_in_batches`, the ERP sink: one transaction per batch) and per key (`apply_per_key`: one
key's records in order, keys at the same time; the message sinks per recipient, so a recipient
Meta throttles holds only its own messages, and the sales agent per customer, so one customer's
slow LLM turn does not hold the others' replies).

Both hold each record with one more reference until its outcome is out, so a worker that stops
part-way acknowledges nothing it did not finish (the next owner of the partition redelivers it,
and the sinks' idempotency ledgers absorb a repeat); both dead-letter what a bug met (an
exception the agent did not expect) and go on, instead of holding the partition's commits until
the next rebalance. Faust commits a partition up to its first record not acknowledged, so records
may finish out of order.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar

import faust
from faust.streams import _current_event

from streams.agent_errors import DeadLetteringApp, dead_letter_all
from streams.metrics import AGENT_ERRORS

log = logging.getLogger("topllantas.agents")

_FINISHED: ContextVar[set[int] | None] = ContextVar("batch_finished", default=None)


def finished(event: faust.EventT) -> None:
    """Inside `apply_in_batches`: the record's outcome is out (applied, or dead-lettered by the
    sink itself), so a later failure of its batch does not dead-letter it again."""
    done = _FINISHED.get()
    if done is not None:
        done.add(id(event.message))


async def apply_in_batches(stream: faust.StreamT, max_: int, within: float,
                           apply: Callable[[Sequence[faust.EventT]], Awaitable[None]],
                           stage: str) -> None:
    """`apply` each batch of `stream.take_events`; a batch is acknowledged once `apply` is done.

    Faust's `take_events` acknowledges a batch also when the agent stops part-way through it:
    the extra reference holds the records back until `apply` returned. When `apply` raises, the
    batch's records that `apply` had not `finished` go to their dead-letter topic (a write that
    fails is retried until it succeeds) and the agent goes on.
    """
    app: DeadLetteringApp = stream.app
    async for events in stream.take_events(max_, within):
        for event in events:
            event.message.incref()
        done: set[int] = set()
        token = _FINISHED.set(done)
        try:
            await apply(events)
        except Exception as exc:
            AGENT_ERRORS.labels(agent=stage).inc()
            left = [event for event in events if id(event.message) not in done]
            log.exception("%s raised on a batch of %d records: %d not finished go to the dead "
                          "letters", stage, len(events), len(left))
            await dead_letter_all(app, left, exc, stage)
        finally:
            _FINISHED.reset(token)
        for event in events:  # not reached when the agent stops inside the batch
            event.ack()


async def apply_per_key(stream: faust.StreamT,
                        apply: Callable[[faust.EventT], Awaitable[None]], stage: str, *,
                        held: int = 100) -> None:
    """`apply` each record: one key's records one after another in offset order, keys at the
    same time, at most `held` records read and not finished.

    `apply` runs with the record as Faust's current event, so it may write tables. A record is
    acknowledged once `apply` returned; when it raises, the record goes to its dead-letter topic
    (retried until written) and its key goes on. `held` bounds what a
    rebalance or a stop waits for (Faust waits until every record read is acknowledged), as the
    batch size does for `apply_in_batches`; a key with more records waiting than that holds the
    others back. When the agent is cancelled, the unfinished records are not acknowledged.
    """
    app: DeadLetteringApp = stream.app
    lanes: dict[bytes | None, deque[faust.EventT]] = {}
    running: set[asyncio.Task[None]] = set()
    room = asyncio.Semaphore(held)

    async def drain(key: bytes | None) -> None:
        queue = lanes[key]
        try:
            while queue:
                event = queue[0]
                # Faust's tables take the changelog partition from the current event, a context
                # variable its stream sets in the agent's task; this task has its own.
                _current_event.set(weakref.ref(event))
                try:
                    await apply(event)
                except Exception as exc:
                    AGENT_ERRORS.labels(agent=stage).inc()
                    msg = event.message
                    log.exception("%s raised on %s[%s]@%s: it goes to the dead letters", stage,
                                  msg.topic, msg.partition, msg.offset)
                    await dead_letter_all(app, [event], exc, stage)
                queue.popleft()
                event.ack()
                room.release()
        finally:
            del lanes[key]  # no await since the queue was found empty: nothing was added

    try:
        async for event in stream.events():
            event.message.incref()
            await room.acquire()
            key = event.message.key
            queue = lanes.get(key)
            if queue is not None:
                queue.append(event)
                continue
            lanes[key] = deque([event])
            task = asyncio.create_task(drain(key), name=f"{stage}-lane")
            running.add(task)
            task.add_done_callback(running.discard)
    finally:
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
