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
from pathlib import Path

from ops.stack.ephemeral import RunningStack as TestStack
from ops.stack.ephemeral import embedded_stack


def docker_available() -> bool:
    if os.environ.get("TOPLLANTAS_TEST_STACK") == "embedded":
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextmanager
def container_stack() -> Iterator[TestStack]:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    state_dir = Path(tempfile.mkdtemp(prefix="topllantas-test-"))
    pg = PostgresContainer("postgres:16", username="erp", password="erp", dbname="erp")
    pg.with_command("postgres -c wal_level=logical -c max_replication_slots=10")
    with KafkaContainer().with_kraft() as kafka, pg:
        dsn = pg.get_connection_url(driver=None)
        yield TestStack(  # the roles' passwords are set by apply_schema (tests/conftest.py)
            bootstrap_servers=kafka.get_bootstrap_server(), erp_dsn=dsn,
            sink_dsn=dsn.replace("//erp:erp@", "//topllantas_sink:sink@"),
            reader_dsn=dsn.replace("//erp:erp@", "//topllantas_reader:reader@"),
            embedded=False, state_dir=state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def test_stack() -> Iterator[TestStack]:
    factory = container_stack if docker_available() else embedded_stack
    with factory() as stack:
        yield stack
