"""Where the per-order tables keep their records (streams/table_stores.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions
from yarl import URL

from schemas.settings import Settings
from streams.table_stores import MB, order_table_options, process_dir, remove_orphans


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings(TOPLLANTAS_STATE_DIR=tmp_path, **env)


def test_rocksdb_by_default_in_this_process_directory(tmp_path: Path) -> None:
    options = order_table_options("analytics_orders", settings(tmp_path))
    url = URL(options["store"])
    assert url.scheme == "rocksdb"
    # Faust joins the table directory with the URL's path: an absolute path wins
    path = Path(url.path)
    assert path.is_absolute()
    assert path == (tmp_path / "faust" / "rocksdb" / str(os.getpid()) / "analytics_orders"
                    ).resolve()
    assert options["options"]["driver"] == "rocksdict"
    assert options["options"]["block_cache_size"] == 8 * MB  # not Faust's 2 GB


def test_memory_when_configured(tmp_path: Path) -> None:
    assert order_table_options("analytics_orders",
                               settings(tmp_path, ORDER_TABLE_STORE="memory")) == {}


def test_a_bad_store_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ORDER_TABLE_STORE"):
        settings(tmp_path, ORDER_TABLE_STORE="disk")


def test_the_options_open_a_rocksdb_database(tmp_path: Path) -> None:
    options = dict(order_table_options("t", settings(tmp_path))["options"])
    options.pop("driver")
    db = RocksDBOptions(**options, use_rocksdict=True).open(tmp_path / "t-0.db")
    try:
        db.put(b"k", b"v")
        assert db.get(b"k") == b"v"
    finally:
        db.close()


def test_directories_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / str(dead.pid) / "analytics_orders-0.db").mkdir(parents=True)
    (tmp_path / str(os.getpid())).mkdir()  # alive: kept
    (tmp_path / "notes").mkdir()  # not a process's: kept
    assert remove_orphans(tmp_path) == [tmp_path / str(dead.pid)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([str(os.getpid()), "notes"])


def test_a_process_directory_is_removed_when_the_process_exits(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from streams.table_stores import process_dir;"
            "d = process_dir(Path(sys.argv[1])); (d / 'x-0.db').mkdir(parents=True); print(d)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert Path(out).parent == tmp_path and not Path(out).exists()
    assert process_dir(tmp_path) == tmp_path / str(os.getpid())
