"""One fixture interface for the real broker and the real PostgreSQL.

With a reachable Docker engine the stack comes from testcontainers (Apache Kafka, PostgreSQL
with logical decoding); otherwise the project's own embedded stack starts on free ports in a
temporary state folder. Either way the tests get a `TestStack` and every process is stopped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from schemas.settings import Settings


@dataclass
class TestStack:
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


def docker_available() -> bool:
    if os.environ.get("TOPLLANTAS_TEST_STACK") == "embedded":
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _with_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextmanager
def embedded_stack() -> Iterator[TestStack]:
    from ops.stack import stack

    state_dir = Path(tempfile.mkdtemp(prefix="topllantas-test-"))
    settings = Settings(TOPLLANTAS_STATE_DIR=state_dir)
    try:
        state = stack.up(settings)
        erp = f"postgresql://erp@127.0.0.1:{state.postgres.port}/erp"
        yield TestStack(
            bootstrap_servers=f"127.0.0.1:{state.broker.port}", erp_dsn=erp,
            sink_dsn=_with_user(erp, "topllantas_sink"),
            reader_dsn=_with_user(erp, "topllantas_reader"), embedded=True, state_dir=state_dir,
            broker_pid=state.broker.pid, postgres_pid=state.postgres.pid)
    finally:
        stack.down(settings)
        shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def container_stack() -> Iterator[TestStack]:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    state_dir = Path(tempfile.mkdtemp(prefix="topllantas-test-"))
    pg = PostgresContainer("postgres:16", username="erp", password="erp", dbname="erp")
    pg.with_command("postgres -c wal_level=logical -c max_replication_slots=10")
    with KafkaContainer().with_kraft() as kafka, pg:
        dsn = pg.get_connection_url(driver=None)
        yield TestStack(
            bootstrap_servers=kafka.get_bootstrap_server(), erp_dsn=dsn, sink_dsn=dsn,
            reader_dsn=dsn, embedded=False, state_dir=state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def test_stack() -> Iterator[TestStack]:
    factory = container_stack if docker_available() else embedded_stack
    with factory() as stack:
        yield stack
