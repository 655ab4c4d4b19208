"""The embedded PostgreSQL runs as `nobody` when the caller is root: it must reach its binaries
and its data dir through the caller's private folders (a checkout under /root, a 0700 temp dir)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ops.stack import postgres


def test_private_parents_become_passable_but_not_listable(tmp_path: Path) -> None:
    private = tmp_path / "private"
    inner = private / "project" / ".venv"
    inner.mkdir(parents=True)
    private.chmod(0o700)
    postgres._make_traversable(inner)
    mode = stat.S_IMODE(private.stat().st_mode)
    assert mode & 0o001 and not mode & 0o004, oct(mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server only changes user when run as root")
def test_the_server_user_can_reach_the_binaries() -> None:
    path = postgres.pg_bin_dir()
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o001 for p in [path, *path.parents])
