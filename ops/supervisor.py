"""Start and stop the pipeline's own processes (CDC, workers, doubles) as a group.

Used by the demo and by the integration tests; every process started here is stopped by
`stop_all()` (also on Ctrl-C), so no orphans are left behind. With `restart=True` (the demo) a
process that exits by itself is started again, after 1, 2, 4… s (at most 30 s), up to
`max_restarts` times in a row; `stop` and `kill` end it for good (tests kill on purpose).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from ops.stack.processes import stop_pid, stop_pids

STOP_TIMEOUT_S = 20.0  # SIGTERM, then SIGKILL after this long


class Supervisor:
    def __init__(self, env: dict[str, str], log_dir: Path, restart: bool = False,
                 max_restarts: int = 5, backoff_s: float = 1.0) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.restart = restart
        self.max_restarts = max_restarts
        self.backoff_s = backoff_s
        self.restarts: Counter[str] = Counter()  # in a row: a process that stays up resets it
        self._specs: dict[str, tuple[list[str], dict[str, str], int]] = {}
        self._due: dict[str, float] = {}  # exited process -> when it is started again
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self, name: str, *args: str, env: dict[str, str] | None = None, nice: int = 0
              ) -> subprocess.Popen:
        """Start `topllantas ARGS` (or `python -m` for module paths) as process `name`, at a
        lower CPU priority when `nice` > 0."""
        command = ([sys.executable, "-m", args[1], *args[2:]] if args[0] == "-m"
                   else [sys.executable, "-m", "ops.cli.main", *args])
        with self._lock:
            self._specs[name] = (command, {**self.env, **(env or {})}, nice)
            self.restarts.pop(name, None)
            proc = self._spawn(name)
        if self.restart and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="supervisor",
                                             daemon=True)
            self._watcher.start()
        return proc

    def _spawn(self, name: str) -> subprocess.Popen:
        command, env, nice = self._specs[name]
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(command, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self.procs[name] = proc
        self._due.pop(name, None)
        return proc

    def _watch(self) -> None:
        """Start again what exited by itself, with backoff; a process up for a minute has its
        count of restarts in a row cleared."""
        started: dict[str, float] = {}
        while not self._closing.wait(0.2):
            now = time.monotonic()
            with self._lock:
                for name, proc in list(self.procs.items()):
                    if proc.poll() is None:
                        started.setdefault(name, now)
                        if now - started[name] > 60:
                            self.restarts.pop(name, None)
                        continue
                    if self.restarts[name] >= self.max_restarts:
                        continue  # given up: running() says so
                    due = self._due.setdefault(
                        name, now + min(self.backoff_s * 2 ** self.restarts[name], 30.0))
                    if now >= due:
                        self.restarts[name] += 1
                        self._note(name, f"exited with code {proc.returncode}; restart "
                                         f"{self.restarts[name]} of {self.max_restarts}")
                        self._spawn(name)
                        started[name] = now

    def _note(self, name: str, text: str) -> None:
        with (self.log_dir / f"{name}.log").open("a") as log:
            log.write(f"supervisor: {name} {text}\n")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.killpg(self.procs[name].pid, sig)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would (never restarted)."""
        with self._lock:
            proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout: float = STOP_TIMEOUT_S) -> int | None:
        with self._lock:
            proc = self.procs.pop(name, None)
        if proc is None:
            return None
        stop_pid(proc.pid, timeout)
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def running(self, name: str) -> bool:
        """Up, or (with `restart`) about to be started again."""
        proc = self.procs.get(name)
        if proc is None:
            return False
        if proc.poll() is None:
            return True
        return self.restart and self.restarts[name] < self.max_restarts

    def stop_all(self) -> None:
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(5)
        with self._lock:
            procs, self.procs = list(self.procs.values()), {}
        stop_pids([proc.pid for proc in procs], STOP_TIMEOUT_S)  # all at once: Ctrl-C is prompt
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

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
