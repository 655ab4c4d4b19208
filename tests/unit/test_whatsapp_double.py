"""The Cloud API double answers like the Graph API: validation, errors, control endpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port

TOKEN, PHONE_ID, TO = "tok", "123456789012345", "5215512345678"


@pytest.fixture
async def double() -> AsyncIterator[WhatsAppDouble]:
    async with WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID) as running:
        yield running


async def _send(double: WhatsAppDouble, body: dict[str, Any], token: str = TOKEN,
                path: str | None = None) -> tuple[int, dict[str, Any]]:
    url = double.base_url + (path or f"/v21.0/{PHONE_ID}/messages")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body,
                                headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status, await resp.json()


def _text(body: str = "Hola") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {"body": body}}


def _template() -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": TO, "type": "template",
            "template": {"name": "hola", "language": {"code": "es_MX"}}}


def _buttons(*titles: str, ids: list[str] | None = None) -> dict[str, Any]:
    ids = ids or [f"b{i}" for i in range(len(titles))]
    return {"messaging_product": "whatsapp", "to": TO, "type": "interactive", "interactive": {
        "type": "button", "body": {"text": "¿Reservamos?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(ids, titles,
                                                                               strict=True)]}}}


async def test_accepts_within_the_window_with_the_real_response_shape(
        double: WhatsAppDouble) -> None:
    double.open_window(TO)
    status, answer = await _send(double, _text())
    assert status == 200
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": TO, "wa_id": TO}]
    assert answer["messages"][0]["id"].startswith("wamid.")
    assert double.messages[0]["wamid"] == answer["messages"][0]["id"]


async def test_free_form_outside_the_window_is_131047_but_a_template_goes(
        double: WhatsAppDouble) -> None:
    status, answer = await _send(double, _text())
    assert status == 400
    error = answer["error"]
    assert (error["code"], error["type"]) == (131047, "OAuthException")
    assert "24 hours" in error["error_data"]["details"] and error["fbtrace_id"]
    assert (await _send(double, _template()))[0] == 200


@pytest.mark.parametrize(("body", "details"), [
    (_text("x" * 4097), "4096"),
    (_buttons("a", "b", "c", "d"), "1..3"),
    (_buttons("Un título demasiado largo"), "longer than 20"),
    (_buttons("a", "b", ids=["x", "x"]), "unique"),
    ({"messaging_product": "whatsapp", "to": TO, "type": "template",
      "template": {"name": "hola"}}, "language.code"),
    ({"messaging_product": "sms", "to": TO, "type": "text", "text": {"body": "x"}},
     "messaging_product"),
    ({"messaging_product": "whatsapp", "to": "abc", "type": "text", "text": {"body": "x"}},
     "phone"),
    ({**_text(), "context": {"message_id": ""}}, "context.message_id"),
    ({**_text(), "context": "wamid.x"}, "context.message_id"),
])
async def test_invalid_bodies_are_refused(double: WhatsAppDouble, body: dict[str, Any],
                                          details: str) -> None:
    double.open_window(TO)
    status, answer = await _send(double, body)
    assert status == 400 and answer["error"]["code"] == 100
    assert details in answer["error"]["error_data"]["details"]


async def test_token_and_path_are_checked(double: WhatsAppDouble) -> None:
    double.open_window(TO)
    status, answer = await _send(double, _text(), token="wrong")
    assert (status, answer["error"]["code"]) == (401, 190)
    status, answer = await _send(double, _text(), path="/v21.0/999/messages")
    assert status == 400 and "does not exist" in answer["error"]["message"]
    assert (await _send(double, _text(), path=f"/latest/{PHONE_ID}/messages"))[0] == 400
    assert double.messages == []


async def test_failures_on_demand_through_the_control_endpoint(double: WhatsAppDouble) -> None:
    double.open_window(TO)
    async with aiohttp.ClientSession() as session:
        async with session.post(double.base_url + "/_double/fail",
                                json={"count": 1, "kind": "429"}) as resp:
            assert (await resp.json()) == {"pending_failures": 1}
        double.fail_next(1, "131056")
        double.fail_next(1, "500")
        first, second, third, fourth = [await _send(double, _text()) for _ in range(4)]
        assert (first[0], first[1]["error"]["code"]) == (429, 130429)
        assert (second[0], second[1]["error"]["code"]) == (400, 131056)
        assert third[0] == 500 and fourth[0] == 200
        async with session.get(double.base_url + "/_double/messages") as resp:
            log = await resp.json()
        assert log["requests"] == 4 and len(log["messages"]) == 1
        async with session.get(double.base_url + "/_double/") as resp:
            assert resp.status == 200 and "Hola" in await resp.text()
        async with session.post(double.base_url + "/_double/reset") as resp:
            assert resp.status == 200
    assert double.messages == [] and double.requests == 0
    with pytest.raises(ValueError):
        double.fail_next(1, "418")  # type: ignore[arg-type]


async def _receiver(port: int, statuses: list[int], bodies: list[bytes]) -> web.AppRunner:
    """A webhook endpoint on loopback answering `statuses` in turn, then 200."""

    async def handle(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_a_webhook_call_nobody_answers_is_retried_until_the_app_is_up() -> None:
    port = free_port()
    bodies: list[bytes] = []
    async with WhatsAppDouble(webhook_url=f"http://127.0.0.1:{port}/webhook",
                              webhook_first_retry_s=0.2) as double:
        await double.simulate_inbound(TO, text="Buenos días")
        assert double.webhook_calls[-1][1] == 0  # refused: the app is not listening yet
        runner = await _receiver(port, [], bodies)
        try:
            for _ in range(50):
                if bodies:
                    break
                await asyncio.sleep(0.1)
        finally:
            await runner.cleanup()
    assert len(bodies) == 1
    assert json.loads(bodies[0])["entry"][0]["changes"][0]["value"]["messages"][0]["text"] == {
        "body": "Buenos días"}


async def test_a_webhook_call_answered_with_an_error_is_retried_once_more() -> None:
    port = free_port()
    bodies: list[bytes] = []
    runner = await _receiver(port, [500], bodies)
    try:
        async with WhatsAppDouble(webhook_url=f"http://127.0.0.1:{port}/webhook",
                                  webhook_first_retry_s=0.2) as double:
            await double.simulate_inbound(TO, text="Hola")
            for _ in range(50):
                if len(bodies) == 2:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # and no third call after the 200
            assert [status for _, status in double.webhook_calls] == [500, 200]
    finally:
        await runner.cleanup()
    assert bodies[0] == bodies[1]  # the same signed payload again


async def test_the_pair_rate_limit_refuses_a_recipient_too_soon_and_only_that_recipient() -> None:
    other = "5215587654321"
    async with WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID,
                              pair_interval_s=0.5, pair_burst=1) as double:
        for phone in (TO, other):
            double.open_window(phone)
        assert (await _send(double, _text()))[0] == 200
        status, answer = await _send(double, _text())
        assert (status, answer["error"]["code"]) == (400, 131056)
        assert (await _send(double, {**_text(), "to": other}))[0] == 200
        await asyncio.sleep(0.5)
        assert (await _send(double, _text()))[0] == 200
    assert [m["to"] for m in double.messages] == [TO, other, TO]


async def test_the_pair_rate_limit_is_on_by_default_with_a_short_burst(
        double: WhatsAppDouble) -> None:
    assert (double.pair_interval_s, double.pair_burst) == (6.0, 3)
    double.open_window(TO)
    answers = [await _send(double, _text(f"aviso {i}")) for i in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 400, 400]
    assert answers[3][1]["error"]["code"] == 131056
    # a template is no exception to the pair rate
    status, answer = await _send(double, _template())
    assert (status, answer["error"]["code"]) == (400, 131056)


async def test_the_burst_refills_one_message_per_interval() -> None:
    async with WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID,
                              pair_interval_s=0.3, pair_burst=2) as double:
        double.open_window(TO)
        assert [(await _send(double, _text()))[0] for _ in range(3)] == [200, 200, 400]
        await asyncio.sleep(0.35)  # one message's worth, not two
        assert [(await _send(double, _text()))[0] for _ in range(2)] == [200, 400]
    assert len(double.messages) == 3


def _list(rows: int = 3, **action: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": TO, "type": "interactive", "interactive": {
        "type": "list", "body": {"text": "12 productos en crítico"}, "action": {
            "button": "Ver productos", **action, "sections": action.get("sections") or [{
                "title": "Michelin México", "rows": [
                    {"id": f"r{i}", "title": f"205/55R16 #{i}", "description": "Sin existencia"}
                    for i in range(rows)]}]}}}


async def test_a_list_message_of_up_to_ten_rows_is_accepted(double: WhatsAppDouble) -> None:
    double.open_window(TO)
    status, _ = await _send(double, _list(10))
    assert status == 200
    assert "[Ver productos: 205/55R16 #0" in double.messages[0]["summary"]


@pytest.mark.parametrize(("body", "details"), [
    (_list(11), "at most 10 rows"),
    (_list(2, button="Ver los productos del día"), "action.button"),
    (_list(2, sections=[{"rows": [{"id": "a", "title": "x"}]},
                        {"rows": [{"id": "b", "title": "y"}]}]), "each needs a title"),
    (_list(2, sections=[{"rows": [{"id": "a", "title": "x" * 25}]}]), "1..24"),
    (_list(2, sections=[{"rows": [{"id": "a", "title": "x"}, {"id": "a", "title": "y"}]}]),
     "unique"),
])
async def test_list_limits_are_checked(double: WhatsAppDouble, body: dict[str, Any],
                                       details: str) -> None:
    double.open_window(TO)
    status, answer = await _send(double, body)
    assert (status, answer["error"]["code"]) == (400, 100)
    assert details in answer["error"]["error_data"]["details"]


async def test_a_list_outside_the_window_is_131047(double: WhatsAppDouble) -> None:
    status, answer = await _send(double, _list(3))
    assert (status, answer["error"]["code"]) == (400, 131047)
