"""What customers send besides text: photos, voice notes, locations, reactions, stickers.

`read_media(inbound, reader)` turns a message into what the turn works with: text to understand
(a caption; a voice note's transcript; the size read from a photo of the sidewall), a direct
reply (ask for the size printed on the sidewall, ask the customer to type, a polite word for what
the agent cannot read), or nothing at all (a reaction). Transcription and reading photos go
through an injected `MediaReader` (the OpenAI-compatible endpoints, `streams/openai_client.py`);
without one, or when it fails, the customer is asked to write instead.

A location is answered by the `nearest_branch` tool: the branch nearest to the point and whether
home delivery reaches it (`branches.DELIVERY_RADIUS_KM` from that branch, straight line).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from processors.sales_agent.replies import Reply
from processors.sales_agent.tool_results import NearestBranchResult
from schemas.whatsapp import InboundMessage, Media

log = logging.getLogger(__name__)

ASK_SIDEWALL = ("¡Gracias por la foto! No alcanzo a leer la medida en la imagen. ¿Me la escribes? "
                "Viene en el costado de la llanta, por ejemplo 205/55R16.")
ASK_TYPE = ("Por ahora no puedo escuchar notas de voz. ¿Me escribes lo que necesitas? Por "
            "ejemplo: la medida de tu llanta (205/55R16) o tu vehículo y año.")
POLITE = ("¡Gracias! Por este medio te ayudo con texto: cotizar llantas (dime la medida o tu "
          "vehículo), revisar tu pedido o resolver dudas.")


class MediaUnreadable(Exception):  # noqa: N818 - reads as a state
    """The media could not be downloaded, transcribed or read."""


class MediaReader(Protocol):
    def transcribes(self) -> bool:
        """True when a transcription endpoint is configured."""
        ...

    def reads_images(self) -> bool:
        """True when a vision (or OCR) endpoint is configured."""
        ...

    async def transcribe(self, media: Media) -> str:
        """The words of a voice note; raises MediaUnreadable."""
        ...

    async def tire_size(self, media: Media) -> str | None:
        """The tire size printed on the sidewall in a photo, None if none is legible; raises
        MediaUnreadable."""
        ...


@dataclass(frozen=True)
class MediaInput:
    text: str | None = None  # what to understand as the customer's words
    reply: Reply | None = None  # answer this directly
    silent: bool = False  # no reply at all (a reaction)
    source: str = "text"  # text, caption, transcript, photo_size, location, ...


async def read_media(inbound: InboundMessage, reader: MediaReader | None) -> MediaInput:
    """What the turn should understand or answer for `inbound` (text messages pass through)."""
    typed = inbound.text or inbound.button_title
    if inbound.kind == "reaction":
        return MediaInput(silent=True, source="reaction")
    if typed:
        return MediaInput(text=typed, source="caption" if inbound.media else "text")
    if inbound.kind == "location":
        return MediaInput(source="location")
    if inbound.kind == "audio" and inbound.media is not None:
        return await _voice(inbound.media, reader)
    if inbound.kind == "image" and inbound.media is not None:
        return await _photo(inbound.media, reader)
    if inbound.kind in ("text", "button", "interactive"):
        return MediaInput(text="", source="text")
    return MediaInput(reply=Reply(text=POLITE), source=inbound.kind)


async def _voice(media: Media, reader: MediaReader | None) -> MediaInput:
    if reader is None or not reader.transcribes():
        return MediaInput(reply=Reply(text=ASK_TYPE), source="voice_untranscribed")
    try:
        words = (await reader.transcribe(media)).strip()
    except MediaUnreadable as exc:
        log.warning("sales agent: voice note %s not transcribed (%s)", media.id, exc)
        words = ""
    if not words:
        return MediaInput(reply=Reply(text=ASK_TYPE), source="voice_untranscribed")
    return MediaInput(text=words, source="transcript")


async def _photo(media: Media, reader: MediaReader | None) -> MediaInput:
    if reader is None or not reader.reads_images():
        return MediaInput(reply=Reply(text=ASK_SIDEWALL), source="photo")
    try:
        size = await reader.tire_size(media)
    except MediaUnreadable as exc:
        log.warning("sales agent: photo %s not read (%s)", media.id, exc)
        size = None
    if not size:
        return MediaInput(reply=Reply(text=ASK_SIDEWALL), source="photo")
    return MediaInput(text=size, source="photo_size")


def location_reply(result: NearestBranchResult) -> Reply:
    where = f"{result.branch} ({result.city}), a unos {result.distance_km} km"
    if result.delivers:
        return Reply(text=f"Tu sucursal más cercana es {where}. ¡Sí llegamos con entrega a "
                          f"domicilio a esa ubicación! ¿Qué medida o vehículo buscas?")
    return Reply(text=f"Tu sucursal más cercana es {where}. Esa ubicación queda fuera de nuestra "
                      f"zona de entrega a domicilio, pero puedes apartar por aquí y recoger en "
                      f"sucursal. ¿Qué medida o vehículo buscas?")
