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
import json
import logging
from collections.abc import Callable
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
from processors.sales_agent.prompt import chat_messages, correction_message
from processors.sales_agent.session import TurnSession
from processors.sales_agent.state import ConversationState
from processors.sales_agent.tool_args import tool_specs
from processors.sales_agent.turn import (
    GuardVerdict,
    LlmAnswer,
    LlmUnavailable,
    TurnOutcome,
    run_turn,
)
from schemas.settings import Settings
from schemas.whatsapp import InboundMessage

log = logging.getLogger(__name__)


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
                   turn_budget_s=settings.llm_timeout_s)


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


class SalesAgent:
    """One call per inbound WhatsApp message; holds no conversation state of its own."""

    def __init__(self, reader: CatalogReader, llm: OpenAIResponder | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.reader = reader
        self.llm = llm
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, reader: CatalogReader, *,
                      clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SalesAgent:
        config = LlmConfig.from_settings(settings)
        if config is None:
            log.warning("sales agent: LLM_API_KEY is not set; answering with the deterministic "
                        "dialog only")
        return cls(reader, OpenAIResponder(config) if config else None, clock=clock)

    async def handle(self, state: ConversationState | None, inbound: InboundMessage
                     ) -> TurnOutcome:
        return await run_turn(state, inbound, self.reader, now=self.clock(), llm=self.llm)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()
