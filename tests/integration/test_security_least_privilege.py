"""Issue #27, defect 3: least privilege was silently lost.

On the real PostgreSQL with ops/erp/roles.sql applied: the sink role cannot change an order's
status nor read customers' or buyers' contact data; the reader reads the one customer writing
(through `topllantas.customer_by_phone`) and nobody's phone list. (The settings never fall
back to the owner's URL: tests/unit/test_security_role_urls.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from sources.erp_reader import ErpReader
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration

REFUSED_TO_THE_SINK = [
    "UPDATE sales_orders SET status = 'cancelado' WHERE id = 1000000",
    "UPDATE sales_orders SET customer_id = 1 WHERE id = 1000000",
    "UPDATE purchase_orders SET status = 'cancelada' WHERE id = 500000",
    "UPDATE sales_order_lines SET unit_price = 0 WHERE id = 1",
    "UPDATE stock SET on_hand = 0",
    "DELETE FROM sales_orders WHERE id = 1000000",
    "DELETE FROM topllantas.applied_commands",
    "SELECT phone FROM customers",
    "SELECT address, email FROM customers",
    "SELECT phone, email FROM buyers",
    "SELECT * FROM suppliers",
    "SELECT * FROM sales_orders",  # its columns, not only those its statements read
    "SELECT nextval('stock_moves_id_seq')",
]
REFUSED_TO_THE_READER = [
    "SELECT phone FROM customers",
    "SELECT address FROM customers",
    "SELECT * FROM buyers",
    "SELECT * FROM topllantas.sent_messages",
    "UPDATE sales_orders SET status = 'cancelado' WHERE id = 1000000",
]


@pytest.fixture
async def customer(stack: TestStack) -> AsyncIterator[tuple[int, str]]:
    owner = await asyncpg.connect(stack.erp_dsn)
    ident = 900_000 + uuid.uuid4().int % 90_000
    phone = f"+52 55 {uuid.uuid4().int % 10**8:08d}"
    await owner.execute(
        "INSERT INTO customers (id, name, tier, phone, email, address, city, state, lat, lon) "
        "VALUES ($1, 'Ana Prueba', 'publico', $2, 'ana@example.mx', 'Calle 1', 'CDMX', 'CDMX', "
        "19.4, -99.1)", ident, phone)
    try:
        yield ident, phone
    finally:
        await owner.execute("DELETE FROM customers WHERE id = $1", ident)
        await owner.close()


@pytest.mark.parametrize("statement", REFUSED_TO_THE_SINK)
async def test_defect_3_the_sink_role_is_refused_what_it_does_not_need(
        stack: TestStack, statement: str) -> None:
    if not stack.embedded:
        pytest.skip("the container stack connects the roles with passwords set by apply_schema")
    sink = await asyncpg.connect(stack.sink_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await sink.execute(statement)
    finally:
        await sink.close()


@pytest.mark.parametrize("statement", REFUSED_TO_THE_READER)
async def test_defect_3_the_reader_role_reads_no_contact_list(
        stack: TestStack, statement: str) -> None:
    reader = await asyncpg.connect(stack.reader_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.execute(statement)
    finally:
        await reader.close()


async def test_defect_3_the_reader_finds_the_one_customer_writing(
        stack: TestStack, customer: tuple[int, str]) -> None:
    ident, phone = customer
    async with await ErpReader.connect(stack.reader_dsn, max_size=1) as reader:
        found = await reader.customer_by_phone("521" + phone.replace(" ", "")[-10:])
        assert found is not None and (found.id, found.name) == (ident, "Ana Prueba")
        assert await reader.customer_by_phone("5215500000000") is None
        assert await reader.is_buyer(phone) is False
