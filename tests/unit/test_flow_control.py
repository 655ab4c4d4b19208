"""The worker's flow control keeps fetched events when it resumes (streams/flow_control.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mode.utils.queues import FlowControlEvent, ThrowableQueue

from streams.flow_control import KeepFetchedOnResume


def _app(changelogs: Any = None) -> Any:
    return SimpleNamespace(loop=None, tables=SimpleNamespace(_changelog_queue=changelogs))


def _queue(flow: FlowControlEvent) -> ThrowableQueue[str]:
    """A queue as Faust's streams and the table manager make them."""
    return ThrowableQueue(flow_control=flow, clear_on_resume=True)


def _after_resume(flow: FlowControlEvent, queue: ThrowableQueue[str]) -> list[str]:
    flow.resume()
    queue.put_nowait("fetched before the recovery's seek")
    flow.suspend()
    flow.resume()
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def test_resume_keeps_the_stream_queues() -> None:
    flow = KeepFetchedOnResume(_app())
    assert _after_resume(flow, _queue(flow)) == ["fetched before the recovery's seek"]
    faust_own = FlowControlEvent()
    assert _after_resume(faust_own, _queue(faust_own)) == []  # the loss it caused


async def test_resume_still_empties_the_table_changelog_queue() -> None:
    app = _app()
    flow = KeepFetchedOnResume(app)
    app.tables._changelog_queue = changelogs = _queue(flow)
    assert _after_resume(flow, changelogs) == []


async def test_it_still_suspends_and_resumes() -> None:
    flow = KeepFetchedOnResume(_app())
    assert not flow.is_active()  # initially suspended, like Faust's
    flow.resume()
    assert flow.is_active()
    flow.suspend()
    assert not flow.is_active()
    flow.clear()  # a revocation still empties the queues explicitly
