"""The sinks' batch loop (`apply_in_batches`): the ERP sink one transaction per batch, the
message sinks each recipient's messages in order and a batch's recipients in parallel.

It holds each record with one more reference until its batch is done, so a worker that stops
part-way acknowledges nothing it did not finish (the next owner of the partition redelivers it,
and the sinks' idempotency ledgers absorb a repeat), and it dead-letters what a bug met (an
exception the sink did not expect) and goes on, instead of holding the partition's commits until
the next rebalance.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import faust

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
