"""The seed conversation end to end on real components: the WhatsApp double calls our signed
webhook, the worker's sales agent quotes real ERP prices, the reply reaches the double, and
"sí" becomes one sales order in the ERP through the ERP sink. A customer whose model turn is slow
holds no other customer, and a customer's own turns are answered in the order written."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import pytest

from ops.doubles.openai_double import OpenAIDouble
from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from sources.whatsapp_webhook.app import WEBHOOK_PATH
from tests.integration.conftest import process_env
from tests.integration.test_sink_agents import at_least, eventually
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


async def _jetta_customer(dsn: str) -> tuple[str, int]:
    """A customer with a phone, and 205/55R16 stock at their branch."""
    conn = await asyncpg.connect(dsn)
    try:
        customer = await conn.fetchrow(
            "SELECT phone, home_warehouse_id FROM customers ORDER BY id LIMIT 1")
        product = await conn.fetchval("SELECT id FROM products WHERE tire_size = '205/55R16' "
                                      "ORDER BY list_price LIMIT 1")
        if product is None:
            product = await conn.fetchval(
                "INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, "
                "aspect_ratio, rim, tire_size, load_index, speed_index, cost, list_price, "
                "weight_kg) VALUES (9001, 'MIC-2055516-T', 1, 1, 1, 'Primacy 4', 205, 55, 16, "
                "'205/55R16', 91, 'V', 1400, 1999, 9) RETURNING id")
        await conn.execute(
            "INSERT INTO stock (product_id, warehouse_id, on_hand) VALUES ($1, $2, 40) "
            "ON CONFLICT (product_id, warehouse_id) DO UPDATE SET on_hand = 40, reserved = 0",
            product, customer["home_warehouse_id"])
        return customer["phone"], product
    finally:
        await conn.close()


async def test_seed_conversation_over_whatsapp(fresh_stack: TestStack,
                                               supervisor: Supervisor) -> None:
    phone, _ = await _jetta_customer(fresh_stack.erp_dsn)
    webhook_port = free_port()
    settings = fresh_stack.settings()
    async with WhatsAppDouble.from_settings(
            settings, webhook_url=f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}") as double:
        env = process_env(fresh_stack, WHATSAPP_BASE_URL=double.base_url)
        supervisor.start("cdc", "cdc", "run", env=env)
        supervisor.start("webhook", "webhook", "--port", str(webhook_port), env=env)
        # The agent and the sinks as separate flow groups (separate Faust apps) that meet only
        # through topics, as a deployment that keeps customers' replies apart runs them.
        supervisor.start("agent", "worker", "--flows", "agent", env=env)
        supervisor.start("sinks", "worker", "--flows", "sinks",
                         env={**env, "FAUST_WEB_PORT": str(free_port())})
        await asyncio.sleep(8)  # webhook up, workers joined their groups

        async def replies() -> list:
            return [m for m in double.messages if m["to"] == phone]

        await double.simulate_inbound(phone, "Hola, necesito 4 llantas para Jetta 2020, "
                                             "¿cuánto cuesta?")
        quote = (await eventually(replies, timeout=90))[-1]
        assert "$" in str(quote["body"]) and "205/55R16" in str(quote["body"])

        await double.simulate_inbound(phone, "la primera")
        await eventually(lambda: at_least(replies, 2), timeout=60)
        await double.simulate_inbound(phone, "sí")
        await double.simulate_inbound(phone, "sí")  # a second "sí" must not reserve twice

        conn = await asyncpg.connect(fresh_stack.erp_dsn)
        try:
            orders = await eventually(lambda: conn.fetch(
                "SELECT o.id, o.status, o.channel FROM sales_orders o JOIN customers c "
                "ON c.id = o.customer_id WHERE c.phone = $1 AND o.channel = 'whatsapp'", phone),
                timeout=60)
            await asyncio.sleep(3)
            again = await conn.fetch(
                "SELECT o.id FROM sales_orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE c.phone = $1 AND o.channel = 'whatsapp'", phone)
        finally:
            await conn.close()
    assert len(orders) == 1 and len(again) == 1
    assert orders[0]["status"] == "reservado"


SLOW_S = 3.0
# The scripted model: "uno" waits SLOW_S, the rest answer at once; each reply says which it is.
# Anything else (the group may replay the module's earlier messages) gets an answer too: a
# model error would rest the model and make the turns deterministic.
LANES_SCRIPT = [{"match": match, "steps": [{"sleep_s": SLOW_S if word == "uno" else 0.0,
                                             "text": f"Respuesta {word}: con gusto te ayudo. "
                                                     "¿Qué medida usas?"}]}
                for word, match in (("uno", "uno"), ("dos", "dos"), ("tres", "tres"),
                                    ("otra", ".*"))]


async def test_a_slow_turn_holds_no_other_customer_and_a_customers_turns_stay_in_order(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    """A writes "uno" (the model takes SLOW_S) then "dos" (at once); B writes "tres" (at once)
    right after A's "uno". B is answered before A's "uno" (one message at a time would answer B
    after it), and A's "dos" only after A's "uno" (racing turns would answer it first)."""
    a, b = "5218144400001", "5218144400002"
    webhook_port = free_port()
    async with OpenAIDouble(LANES_SCRIPT, api_key="lanes-llm-key") as llm, \
            WhatsAppDouble.from_settings(
                fresh_stack.settings(),
                webhook_url=f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}") as double:
        env = process_env(fresh_stack, WHATSAPP_BASE_URL=double.base_url,
                          LLM_BASE_URL=llm.base_url, LLM_API_KEY="lanes-llm-key",
                          LLM_TIMEOUT_S=str(SLOW_S * 3), LLM_MAX_RETRIES="0")
        supervisor.start("webhook", "webhook", "--port", str(webhook_port), env=env)
        supervisor.start("worker", "worker", "--flows", "agent,sinks", env=env)
        await asyncio.sleep(6)  # webhook up, worker joined its group
        await double.simulate_inbound("5218144400099", "hola")  # the first turn warms up
        await eventually(lambda: double.messages, 90, "the first reply")

        await double.simulate_inbound(a, "Buenas noches, uno: ¿qué llantas tienen?")
        await double.simulate_inbound(a, "Buenas noches, dos: ¿qué llantas tienen?")
        await double.simulate_inbound(b, "Buenas noches, tres: ¿qué llantas tienen?")

        def answered() -> list[dict] | None:
            got = [m for m in double.messages if m["to"] in (a, b)]
            return got if len(got) >= 3 else None

        replies = await eventually(answered, 60, "three replies")
    at = {m["summary"].split(":")[0]: datetime.fromisoformat(m["at"]) for m in replies}
    assert set(at) == {"Respuesta uno", "Respuesta dos", "Respuesta tres"}, at
    assert at["Respuesta tres"] < at["Respuesta uno"], at  # B did not wait for A's slow turn
    assert at["Respuesta uno"] < at["Respuesta dos"], at  # A's turns in the order written
