"""Shared fixtures: the real stack (broker + PostgreSQL) for integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.stack_fixture import TestStack, test_stack


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Every test reads settings from its own environment: `get_settings()` is cached per process,
    and a test that set (or a test before it that cached) other variables must not leak them."""
    from schemas.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    with test_stack() as running:
        from ops.erp.setup import apply_schema

        asyncio.run(apply_schema(running.erp_dsn, [running.sink_dsn, running.reader_dsn]))
        yield running
