"""Fixtures for spine tests: a fresh embedded stack per module, seeded with a small catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from ops.topics_admin import apply_catalogue
from tests.stack_fixture import TestStack, test_stack

# The worker's pages other than /metrics need the token (streams/web_access.py).
PAGES_TOKEN = "test-pages-token"
PAGES_AUTH = {"Authorization": f"Bearer {PAGES_TOKEN}"}


@pytest.fixture(scope="module")
def fresh_stack() -> Iterator[TestStack]:
    """A stack of its own, seeded with a small catalogue and with every topic created."""
    with test_stack() as stack:
        catalogue = generate_catalogue(seed=3, n_products=150, n_customers=40, days=30)
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=catalogue))
        apply_catalogue(stack.settings())
        yield stack


def process_env(stack: TestStack, **extra: str) -> dict[str, str]:
    env = {
        "TOPLLANTAS_STATE_DIR": str(stack.state_dir),
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "BROKER_PROFILE": "embedded" if stack.embedded else "kafka",
        "ERP_DATABASE_URL": stack.erp_dsn,
        "ERP_SINK_DATABASE_URL": stack.sink_dsn,
        "FAUST_WEB_PORT": str(free_port()),
        "CDC_POLL_INTERVAL_MS": "20",
        "DASHBOARD_TOKEN": PAGES_TOKEN,
    }
    env.update(extra)
    return env


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    with Supervisor({}, tmp_path / "logs") as sup:
        yield sup
