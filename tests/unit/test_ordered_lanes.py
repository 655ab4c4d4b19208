"""`OrderedLanes`: keys at once, a key's records in order, acknowledgements in offset order per
partition whatever order the handlers finish in, bounded (the broker is in
tests/integration/test_agent_pipeline.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from streams import ordered_lanes
from streams.ordered_lanes import OrderedLanes


class Message:
    """Faust's reference counting: the stream holds one reference until its loop body ends."""

    def __init__(self, tp: str, offset: int, key: bytes, acked: list[tuple[str, int]]) -> None:
        self.tp, self.topic, self.partition, self.offset, self.key = tp, tp, 0, offset, key
        self.refcount, self._acked = 1, acked

    def incref(self) -> None:
        self.refcount += 1


class Event:
    def __init__(self, message: Message) -> None:
        self.message, self.app = message, None

    def ack(self) -> None:
        self.message.refcount -= 1
        assert self.message.refcount >= 0
        if self.message.refcount == 0:
            self.message._acked.append((self.message.tp, self.message.offset))


async def feed(lanes: OrderedLanes, records: list[tuple[str, bytes]],
               acked: list[tuple[str, int]]) -> list[Event]:
    """Submit like the agent's loop: the stream's own reference is dropped after each body."""
    offsets: dict[str, int] = {}
    events = []
    for tp, key in records:
        event = Event(Message(tp, offsets.setdefault(tp, 0), key, acked))
        offsets[tp] += 1
        await lanes.submit(event)  # type: ignore[arg-type]
        event.ack()
        events.append(event)
    return events


def handler(delays: dict[tuple[str, int], float], log: list[str]
            ) -> Callable[[Any], Awaitable[None]]:
    async def handle(event: Any) -> None:
        name = f"{event.message.tp}{event.message.offset}"
        log.append(f"start {name}")
        await asyncio.sleep(delays.get((event.message.tp, event.message.offset), 0.0))
        log.append(f"end {name}")
    return handle


def test_other_keys_run_while_one_is_slow_and_acks_follow_the_offsets() -> None:
    async def run() -> tuple[list[str], list[tuple[str, int]], list[tuple[str, int]]]:
        acked: list[tuple[str, int]] = []
        log: list[str] = []
        lanes = OrderedLanes(handler({("p", 0): 0.3}, log), concurrency=10, max_pending=10,
                             stage="t")
        await feed(lanes, [("p", b"slow"), ("p", b"b"), ("p", b"c"), ("q", b"d")], acked)
        await asyncio.sleep(0.1)
        acked_while_slow = list(acked)
        await lanes.drain(5)
        return log, acked_while_slow, acked

    log, while_slow, acked = asyncio.run(run())
    assert log.index("end p1") < log.index("end p0") and log.index("end p2") < log.index("end p0")
    assert while_slow == [("q", 0)]  # p1 and p2 are done but wait for p0: no gap to commit
    assert [a for a in acked if a[0] == "p"] == [("p", 0), ("p", 1), ("p", 2)]


def test_a_keys_records_run_one_after_another_in_order() -> None:
    async def run() -> list[str]:
        acked: list[tuple[str, int]] = []
        log: list[str] = []
        lanes = OrderedLanes(handler({("p", 0): 0.2, ("q", 0): 0.1}, log), concurrency=10,
                             max_pending=10, stage="t")
        await feed(lanes, [("p", b"a"), ("q", b"a"), ("p", b"a")], acked)
        await lanes.drain(5)
        assert sorted(acked) == [("p", 0), ("p", 1), ("q", 0)]
        return log

    log = asyncio.run(run())
    assert log == ["start p0", "end p0", "start q0", "end q0", "start p1", "end p1"]


def test_concurrency_and_pending_records_are_bounded() -> None:
    async def run() -> tuple[int, list[int]]:
        acked: list[tuple[str, int]] = []
        running, most = 0, 0
        held_seen: list[int] = []

        async def handle(event: Any) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.02)
            running -= 1

        lanes = OrderedLanes(handle, concurrency=2, max_pending=3, stage="t")
        offsets = iter(range(20))
        for n in range(8):
            event = Event(Message("p", next(offsets), str(n).encode(), acked))
            await lanes.submit(event)  # type: ignore[arg-type]
            event.ack()
            held_seen.append(lanes.held)
        await lanes.drain(5)
        assert [offset for _, offset in acked] == list(range(8)) and lanes.held == 0
        return most, held_seen

    most, held_seen = asyncio.run(run())
    assert most == 2
    assert max(held_seen) == 3


def test_a_handler_that_raises_dead_letters_its_record_which_then_counts_as_done(
        monkeypatch: pytest.MonkeyPatch) -> None:
    dead: list[int] = []

    async def dead_letter_until_sent(app: Any, events: list[Any], exc: BaseException,
                                     stage: str) -> None:
        dead.extend(e.message.offset for e in events)

    monkeypatch.setattr(ordered_lanes, "dead_letter_until_sent", dead_letter_until_sent)

    async def run() -> list[tuple[str, int]]:
        acked: list[tuple[str, int]] = []

        async def handle(event: Any) -> None:
            if event.message.offset == 0:
                raise RuntimeError("bug")

        lanes = OrderedLanes(handle, concurrency=2, max_pending=5, stage="t")
        await feed(lanes, [("p", b"a"), ("p", b"a")], acked)
        await lanes.drain(5)
        return acked

    assert asyncio.run(run()) == [("p", 0), ("p", 1)]
    assert dead == [0]


def test_a_record_whose_handler_is_cancelled_on_drain_is_never_acknowledged() -> None:
    async def run() -> list[tuple[str, int]]:
        acked: list[tuple[str, int]] = []

        async def handle(event: Any) -> None:
            await asyncio.sleep(10 if event.message.offset == 0 else 0)

        lanes = OrderedLanes(handle, concurrency=2, max_pending=5, stage="t")
        await feed(lanes, [("p", b"a"), ("p", b"b")], acked)
        await lanes.drain(0.1)
        return acked

    assert asyncio.run(run()) == []  # offset 1 was done, but behind an unfinished offset 0
