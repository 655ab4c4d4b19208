"""`Supervisor.stop_all` stops every process at once (ops/supervisor.py): Ctrl-C on the demo or
`topllantas chaos` waits for the slowest process, not for the sum of them all."""

from __future__ import annotations

import time
from pathlib import Path

from ops.stack.processes import pid_alive
from ops.supervisor import Supervisor

STUBBORN = """import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.0), sys.exit(0)))
print("ready", flush=True)
time.sleep(60)
"""


def test_stop_all_terminates_the_processes_together(tmp_path: Path) -> None:
    (tmp_path / "stubborn.py").write_text(STUBBORN)  # takes 1 s to stop after SIGTERM
    sup = Supervisor({"PYTHONPATH": str(tmp_path)}, tmp_path / "logs")
    procs = [sup.start(f"stubborn-{i}", "-m", "stubborn") for i in range(4)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            "ready" in (tmp_path / "logs" / f"stubborn-{i}.log").read_text() for i in range(4)):
        time.sleep(0.05)
    began = time.monotonic()
    sup.stop_all()
    took = time.monotonic() - began
    assert not any(pid_alive(p.pid) for p in procs) and not sup.procs
    assert 0.9 < took < 3.0, f"{took:.1f} s for 4 processes that take 1 s each to stop"
