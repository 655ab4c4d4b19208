"""The client tells "not sent" (safe to retry) from "may have been sent" (never retried)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from pydantic import SecretStr

from ops.stack.processes import free_port
from sinks.whatsapp.client import WhatsAppClient
from sinks.whatsapp.errors import DeliveryUnknown, NotSent, WhatsAppApiError

BODY = {"messaging_product": "whatsapp", "to": "5215512345678", "type": "text",
        "text": {"body": "Hola"}}


async def test_unreachable_api_is_not_sent() -> None:
    client = WhatsAppClient(f"http://127.0.0.1:{free_port()}", "v21.0", "1", SecretStr("t"))
    with pytest.raises(NotSent):
        await client.send(BODY)
    await client.close()


async def test_no_answer_after_the_request_is_unknown() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return web.json_response({})

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"messaging_product": "whatsapp"})

    app = web.Application()
    app.router.add_post("/v21.0/slow/messages", slow)
    app.router.add_post("/v21.0/broken/messages", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with WhatsAppClient(f"http://127.0.0.1:{port}", "v21.0", "slow", SecretStr("t"),
                                  timeout_s=0.3) as client:
            with pytest.raises(DeliveryUnknown):
                await client.send(BODY)
        async with WhatsAppClient(f"http://127.0.0.1:{port}", "v21.0", "broken",
                                  SecretStr("t")) as client:
            with pytest.raises(DeliveryUnknown, match="without a message id"):
                await client.send(BODY)
        async with WhatsAppClient(f"http://127.0.0.1:{port}", "v21.0", "nothing",
                                  SecretStr("t")) as client:
            with pytest.raises(WhatsAppApiError) as refused:
                await client.send(BODY)
            assert refused.value.http_status == 404 and not refused.value.retryable
    finally:
        await runner.cleanup()
