"""Issue 27, defect 8: the demo's supervisor starts again a process that exited by itself (CDC
after PostgreSQL went away), with backoff and a limit; a process killed on purpose stays down."""

from __future__ import annotations

import time
from pathlib import Path

from ops.supervisor import Supervisor, wait_for


def test_defect8_supervisor_restarts_a_process_that_exits(tmp_path: Path) -> None:
    with Supervisor({}, tmp_path, restart=True, max_restarts=2, backoff_s=0.1) as supervisor:
        supervisor.start("flaky", "-m", "this")  # prints the Zen of Python and exits
        wait_for(lambda: supervisor.restarts["flaky"] == 2, 20, "two restarts")
        wait_for(lambda: not supervisor.running("flaky"), 20, "the supervisor to give up")
        log = supervisor.log("flaky")
        assert log.count("Beautiful is better than ugly.") == 3
        assert "supervisor: flaky exited with code 0; restart 2 of 2" in log

        supervisor.start("sleeper", "-m", "timeit", "-n", "1", "-r", "1",
                         "import time; time.sleep(60)")
        supervisor.kill("sleeper")
        time.sleep(0.5)
        assert not supervisor.running("sleeper") and "sleeper" not in supervisor.procs


def test_without_restart_an_exited_process_is_not_running(tmp_path: Path) -> None:
    with Supervisor({}, tmp_path) as supervisor:
        supervisor.start("once", "-m", "this")
        wait_for(lambda: not supervisor.running("once"), 20, "the process to exit")
        time.sleep(0.5)
        assert supervisor.log("once").count("Beautiful is better than ugly.") == 1
