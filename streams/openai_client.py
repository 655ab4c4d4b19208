"""The sales agent with an LLM: OpenAI-compatible chat completions with tools, guarded.

The model calls the agent's tools (run by `TurnSession`, the same rules as the deterministic
path), then answers; the answer is checked by the grounding guard, regenerated once if it
carries an unsupported figure, and replaced by the templated answer if it fails again. No key,
an endpoint that is down, 429, 5xx or a timeout make the turn deterministic (logged, and counted
in `TurnOutcome.fallback_reason`); after such a failure the LLM rests for `cooldown_s` so
customers do not each wait for the same timeout.

For the Faust glue:

    agent = SalesAgent.from_settings(settings, reader)    # reader: sources.erp_reader.ErpReader
    outcome = await agent.handle(table[phone], inbound)   # one call per whatsapp.inbound record
    table[phone] = outcome.state; outcome.replies -> messages.outbound;
    outcome.order -> erp.commands; outcome.handoff -> a human takes over
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic, perf_counter
from typing import Any

import aiohttp
import openai
from openai import AsyncOpenAI, DefaultAioHttpClient
from openai.types.chat import ChatCompletion, ChatCompletionMessage

from processors.sales_agent.catalog import CatalogReader
from processors.sales_agent.guard import check_reply
from processors.sales_agent.media import MediaUnreadable
from processors.sales_agent.prompt import chat_messages, correction_message
from processors.sales_agent.session import TurnSession
from processors.sales_agent.state import ConversationState
from processors.sales_agent.tire_size import find_tire_size
from processors.sales_agent.tool_args import tool_specs
from processors.sales_agent.turn import (
    GuardVerdict,
    LlmAnswer,
    LlmUnavailable,
    TurnOutcome,
    run_turn,
)
from schemas.settings import Settings
from schemas.whatsapp import InboundMessage, Media

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio and video
VISION_PROMPT = ("Read the tire size printed on the sidewall in the customer's photo (e.g. "
                 "205/55R16, LT265/70R17, 31x10.50R15). Answer with the size only, or NONE if "
                 "no size is legible.")


@dataclass(frozen=True)
class LlmConfig:
    api_key: str
    base_url: str | None
    model: str
    timeout_s: float  # per request
    max_retries: int
    turn_budget_s: float  # all LLM calls of one turn, retries included
    max_rounds: int = 5  # completions per turn (tool rounds + one regeneration)
    cooldown_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmConfig | None:
        """None when no API key is configured (the agent is then deterministic)."""
        if settings.llm_api_key is None or not settings.llm_api_key.get_secret_value():
            return None
        return cls(api_key=settings.llm_api_key.get_secret_value(),
                   base_url=settings.llm_base_url, model=settings.llm_model,
                   timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries,
                   turn_budget_s=settings.llm_timeout_s, cooldown_s=settings.llm_cooldown_s)


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0


class OpenAIResponder:
    """`LlmResponder` over an OpenAI-compatible endpoint."""

    def __init__(self, config: LlmConfig, client: AsyncOpenAI | None = None) -> None:
        self.config = config
        # The SDK's aiohttp transport: ~40 % less CPU per call than its default httpx2 one.
        self.client = client or AsyncOpenAI(api_key=config.api_key, base_url=config.base_url,
                                            timeout=config.timeout_s,
                                            max_retries=config.max_retries,
                                            http_client=DefaultAioHttpClient())
        self._tools = tool_specs()
        self._resting_until = 0.0

    def available(self) -> bool:
        return monotonic() >= self._resting_until

    async def aclose(self) -> None:
        await self.client.close()

    async def answer(self, session: TurnSession) -> LlmAnswer:
        watch = _Stopwatch()
        try:
            async with asyncio.timeout(self.config.turn_budget_s):
                return await self._answer(session, watch)
        except TimeoutError:
            raise self._unavailable("timeout", watch) from None
        except openai.RateLimitError:
            raise self._unavailable("rate_limited", watch) from None
        except openai.APITimeoutError as exc:
            raise self._unavailable(_timeout_or_unreachable(exc), watch) from None
        except openai.APIConnectionError:
            raise self._unavailable("unreachable", watch) from None
        except openai.APIStatusError as exc:
            raise self._unavailable(f"http_{exc.status_code}", watch) from None
        except openai.OpenAIError as exc:
            raise self._unavailable(type(exc).__name__, watch) from None

    def _unavailable(self, reason: str, watch: _Stopwatch) -> LlmUnavailable:
        self._resting_until = monotonic() + self.config.cooldown_s
        log.warning("sales agent: LLM %s after %d call(s), %.2f s; resting %.0f s", reason,
                    watch.calls, watch.seconds, self.config.cooldown_s)
        return LlmUnavailable(reason, watch.seconds)

    async def _answer(self, session: TurnSession, watch: _Stopwatch) -> LlmAnswer:
        messages = chat_messages(session.state, session.now)
        regenerated = False
        verdicts: list[GuardVerdict] = []
        for _ in range(self.config.max_rounds):
            message = await self._complete(messages, watch)
            if message.tool_calls:
                messages.append(message.model_dump(include={"role", "content", "tool_calls"},
                                                   exclude_none=True))
                for call in message.tool_calls:
                    function = getattr(call, "function", None)
                    result = (await session.call(function.name, function.arguments)
                              if function is not None else {"error": "unsupported tool type"})
                    messages.append({"role": "tool", "tool_call_id": call.id,
                                     "content": json.dumps(result, ensure_ascii=False)})
                continue
            text = (message.content or "").strip()
            if not text:
                raise LlmUnavailable("empty_answer", watch.seconds)
            violations = check_reply(text, session.evidence())
            verdicts.append(GuardVerdict(source="llm_regenerated" if regenerated else "llm",
                                         passed=not violations, violations=violations))
            if not violations:
                return LlmAnswer(text=text, regenerated=regenerated, verdicts=verdicts,
                                 llm_s=watch.seconds, calls=watch.calls)
            if regenerated:
                return LlmAnswer(text=None, violations=violations, regenerated=True,
                                 verdicts=verdicts, llm_s=watch.seconds, calls=watch.calls)
            log.info("sales agent: LLM answer rejected by the guard (%s); regenerating",
                     "; ".join(f"{v.kind} {v.text}" for v in violations))
            messages += [{"role": "assistant", "content": text}, correction_message(violations)]
            regenerated = True
        raise LlmUnavailable("tool_loop", watch.seconds)

    async def _complete(self, messages: list[dict[str, Any]], watch: _Stopwatch
                        ) -> ChatCompletionMessage:
        """One chat completion. `client.post` (the SDK's documented raw request) keeps its
        retries, auth and error mapping but skips `create`'s parameter transform, which costs
        several ms of CPU per call on these bodies; ours are plain JSON already."""
        started = perf_counter()
        try:
            completion = await self.client.post(
                "/chat/completions", cast_to=ChatCompletion,
                body={"model": self.config.model, "messages": messages, "tools": self._tools})
        finally:
            watch.seconds += perf_counter() - started
            watch.calls += 1
        return completion.choices[0].message


def _timeout_or_unreachable(exc: BaseException) -> str:
    """The SDK's aiohttp transport reports a refused connection as a connect timeout; the
    cause chain tells an endpoint that is down from one that is slow."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError | ConnectionRefusedError):
            return "unreachable"
        cause = cause.__cause__ or cause.__context__
    return "timeout"


class WhatsAppMedia:
    """Downloads a customer's media from the WhatsApp Cloud API: `GET /<version>/<media id>`
    gives a short-lived URL, fetched with the same bearer token."""

    def __init__(self, base_url: str, version: str, token: str, timeout_s: float = 10.0) -> None:
        self.base_url, self.version, self.token = base_url.rstrip("/"), version, token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, media: Media) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"Authorization": f"Bearer {self.token}"})
        try:
            async with self._session.get(f"{self.base_url}/{self.version}/{media.id}") as resp:
                resp.raise_for_status()
                url = (await resp.json())["url"]
            async with self._session.get(url) as resp:
                resp.raise_for_status()
                if (resp.content_length or 0) > MAX_MEDIA_BYTES:
                    raise MediaUnreadable(f"media {media.id} is larger than {MAX_MEDIA_BYTES}")
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            raise MediaUnreadable(f"media {media.id} not downloaded: {exc!r}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class OpenAIMediaReader:
    """`MediaReader` over the OpenAI-compatible endpoint: voice notes through
    `audio/transcriptions`, sidewall photos through a vision chat completion."""

    def __init__(self, client: AsyncOpenAI, fetch: Callable[[Media], Awaitable[bytes]], *,
                 transcribe_model: str | None, vision_model: str | None) -> None:
        self.client, self.fetch = client, fetch
        self.transcribe_model, self.vision_model = transcribe_model, vision_model

    def transcribes(self) -> bool:
        return self.transcribe_model is not None

    def reads_images(self) -> bool:
        return self.vision_model is not None

    async def transcribe(self, media: Media) -> str:
        audio = await self.fetch(media)
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.transcribe_model or "", language="es",
                file=(f"{media.id}.ogg", audio, media.mime_type or "audio/ogg"))
        except openai.OpenAIError as exc:
            raise MediaUnreadable(f"transcription failed: {type(exc).__name__}") from exc
        return result.text

    async def tire_size(self, media: Media) -> str | None:
        image = await self.fetch(media)
        url = f"data:{media.mime_type or 'image/jpeg'};base64,{base64.b64encode(image).decode()}"
        try:
            completion = await self.client.chat.completions.create(
                model=self.vision_model or "", messages=[
                    {"role": "system", "content": VISION_PROMPT},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Tire sidewall photo from a customer."},
                        {"type": "image_url", "image_url": {"url": url}}]}])
        except openai.OpenAIError as exc:
            raise MediaUnreadable(f"vision failed: {type(exc).__name__}") from exc
        size = find_tire_size(completion.choices[0].message.content or "")
        return str(size) if size is not None else None


class SalesAgent:
    """One call per inbound WhatsApp message; holds no conversation state of its own."""

    def __init__(self, reader: CatalogReader, llm: OpenAIResponder | None = None, *,
                 media: OpenAIMediaReader | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.reader = reader
        self.llm = llm
        self.media = media
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, reader: CatalogReader, *,
                      clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SalesAgent:
        config = LlmConfig.from_settings(settings)
        if config is None:
            log.warning("sales agent: LLM_API_KEY is not set; answering with the deterministic "
                        "dialog only")
        llm = OpenAIResponder(config) if config else None
        media = None
        if llm is not None and (settings.llm_transcribe_model or settings.llm_vision_model):
            fetch = WhatsAppMedia(settings.whatsapp_base_url, settings.whatsapp_api_version,
                                  settings.whatsapp_access_token.get_secret_value())
            media = OpenAIMediaReader(llm.client, fetch,
                                      transcribe_model=settings.llm_transcribe_model,
                                      vision_model=settings.llm_vision_model)
        return cls(reader, llm, media=media, clock=clock)

    async def handle(self, state: ConversationState | None, inbound: InboundMessage
                     ) -> TurnOutcome:
        return await run_turn(state, inbound, self.reader, now=self.clock(), llm=self.llm,
                              media=self.media)

    async def aclose(self) -> None:
        if self.media is not None and isinstance(self.media.fetch, WhatsAppMedia):
            await self.media.fetch.aclose()
        if self.llm is not None:
            await self.llm.aclose()
