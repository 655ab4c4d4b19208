"""A command the ERP rejects goes to `erp.commands.dlq` and replays once its cause is fixed."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord
from typer.testing import CliRunner

from ops.cli.dlq import app as dlq_cli
from ops.dlq_tools import read_dead_letters, replay
from ops.topics_admin import apply_catalogue
from schemas.commands import CommandEnvelope, CreateSalesOrder, SalesLine
from schemas.settings import Settings
from sinks.erp import ErpSink
from sinks.outcome import ConsumedRecord, decode_command, route_result
from tests.integration.test_sinks_erp import CUSTOMER, SEED, WAREHOUSE
from tests.stack_fixture import TestStack
from transport.clients import aiokafka_consumer, aiokafka_producer

pytestmark = pytest.mark.integration
COMMANDS, RESULTS = "erp.commands", "erp.commands.results"


async def _records(settings: Settings, topic: str, key: bytes, count: int) -> list[ConsumerRecord]:
    consumer = aiokafka_consumer(settings, topic)
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(15):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=200)
                found += [r for rs in batches.values() for r in rs if r.key == key]
    finally:
        await consumer.stop()
    return found


async def test_dead_letter_replays_after_the_cause_is_fixed(
        stack: TestStack, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.settings()
    apply_catalogue(settings)
    erp = await asyncpg.connect(stack.erp_dsn)
    await erp.execute(SEED)
    product = random.randint(9_200_000, 9_900_000)  # not in the catalogue yet
    command = CreateSalesOrder(
        idempotency_key=f"dlq-{uuid.uuid4().hex}", issued_at=datetime.now(UTC),
        customer_id=CUSTOMER, warehouse_id=WAREHOUSE,
        lines=[SalesLine(product_id=product, qty=4, unit_price=Decimal("2100"))])
    key = f"so:{CUSTOMER}:{command.idempotency_key}".encode()
    producer = aiokafka_producer(settings)
    await producer.start()
    async with ErpSink(stack.sink_dsn) as sink:
        try:
            await producer.send_and_wait(
                COMMANDS, CommandEnvelope(command=command).model_dump_json().encode(), key=key,
                headers=[("traceparent", b"00-abc-01")])
            (consumed,) = await _records(settings, COMMANDS, key, 1)
            source = ConsumedRecord(COMMANDS, consumed.partition, consumed.offset, consumed.key,
                                    consumed.value, list(consumed.headers))
            (result,) = await sink.apply_batch([decode_command(source.value)])
            assert result.status == "failed" and str(product) in (result.error or "")
            outgoing = route_result(result, source, RESULTS, "erp_sink")
            assert [o.topic for o in outgoing] == ["erp.commands.dlq", RESULTS]
            for record in outgoing:
                await producer.send_and_wait(record.topic, record.value, key=record.key,
                                             headers=record.headers)

            # the cause is fixed: the product and its stock record now exist
            await erp.execute(
                "INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width,"
                " aspect_ratio, rim, tire_size, load_index, speed_index, cost, list_price,"
                " weight_kg) VALUES ($1, $2, 9101, 9101, 9101, 'Nuevo', 225, 45, 17, '225/45R17',"
                " 94, 'W', 1800, 2600, 10)", product, f"DLQ-{product}")
            await erp.execute("INSERT INTO stock (product_id, warehouse_id, on_hand) "
                              "VALUES ($1, $2, 20)", product, WAREHOUSE)

            pending = [r for r in read_dead_letters(settings, COMMANDS, from_replayed=True)
                       if r.letter.key == key]
            assert len(pending) == 1 and pending[0].letter.stage == "erp_sink"
            assert pending[0].target_topic == COMMANDS
            assert replay(settings, pending, remember=True) == 1
            assert not [r for r in read_dead_letters(settings, COMMANDS, from_replayed=True)
                        if r.letter.key == key], "a full replay does not replay twice"

            original, replayed = await _records(settings, COMMANDS, key, 2)
            assert replayed.value == original.value
            assert list(replayed.headers) == [("traceparent", b"00-abc-01")]
            (fixed,) = await sink.apply_batch([decode_command(replayed.value)])
            assert fixed.status == "applied"
            assert await erp.fetchval("SELECT reserved FROM stock WHERE product_id = $1",
                                      product) == 4
        finally:
            await producer.stop()
            await erp.close()

    for name, value in stack._settings_kwargs().items():
        monkeypatch.setenv(name, str(value))
    listed = CliRunner().invoke(dlq_cli, ["list", COMMANDS])
    assert listed.exit_code == 0 and "erp_sink" in listed.output
    letter = pending[0]
    shown = CliRunner().invoke(dlq_cli, ["show", COMMANDS, str(letter.partition),
                                         str(letter.offset)])
    assert shown.exit_code == 0 and str(product) in shown.output
    again = CliRunner().invoke(dlq_cli, ["replay", COMMANDS, "--partition",
                                         str(letter.partition), "--offset", str(letter.offset)])
    assert again.exit_code == 0 and "replayed 1 record(s) to erp.commands" in again.output
