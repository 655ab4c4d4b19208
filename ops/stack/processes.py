"""Small helpers to run the embedded stack's server processes: free ports, waiting, stopping."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable


class StackError(RuntimeError):
    """A clear, user-facing reason why the embedded stack could not start or stop."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str) -> None:
    if port_is_open(port):
        raise StackError(
            f"port {port} for the {what} is already taken; stop what uses it or choose another "
            "port (0 picks a free one)"
        )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise StackError(f"{what} did not come up within {timeout:.0f} s")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child still answers kill(0); reap it
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int | None, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after `timeout`."""
    stop_pids([pid], timeout)


def stop_pids(pids: list[int | None], timeout: float = 10.0) -> None:
    """SIGTERM every process group at once, then SIGKILL what is left after `timeout`: stopping
    n processes takes the slowest one's time, not the sum."""
    left = [pid for pid in pids if pid is not None and pid_alive(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                continue
            except PermissionError:
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while left and time.monotonic() < deadline:
            left = [pid for pid in left if pid_alive(pid)]
            if left:
                time.sleep(0.05)
        if not left:
            return
