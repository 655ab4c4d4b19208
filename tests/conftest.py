"""Shared fixtures: the real stack (broker + PostgreSQL) for integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.stack_fixture import TestStack, test_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    with test_stack() as running:
        from ops.erp.setup import apply_schema

        asyncio.run(apply_schema(running.erp_dsn, [running.sink_dsn, running.reader_dsn]))
        yield running
