"""The worker's flow control: Faust's, except that resuming after a rebalance keeps the events
already fetched (`KeepFetchedOnResume`).

Faust's `FlowControlEvent.resume()` empties every stream queue, expecting the partitions to be
read again from their committed offsets. But the consumer also remembers the highest offset it
handed over per partition (`Consumer._read_offset`) and drops any record below it when it is
fetched again. During a rebalance the table recovery seeks to the committed offsets and then
resumes; records of the previous fetch still being handed over in between move that mark past
the records the resume then throws away. Those records are never read again: the next owner
starts after them, so they are lost (measured with two sink workers: 20 of 560 messages of one
partition never sent; tests/integration/test_scale_out.py).

Keeping the queued events makes the failure mode a repeat instead of a loss, and every agent
already tolerates a repeat (the sinks' ledgers, the LSN checks of the CDC processors). Events of
an older consumer generation are still skipped by the stream itself, and a rebalance still
empties the queues when it revokes partitions (`App._on_partitions_revoked` clears them
explicitly, before the seek). The table recovery's changelog queue is still emptied on resume,
as Faust does.
"""

from __future__ import annotations

import faust
from mode.utils.queues import FlowControlEvent


class KeepFetchedOnResume(FlowControlEvent):
    """`FlowControlEvent` whose `resume` keeps the stream queues; it still empties the queue of
    table changelog records, which the table recovery reads by offset on its own."""

    def __init__(self, app: faust.App) -> None:
        super().__init__(loop=app.loop)
        self._app = app

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()
        changelogs = getattr(self._app.tables, "_changelog_queue", None)
        if changelogs is not None:
            changelogs.clear()


def keep_fetched_on_resume(app: faust.App) -> None:
    """Give `app` this flow control; call before any stream or topic queue is created."""
    app.flow_control = KeepFetchedOnResume(app)
