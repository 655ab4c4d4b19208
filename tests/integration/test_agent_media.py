"""Media messages through the signed webhook on the real broker, then answered by the agent.

Each of Meta's documented shapes (image with and without a caption, voice note, location,
reaction, sticker, unsupported) is posted signed to the webhook ingress, read back from
`whatsapp.inbound` with its content, and given to the agent's turn.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ops.stack.processes import free_port
from ops.topics_admin import apply_catalogue
from processors.sales_agent import media as media_replies
from processors.sales_agent.guard import check_reply
from processors.sales_agent.turn import run_turn
from schemas.whatsapp import InboundMessage
from sources.whatsapp_webhook import HEADER, WEBHOOK_PATH, build_webhook_app, sign, webhook_producer
from tests.integration.test_sinks_webhook import _read
from tests.stack_fixture import TestStack
from tests.unit.test_agent_dialog import NOW, MemoryCatalog
from tests.unit.test_agent_media import (
    FAR,
    IMAGE,
    IMAGE_CAPTION,
    LOCATION,
    REACTION,
    STICKER,
    UNSUPPORTED,
    VOICE,
    meta_message,
)

pytestmark = pytest.mark.integration
SECRET = "media-webhook-secret"
PHONE = "5218120007919"  # José, a customer of the unit catalogue


@pytest.fixture(scope="module")
async def webhook(stack: TestStack) -> AsyncIterator[tuple[str, Any]]:
    settings = stack.settings(WHATSAPP_APP_SECRET=SECRET)
    apply_catalogue(settings)
    producer = webhook_producer(settings)
    await producer.start()
    runner = web.AppRunner(build_webhook_app(settings, producer))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{WEBHOOK_PATH}", settings
    finally:
        await runner.cleanup()
        await producer.stop()


def _as(payload: dict[str, Any], wamid: str) -> bytes:
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    return json.dumps({**payload, "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {**payload["entry"][0]["changes"][0]["value"],
                  "messages": [{**message, "id": wamid}]}}]}]}).encode()


async def test_every_kind_through_the_signed_webhook(webhook: tuple[str, Any]) -> None:
    url, settings = webhook
    cases = {"image_caption": IMAGE_CAPTION, "image": IMAGE, "voice": VOICE,
             "location": LOCATION, "far": FAR, "reaction": REACTION, "sticker": STICKER,
             "unsupported": UNSUPPORTED}
    async with aiohttp.ClientSession() as http:
        for name, payload in cases.items():
            body = _as(payload, f"wamid.media.{name}")
            async with http.post(url, data=body, headers={
                    "Content-Type": "application/json", HEADER: sign(SECRET.encode(), body)}
                    ) as resp:
                assert resp.status == 200, (name, await resp.text())
    values = await _read(settings, "whatsapp.inbound", PHONE.encode(), len(cases))
    received = {m.message_id.removeprefix("wamid.media."): m
                for m in (InboundMessage.model_validate_json(v) for v in values)}
    assert set(received) == set(cases)
    assert received["voice"].media is not None and received["voice"].media.voice
    assert received["image_caption"].text == "cuánto las 205/55R16?"
    assert received["location"].location is not None

    catalog, sent = MemoryCatalog(), {}
    for name, message in received.items():
        outcome = await run_turn(None, message, catalog, now=NOW)
        assert outcome.evidence is not None or outcome.path == "no_reply"
        for reply in outcome.replies:
            assert check_reply(reply.text or "", outcome.evidence) == []  # type: ignore[arg-type]
        sent[name] = "\n".join(r.text or "" for r in outcome.replies)
    assert "c/u" in sent["image_caption"]
    assert sent["image"] == media_replies.ASK_SIDEWALL
    assert sent["voice"] == media_replies.ASK_TYPE
    assert "Sí llegamos" in sent["location"] and "fuera de nuestra zona" in sent["far"]
    assert sent["reaction"] == ""
    assert sent["sticker"] == sent["unsupported"] == media_replies.POLITE


def test_payload_helper_keeps_meta_shape() -> None:
    assert json.loads(_as(meta_message("image", {"id": "x"}), "wamid.z"))["entry"][0][
        "changes"][0]["value"]["messages"][0]["id"] == "wamid.z"
