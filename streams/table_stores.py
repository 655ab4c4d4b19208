"""Where a table whose records grow with the business keeps them: local RocksDB, not the heap.

The per-order tables (`analytics_orders`, `sales_order_state`) hold one record per sales order
until the order is settled or idle for ANALYTICS_RETENTION_DAYS (the daily sweep,
streams/order_sweeps.py). At the seeds' volume that is some 8,000 orders; at 100× (the chaos
soak) it is 350,000 orders in half an hour, and on Faust's memory store each one stays on the
worker's heap (a 30-minute soak: analytics worker +75 % RSS, stock worker +21 %). On RocksDB
(`rocksdict`, Faust's RocksDB driver) a worker's memory is bounded by the block cache and write
buffers set here, per table partition, whatever the window holds.

The changelog topic stays the truth. RocksDB writes a record at once, the changelog when the
producer flushes; a worker killed in between would restart with a store ahead of its changelog
and of its outputs (a line stored as enriched but never emitted would never be emitted again).
So each worker process keeps its stores in a directory of its own (`<state>/faust/rocksdb/<pid>`),
removed when it exits and, if it was killed, by the next process that starts: every process
starts empty and rebuilds its partitions from the changelog, as on the memory store; a partition
that leaves and comes back within the process resumes from the offset its store persisted.
Two workers of one flow group on one machine never share (or lock) a database.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import psutil

from schemas.settings import Settings, get_settings

MB = 2**20


def order_table_options(table: str, settings: Settings | None = None) -> dict[str, Any]:
    """The `app.Table` keyword arguments for a per-order table named `table`: a RocksDB store
    in this process's directory, or nothing (the app's memory store) when
    ORDER_TABLE_STORE=memory."""
    settings = settings or get_settings()
    if settings.order_table_store == "memory":
        return {}
    directory = process_dir(rocksdb_root(settings))
    return {"store": f"rocksdb://{(directory / table).as_posix()}",
            "options": rocksdb_options(settings)}


def rocksdb_options(settings: Settings) -> dict[str, Any]:
    """Faust's RocksDBOptions, per database (one per table partition): its defaults are a
    2 GB block cache and three 64 MB write buffers."""
    return {"driver": "rocksdict", "block_cache_size": settings.rocksdb_cache_mb * MB,
            "write_buffer_size": settings.rocksdb_write_buffer_mb * MB,
            "max_write_buffer_number": 2, "target_file_size_base": 16 * MB,
            "max_open_files": 256}


def rocksdb_root(settings: Settings) -> Path:
    return (settings.state_dir / "faust" / "rocksdb").resolve()


@cache
def process_dir(root: Path) -> Path:
    """`root/<pid>`, removed when this process exits; directories of processes that are gone
    (killed, so never cleaned) are removed first."""
    remove_orphans(root)
    mine = root / str(os.getpid())
    atexit.register(shutil.rmtree, mine, True)
    return mine


def remove_orphans(root: Path) -> list[Path]:
    """Remove `root`'s directories named after a process id that no longer runs."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for child in root.iterdir():
            if child.is_dir() and child.name.isdigit() and not psutil.pid_exists(int(child.name)):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed
