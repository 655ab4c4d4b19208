"""A stream's records handled at the same time across keys, one after another within a key, and
acknowledged in offset order per partition (the sales agent: customers at once, each
customer's turns in order).

Why not the alternatives
- Faust's `concurrency=N` runs N copies of the agent on one stream: a key's records race each
  other, and they are acknowledged in whatever order they finish. Faust 0.15.3 commits past an
  unacknowledged record when it is the first after the committed offset (`Consumer._new_offset`,
  faust-streaming issue #606), so out-of-order acknowledgements can lose a record.
- `stream.take(n, within)` batches acknowledge in order, but a batch waits for its slowest
  record: one model call hanging until the client's timeout holds every customer of its batch
  and of every batch behind it.

Contract
- `submit(event)` (from the agent's `async for`) holds the record (one more reference on its
  message, so Faust's own acknowledgement at the end of the loop body does not release it) and
  starts its handler in a task once the previous record with the same message key is done and
  one of `concurrency` slots is free. It waits while `max_pending` records are held
  (backpressure on the stream: the records behind stay in Faust's buffer).
- A record is released (its last reference dropped, so Faust may commit it) only when it and
  every earlier record of its topic-partition are done: acknowledgements reach the consumer in
  offset order, so the commit check above never sees a gap.
- A handler that raises: the record goes to its dead-letter topic (`dead_letter_until_sent`,
  retried until written) and counts as done. If that write fails because the worker is
  stopping, the record stays held: not committed, the next owner redelivers it.
- Each task copies the agent's context, so Faust's `current_event()` is its own record: a table
  write inside the handler goes to the changelog partition of that record.
- Rebalance: Faust suspends the stream and waits for every record it handed out to be
  acknowledged (`Consumer.wait_empty`) before it gives the partitions up. Every held record has
  a task that ends (its handler's own time-outs bound it), so the wait ends and nothing is held
  across a rebalance; the new owner starts after the last committed record and reads the
  conversation table from its changelog.
- `drain(timeout)` when the agent stops: waits for the handlers, then cancels those still
  running; their records stay unacknowledged (redelivered to the next owner).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import faust

from streams.dead_letters import DeadLetteringApp, dead_letter_until_sent
from streams.metrics import AGENT_ERRORS

log = logging.getLogger("topllantas.lanes")

Handler = Callable[[faust.EventT], Awaitable[None]]


@dataclass(eq=False)
class _Held:
    event: faust.EventT
    done: bool = False


class OrderedLanes:
    """Per-key lanes over one agent's stream; see the module's contract."""

    def __init__(self, handle: Handler, *, concurrency: int, max_pending: int,
                 stage: str) -> None:
        if concurrency < 1 or max_pending < 1:
            raise ValueError("concurrency and max_pending must be at least 1")
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._max_pending = max_pending
        self._room = asyncio.Event()
        self._order: defaultdict[Hashable, deque[_Held]] = defaultdict(deque)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stage = stage
        self.held = 0  # records submitted and not yet released

    async def submit(self, event: faust.EventT) -> None:
        while self.held >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        message = event.message
        message.incref()
        self.held += 1
        held = _Held(event)
        self._order[message.tp].append(held)
        key = message.key
        task = asyncio.create_task(self._run(held, self._tails.get(key)))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(key, done))

    async def drain(self, timeout: float) -> None:
        """Wait for the running handlers (at most `timeout` s), then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%s: %d records still running after %.0f s are left unacknowledged",
                        self._stage, len(pending), timeout)
            await asyncio.wait(pending)

    async def _run(self, held: _Held, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # the key's previous record, however it ended
        async with self._slots:
            try:
                await self._handle(held.event)
            except Exception as exc:
                AGENT_ERRORS.labels(agent=self._stage).inc()
                log.exception("%s raised on %s[%s]@%s: dead-lettered", self._stage,
                              held.event.message.topic, held.event.message.partition,
                              held.event.message.offset)
                app: DeadLetteringApp = held.event.app  # type: ignore[assignment]
                await dead_letter_until_sent(app, [held.event], exc, self._stage)
        self._done(held)

    def _done(self, held: _Held) -> None:
        held.done = True
        tp = held.event.message.tp
        queue = self._order[tp]
        while queue and queue[0].done:
            queue.popleft().event.ack()  # the last reference: Faust may commit it
            self.held -= 1
        if not queue:
            del self._order[tp]
        self._room.set()

    def _forget(self, key: Hashable, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: a record stays unacknowledged (%r)", self._stage, task.exception())
