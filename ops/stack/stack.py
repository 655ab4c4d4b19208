"""`dev up` / `dev down` / `dev status`: the embedded broker and PostgreSQL as one stack.

The stack's endpoints and process ids live in `<state_dir>/stack.json`; settings read the
endpoints from there when no explicit `KAFKA_BOOTSTRAP_SERVERS` / `ERP_DATABASE_URL` is given.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from ops.stack.broker import start_broker
from ops.stack.postgres import init_cluster, start_postgres
from ops.stack.processes import StackError, pid_alive, port_is_open, stop_pid
from schemas.settings import Settings


@dataclass
class Component:
    pid: int
    port: int
    started_at: float


@dataclass
class StackState:
    broker: Component
    postgres: Component
    broker_fresh: bool  # True when this `up` started a new (empty) broker

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


def load_state(settings: Settings) -> StackState | None:
    try:
        raw = json.loads(settings.stack_file.read_text())
    except FileNotFoundError:
        return None
    return StackState(Component(**raw["broker"]), Component(**raw["postgres"]),
                      raw.get("broker_fresh", False))


def _alive(component: Component | None) -> bool:
    return component is not None and pid_alive(component.pid) and port_is_open(component.port)


def up(settings: Settings) -> StackState:
    """Start whatever part of the stack is not running; reuse the PostgreSQL data directory."""
    state_dir = settings.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    previous = load_state(settings)
    now = time.time()

    if previous and _alive(previous.broker):
        broker, fresh = previous.broker, False
    else:
        pid, port = start_broker(settings.embedded_broker_port, state_dir / "broker.log")
        broker, fresh = Component(pid, port, now), True

    started_pg: int | None = None
    try:
        if previous and _alive(previous.postgres):
            postgres = previous.postgres
        else:
            data_dir = state_dir / "pgdata"
            init_cluster(data_dir)
            pid, port = start_postgres(data_dir, settings.embedded_pg_port,
                                       state_dir / "postgres.log")
            started_pg = pid
            postgres = Component(pid, port, now)
            asyncio.run(_ensure_database(port))
    except BaseException:
        stop_pid(started_pg)
        if fresh:
            stop_pid(broker.pid)
        raise

    state = StackState(broker, postgres, fresh)
    state.save(settings.stack_file)
    if fresh:
        # The embedded broker starts empty: a CDC slot left from an earlier broker would resume
        # into topics that no longer hold its history. Drop it so CDC re-snapshots.
        asyncio.run(_drop_stale_slot(postgres.port, settings.cdc_slot))
    return state


async def _connect_when_ready(port: int, database: str, timeout: float = 30.0
                              ) -> asyncpg.Connection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncpg.connect(host="127.0.0.1", port=port, user="erp",
                                         database=database)
        except (asyncpg.CannotConnectNowError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise StackError(f"PostgreSQL on port {port} accepts no connections") from None
            await asyncio.sleep(0.1)


async def _ensure_database(port: int) -> None:
    conn = await _connect_when_ready(port, "postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'erp'")
        if not exists:
            await conn.execute("CREATE DATABASE erp")
    finally:
        await conn.close()


async def _drop_stale_slot(port: int, slot: str) -> None:
    conn = await _connect_when_ready(port, "erp")
    try:
        await conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = $1 AND NOT active", slot)
    finally:
        await conn.close()


def down(settings: Settings) -> list[str]:
    """Stop the stack's processes; the PostgreSQL data directory stays for the next `up`."""
    state = load_state(settings)
    stopped: list[str] = []
    if state is None:
        return stopped
    for name, component in (("postgres", state.postgres), ("broker", state.broker)):
        if pid_alive(component.pid):
            stop_pid(component.pid)
            stopped.append(name)
    settings.stack_file.unlink(missing_ok=True)
    return stopped


def status(settings: Settings) -> dict[str, dict]:
    state = load_state(settings)
    if state is None:
        return {}
    return {
        name: {"pid": c.pid, "port": c.port, "running": _alive(c),
               "uptime_s": round(time.time() - c.started_at, 1)}
        for name, c in (("broker", state.broker), ("postgres", state.postgres))
    }


__all__ = ["StackError", "StackState", "down", "load_state", "status", "up"]
