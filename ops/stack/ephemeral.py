"""A throwaway embedded stack (broker + PostgreSQL on free ports, temp state folder).

Used by the tests' fixtures and by the benchmarks; everything it starts is stopped on exit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ops.stack import stack
from schemas.settings import Settings


@dataclass
class RunningStack:
    bootstrap_servers: str
    erp_dsn: str
    sink_dsn: str
    reader_dsn: str
    embedded: bool
    state_dir: Path
    broker_pid: int | None = None
    postgres_pid: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: object) -> Settings:
        return Settings(**{**self._settings_kwargs(), **overrides})

    def _settings_kwargs(self) -> dict[str, object]:
        return {
            "TOPLLANTAS_STATE_DIR": self.state_dir,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "BROKER_PROFILE": "embedded" if self.embedded else "kafka",
            "ERP_DATABASE_URL": self.erp_dsn,
            "ERP_SINK_DATABASE_URL": self.sink_dsn,
        }


def _with_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextmanager
def embedded_stack() -> Iterator[RunningStack]:
    state_dir = Path(tempfile.mkdtemp(prefix="topllantas-test-"))
    settings = Settings(TOPLLANTAS_STATE_DIR=state_dir)
    try:
        state = stack.up(settings)
        erp = f"postgresql://erp@127.0.0.1:{state.postgres.port}/erp"
        yield RunningStack(
            bootstrap_servers=f"127.0.0.1:{state.broker.port}", erp_dsn=erp,
            sink_dsn=_with_user(erp, "topllantas_sink"),
            reader_dsn=_with_user(erp, "topllantas_reader"), embedded=True, state_dir=state_dir,
            broker_pid=state.broker.pid, postgres_pid=state.postgres.pid)
    finally:
        stack.down(settings)
        shutil.rmtree(state_dir, ignore_errors=True)
