"""Photos, voice notes, locations, reactions and stickers: carried in the contract, answered.

Meta's documented webhook shapes are parsed into `InboundMessage` (caption, media id and type,
voice flag, coordinates and address, reaction); the agent reads a caption as text, asks for the
size on the sidewall for a photo without one (or reads it through the vision endpoint), has a
voice note transcribed through `audio/transcriptions` (or asks the customer to type), answers a
location with the nearest branch and whether delivery reaches it, and does not answer a
reaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from openai import AsyncOpenAI

from ops.doubles.openai_double import OpenAIDouble
from processors.sales_agent import media as media_replies
from processors.sales_agent.guard import check_reply
from processors.sales_agent.turn import TurnOutcome, run_turn
from schemas.whatsapp import InboundMessage, Media
from sources.whatsapp_webhook.notifications import parse_notification
from streams.openai_client import OpenAIMediaReader
from tests.unit.test_agent_dialog import JOSE, NOW, MemoryCatalog

KEY = "media-key"
RECEIVED = datetime(2026, 11, 24, 17, 45, tzinfo=UTC)


def meta_message(kind: str, body: dict[str, Any] | None = None, *, wamid: str = "wamid.m1",
                 phone: str = JOSE, **extra: Any) -> dict[str, Any]:
    """One message of a `whatsapp_business_account` notification, as Meta documents it."""
    item: dict[str, Any] = {"from": phone, "id": wamid, "timestamp": "1764006300", "type": kind,
                            **extra}
    if body is not None:
        item[kind] = body
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "José"}, "wa_id": phone}],
            "messages": [item]}}]}]}


IMAGE_CAPTION = meta_message("image", {"caption": "cuánto las 205/55R16?", "mime_type":
                                       "image/jpeg", "sha256": "abc=", "id": "media.img1"})
IMAGE = meta_message("image", {"mime_type": "image/jpeg", "sha256": "abc=", "id": "media.img2"})
VOICE = meta_message("audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": "v=",
                               "id": "media.voice1", "voice": True})
LOCATION = meta_message("location", {"latitude": 25.6866, "longitude": -100.3161,
                                     "name": "Casa", "address": "Av. Juárez 10, Monterrey"})
FAR = meta_message("location", {"latitude": 19.4326, "longitude": -99.1332})
REACTION = meta_message("reaction", {"message_id": "wamid.ours", "emoji": "👍"})
STICKER = meta_message("sticker", {"mime_type": "image/webp", "sha256": "s=", "id": "media.st",
                                   "animated": False})
UNSUPPORTED = meta_message("unsupported", errors=[{
    "code": 131051, "title": "Message type unknown",
    "error_data": {"details": "Message type is currently not supported."}}])


def inbound(payload: dict[str, Any]) -> InboundMessage:
    parsed = parse_notification(payload, RECEIVED)
    assert not parsed.rejects, parsed.rejects
    (message,) = parsed.messages
    return message


def test_each_kind_carries_its_content() -> None:
    image = inbound(IMAGE_CAPTION)
    assert (image.kind, image.text) == ("image", "cuánto las 205/55R16?")
    assert image.media == Media(id="media.img1", mime_type="image/jpeg", sha256="abc=")
    voice = inbound(VOICE)
    assert voice.kind == "audio" and voice.media is not None and voice.media.voice
    assert voice.media.mime_type == "audio/ogg; codecs=opus" and voice.text is None
    where = inbound(LOCATION)
    assert where.location is not None and where.location.latitude == 25.6866
    assert where.location.address == "Av. Juárez 10, Monterrey"
    reaction = inbound(REACTION)
    assert reaction.reaction is not None and reaction.reaction.emoji == "👍"
    assert reaction.reaction.message_id == "wamid.ours"
    sticker = inbound(STICKER)
    assert sticker.kind == "sticker" and sticker.media is not None
    unsupported = inbound(UNSUPPORTED)
    assert (unsupported.kind, unsupported.error_code) == ("unsupported", 131051)


def test_a_location_out_of_range_is_a_reject_not_a_crash() -> None:
    bad = meta_message("location", {"latitude": 123.0, "longitude": -99.0})
    parsed = parse_notification(bad, RECEIVED)
    assert not parsed.messages and parsed.rejects[0][0] == "message"


def _sent(outcome: TurnOutcome) -> str:
    assert outcome.evidence is not None
    for reply in outcome.replies:
        assert check_reply(reply.text or "", outcome.evidence) == []
    return "\n".join(r.text or "" for r in outcome.replies)


async def test_without_a_media_endpoint() -> None:
    catalog = MemoryCatalog()
    caption = _sent(await run_turn(None, inbound(IMAGE_CAPTION), catalog, now=NOW))
    assert "Michelin" in caption and "c/u" in caption  # the caption was read as the question
    photo = _sent(await run_turn(None, inbound(IMAGE), catalog, now=NOW))
    assert photo == media_replies.ASK_SIDEWALL
    voice = _sent(await run_turn(None, inbound(VOICE), catalog, now=NOW))
    assert voice == media_replies.ASK_TYPE
    near = _sent(await run_turn(None, inbound(LOCATION), catalog, now=NOW))
    assert "Sucursal Monterrey Centro" in near and "Sí llegamos" in near
    far = _sent(await run_turn(None, inbound(FAR), catalog, now=NOW))
    assert "fuera de nuestra zona" in far
    for payload in (STICKER, UNSUPPORTED):
        assert _sent(await run_turn(None, inbound(payload), catalog, now=NOW)) == \
            media_replies.POLITE


async def test_a_reaction_gets_no_reply_even_when_redelivered() -> None:
    message = inbound(REACTION)
    first = await run_turn(None, message, MemoryCatalog(), now=NOW)
    assert first.replies == [] and first.path == "no_reply"
    again = await run_turn(first.state, message, MemoryCatalog(), now=NOW)
    assert again.replies == [] and again.path == "duplicate"
    assert first.state.turns == []


@pytest.fixture
async def reader() -> AsyncIterator[tuple[OpenAIDouble, OpenAIMediaReader, dict[str, bytes]]]:
    vision = [{"match": "sidewall", "steps": [{"text": "205/55R16"}]}]
    stored = {"media.voice1": b"TRANSCRIPT:oye cuanto me cuestan 4 llantas 205/55R16",
              "media.img2": b"\xff\xd8jpeg"}

    async def fetch(media: Media) -> bytes:
        return stored[media.id]

    async with OpenAIDouble(vision, api_key=KEY) as double:
        client = AsyncOpenAI(api_key=KEY, base_url=double.base_url, max_retries=0, timeout=5)
        yield double, OpenAIMediaReader(client, fetch, transcribe_model="whisper-1",
                                        vision_model="gpt-4o-mini"), stored
        await client.close()


async def test_voice_notes_are_transcribed_and_photos_read(
        reader: tuple[OpenAIDouble, OpenAIMediaReader, dict[str, bytes]]) -> None:
    double, media, stored = reader
    catalog = MemoryCatalog()
    voice = await run_turn(None, inbound(VOICE), catalog, now=NOW, media=media)
    assert "Michelin" in _sent(voice) and double.transcribed[-1] == stored["media.voice1"]
    assert voice.state.turns[0].text == "oye cuanto me cuestan 4 llantas 205/55R16"
    photo = await run_turn(None, inbound(IMAGE), catalog, now=NOW, media=media)
    assert "205/55R16" in _sent(photo) and "c/u" in _sent(photo)
    request = double.requests[-1]["messages"][-1]["content"]
    assert request[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")

    stored["media.voice1"] = b"OggS..."  # audio the model hears as silence: ask to type
    silent = await run_turn(None, inbound(VOICE), catalog, now=NOW, media=media)
    assert _sent(silent) == media_replies.ASK_TYPE
    double.use([{"steps": [{"text": "NONE"}]}])  # no legible size on the photo
    blurry = await run_turn(None, inbound(IMAGE), catalog, now=NOW, media=media)
    assert _sent(blurry) == media_replies.ASK_SIDEWALL
