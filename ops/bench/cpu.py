"""CPU time of a process (all its threads): what a benchmark divides by the events it processed.

On a shared VM, wall-clock rates move with the neighbours; the CPU a worker spends per event
moves much less, and 1e6 / (CPU µs per event) is what one worker does per core.
"""

from __future__ import annotations

import psutil

from ops.stack.ephemeral import RunningStack


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def broker_pid(stack: RunningStack) -> int:
    """The embedded broker's pid (the stream benchmarks run on the embedded stack)."""
    if stack.broker_pid is None:
        raise RuntimeError("the stream benchmarks need the embedded stack's broker process")
    return stack.broker_pid
