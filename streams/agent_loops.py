"""Two ways for an agent through its stream besides one record after another: batches
(`apply_in_batches`, the ERP sink: one transaction per batch) and per key (`apply_per_key`: one
key's records in order, keys at the same time; the message sinks per recipient, so a recipient
Meta throttles holds only its own messages, and the sales agent per customer, so one customer's
slow LLM turn does not hold the others' replies).

Both hold each record with one more reference until its outcome is out, so a worker that stops
part-way acknowledges nothing it did not finish (the next owner of the partition redelivers it,
and the sinks' idempotency ledgers absorb a repeat); both dead-letter what a bug met (an
exception the agent did not expect) and go on, instead of holding the partition's commits until
the next rebalance. Records of one partition may finish out of order, but are acknowledged in
offset order: Faust 0.15.3 commits past a record not acknowledged when it is the first after the
committed offset, or when the group has no committed offset yet (faust-streaming issue #606), so
an acknowledgement ahead of an unfinished record could lose that record in a crash.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from faust.streams import _current_event

from streams.agent_errors import DeadLetteringApp, dead_letter_all, finished_records
from streams.metrics import AGENT_ERRORS

log = logging.getLogger("topllantas.agents")

async def apply_in_batches(stream: faust.StreamT, max_: int, within: float,
                           apply: Callable[[Sequence[faust.EventT]], Awaitable[None]],
                           stage: str) -> None:
    """`apply` each batch of `stream.take_events`; a batch is acknowledged once `apply` is done.

    Faust's `take_events` acknowledges a batch also when the agent stops part-way through it:
    the extra reference holds the records back until `apply` returned. When `apply` raises, the
    batch's records that `apply` had not `finished` go to their dead-letter topic (a write that
    fails is retried until it succeeds or the worker stops) and the agent goes on.
    """
    app: DeadLetteringApp = stream.app
    async for events in stream.take_events(max_, within):
        for event in events:
            event.message.incref()
        with finished_records() as done:
            try:
                await apply(events)
            except Exception as exc:
                AGENT_ERRORS.labels(agent=stage).inc()
                left = [event for event in events if id(event.message) not in done]
                log.exception("%s raised on a batch of %d records: %d not finished go to the "
                              "dead letters", stage, len(events), len(left))
                await dead_letter_all(app, left, exc, stage)
        for event in events:  # not reached when the agent stops inside the batch
            event.ack()


async def apply_per_key(stream: faust.StreamT,
                        apply: Callable[[faust.EventT], Awaitable[None]], stage: str, *,
                        held: int = 100) -> None:
    """`apply` each record: one key's records one after another in offset order, keys at the
    same time, at most `held` records being applied or waiting for their key.

    `apply` runs with the record as Faust's current event, so it may write tables. A record is
    done once `apply` returned; when it raises, the record goes to its dead-letter topic
    (retried until written) and its key goes on. Done records are acknowledged in each
    partition's offset order. `held` bounds what a rebalance or a stop waits for (Faust waits
    until every record read is acknowledged), as the batch size does for `apply_in_batches`; a
    key with more records waiting than that holds the others back. When the agent is cancelled,
    or a dead letter cannot be written while the worker stops, the unfinished records and the
    ones after them in their partitions are not acknowledged: the partition's next owner reads
    them again.
    """
    app: DeadLetteringApp = stream.app
    lanes: dict[bytes | None, deque[faust.EventT]] = {}
    unacked: dict[Any, deque[faust.EventT]] = {}  # per partition, in offset order
    done: set[int] = set()  # ids of the messages in `unacked` that are done
    abandoned: set[Any] = set()  # partitions nothing more is acknowledged of
    running: set[asyncio.Task[None]] = set()
    room = asyncio.Semaphore(held)

    def acknowledge(event: faust.EventT) -> None:
        tp = event.message.tp
        if tp in abandoned:
            return
        done.add(id(event.message))
        in_order = unacked[tp]
        while in_order and id(in_order[0].message) in done:
            head = in_order.popleft()
            done.discard(id(head.message))
            head.ack()

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
                    try:
                        await dead_letter_all(app, [event], exc, stage)
                    except Exception:
                        log.error("%s: the worker stops before %s[%s]@%s could be dead-lettered;"
                                  " it and the partition's later records stay unacknowledged",
                                  stage, msg.topic, msg.partition, msg.offset)
                        abandoned.add(msg.tp)
                        unacked.pop(msg.tp, None)  # Faust's stop waits for what is referenced
                queue.popleft()
                acknowledge(event)
                room.release()
        finally:
            del lanes[key]  # no await since the queue was found empty: nothing was added

    try:
        async for event in stream.events():
            event.message.incref()
            await room.acquire()
            if event.message.tp not in abandoned:
                unacked.setdefault(event.message.tp, deque()).append(event)
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
