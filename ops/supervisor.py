"""Start and stop the pipeline's own processes (CDC, workers, doubles) as a group.

Used by the demo and by the integration tests; every process started here is stopped by
`stop_all()` (also on Ctrl-C), so no orphans are left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ops.stack.processes import stop_pid


class Supervisor:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None, nice: int = 0
              ) -> subprocess.Popen:
        """Start `topllantas ARGS` (or `python -m` for module paths) as process `name`, at a
        lower CPU priority when `nice` > 0."""
        command = ([sys.executable, "-m", args[1], *args[2:]] if args[0] == "-m"
                   else [sys.executable, "-m", "ops.cli.main", *args])
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(command, env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.killpg(self.procs[name].pid, sig)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout: float = 20.0) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        stop_pid(proc.pid, timeout)
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def stop_all(self) -> None:
        for name in list(self.procs)[::-1]:
            self.stop(name)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()


def wait_for(check, timeout: float, what: str, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll `check()` until it returns a truthy value; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
