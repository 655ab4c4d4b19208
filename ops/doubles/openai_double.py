"""A scripted OpenAI-compatible chat-completions server on loopback (tests, bench, demo).

`POST /v1/chat/completions` (non-streaming) checks what the real API checks (bearer key, model,
messages and their tool-call pairing, tools format) and answers with the real response and error
shapes. What the "model" says follows a script: a list of rules, each a regular expression on
the customer's last message and a list of steps; the step used is the number of assistant
messages since that user message, so the script is stateless and many conversations can run at
once. A step is tool calls, a final text, an HTTP error (429, 500, ...) or any of them after a
sleep. Texts and arguments may reference this turn's tool results and the agent's context:

    {{tool:search_tires.options[0].price|money}}   {{context:offered[1].product_id}}

    python -m ops.doubles.openai_double --port 8766 --script seed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web
from pydantic import BaseModel, model_validator

from ops.doubles.openai_checks import ERRORS, ApiError, check_body
from ops.doubles.openai_scripts import SCRIPTS
from processors.sales_agent.formatting import long_date, money
from processors.sales_agent.prompt import CONTEXT_HEADER
from schemas.settings import Settings

TRANSCRIPT = b"TRANSCRIPT:"
TEMPLATE = re.compile(r"\{\{\s*(tool|context):([^}|]+?)\s*(?:\|\s*(money|date))?\s*\}\}")
class ScriptedCall(BaseModel):
    name: str
    arguments: dict[str, Any] | str  # a string is sent verbatim (e.g. broken JSON)


class Step(BaseModel):
    tool_calls: list[ScriptedCall] = []
    text: str | None = None
    error: int | None = None
    sleep_s: float = 0.0

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        if sum((bool(self.tool_calls), self.text is not None, self.error is not None)) != 1:
            raise ValueError("a step has exactly one of tool_calls, text, error")
        return self


class Rule(BaseModel):
    match: str = ".*"
    steps: list[Step]


class TemplateError(Exception):
    pass


def load_script(script: str | Sequence[Rule | dict[str, Any]]) -> list[Rule]:
    raw = SCRIPTS[script] if isinstance(script, str) else script
    return [r if isinstance(r, Rule) else Rule.model_validate(r) for r in raw]


class OpenAIDouble:
    """Start with `await double.start()` (or `async with`); point the client at `base_url`."""

    def __init__(self, script: str | Sequence[Rule | dict[str, Any]] = "seed", *,
                 api_key: str = "dev-llm-key", host: str = "127.0.0.1", port: int = 0,
                 keep_requests: int = 200) -> None:
        self.rules = load_script(script)
        self.api_key = api_key
        self.host, self.port = host, port
        self.requests: deque[dict[str, Any]] = deque(maxlen=keep_requests)
        self.transcribed: deque[bytes] = deque(maxlen=keep_requests)
        self.transcription_s = 0.0
        # A real model's latency: each completion waits mean ± jitter seconds (uniform), and
        # every `timeout_every`-th one hangs for `hang_s` (the client's timeout fires first).
        self.latency_s: tuple[float, float] = (0.0, 0.0)
        self.timeout_every = 0
        self.hang_s = 30.0
        self._rng = random.Random(7)
        self.calls = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def use(self, script: str | Sequence[Rule | dict[str, Any]]) -> None:
        """Switch to another script (the running server keeps serving)."""
        self.rules = load_script(script)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self) -> None:
        self._closing.clear()
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound socket tells the real port when port=0
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._closing.set()  # wakes scripted sleeps, so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIDouble:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP
    async def _not_found(self, request: web.Request) -> web.Response:
        return ApiError(404, f"Invalid URL ({request.method} {request.path})").response()

    async def _chat(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        self.calls += 1
        try:
            self._check_auth(request)
            try:
                body = json.loads(await request.read())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ApiError(400, "We could not parse the JSON body of your request. (HINT: "
                                    "This likely means you aren't using your HTTP library "
                                    "correctly. The OpenAI API expects a JSON payload, but what "
                                    "was sent was not valid JSON.)") from None
            check_body(body)
            self.requests.append(body)
            step = self._step(body["messages"])
            await self._model_latency()
            if step.sleep_s:
                try:
                    await asyncio.wait_for(self._closing.wait(), step.sleep_s)
                except TimeoutError:
                    pass
                else:
                    raise ApiError(503, ERRORS[503][0], type_="server_error")
            if step.error is not None:
                message, type_, code = ERRORS.get(step.error, ("Scripted error.",
                                                               "server_error", None))
                raise ApiError(step.error, message.format(model=body["model"]), type_=type_,
                               code=code)
            message = self._message(step, body["messages"])
        except ApiError as exc:
            return exc.response()
        except TemplateError as exc:
            return ApiError(500, f"openai double: {exc}", type_="server_error").response()
        return web.json_response(_completion(body, message), headers={
            "x-request-id": f"req_{secrets.token_hex(12)}",
            "openai-processing-ms": str(round((time.perf_counter() - started) * 1000))})

    async def _model_latency(self) -> None:
        mean, jitter = self.latency_s
        wait = max(0.0, mean + self._rng.uniform(-jitter, jitter))
        if self.timeout_every and self.calls % self.timeout_every == 0:
            wait = self.hang_s
        if wait:
            try:
                await asyncio.wait_for(self._closing.wait(), wait)
            except TimeoutError:
                return
            raise ApiError(503, ERRORS[503][0], type_="server_error")

    async def _transcribe(self, request: web.Request) -> web.Response:
        """`POST /v1/audio/transcriptions` (multipart: file, model, language...): the scripted
        "audio" is its own transcript — bytes `TRANSCRIPT:<words>` are heard as `<words>`;
        any other audio is heard as silence (empty text)."""
        self.calls += 1
        try:
            self._check_auth(request)
            if not request.content_type.startswith("multipart/"):
                raise ApiError(400, "Invalid Content-Type header (expected multipart/form-data)")
            form = await request.post()
            upload = form.get("file")
            if not isinstance(upload, web.FileField):
                raise ApiError(400, "Missing required parameter: 'file'.", param="file",
                               code="missing_required_parameter")
            if not form.get("model"):
                raise ApiError(400, "you must provide a model parameter", param="model")
            audio = upload.file.read()
            if self.transcription_s:
                await asyncio.sleep(self.transcription_s)
        except ApiError as exc:
            return exc.response()
        self.transcribed.append(bytes(audio[:200]))
        words = audio[len(TRANSCRIPT):].decode() if audio.startswith(TRANSCRIPT) else ""
        return web.json_response({"text": words, "usage": {"type": "duration", "seconds": 3}},
                                 headers={"x-request-id": f"req_{secrets.token_hex(12)}"})

    def _check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key "
                                "in an Authorization header using Bearer auth (i.e. "
                                "Authorization: Bearer YOUR_KEY).")
        if header[7:].strip() != self.api_key:
            key = header[7:].strip()
            raise ApiError(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}. You can "
                                f"find your API key at https://platform.openai.com/account/"
                                f"api-keys.", code="invalid_api_key")

    # ------------------------------------------------------------------ the script
    def _step(self, messages: list[dict[str, Any]]) -> Step:
        last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
        said = _text(messages[last_user]) if last_user >= 0 else ""
        rule = next((r for r in self.rules if re.search(r.match, said, re.I)), None)
        if rule is None:
            raise TemplateError(f"no script rule matches {said!r}")
        answered = sum(1 for m in messages[last_user + 1:] if m["role"] == "assistant")
        return rule.steps[min(answered, len(rule.steps) - 1)]

    def _message(self, step: Step, messages: list[dict[str, Any]]) -> dict[str, Any]:
        sources = _Sources(messages)
        if step.text is not None:
            return {"role": "assistant", "content": sources.render(step.text), "refusal": None,
                    "annotations": []}
        calls = []
        for call in step.tool_calls:
            arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(
                sources.fill(call.arguments), ensure_ascii=False)
            calls.append({"id": f"call_{secrets.token_urlsafe(18)}", "type": "function",
                          "function": {"name": call.name, "arguments": arguments}})
        return {"role": "assistant", "content": None, "refusal": None, "annotations": [],
                "tool_calls": calls}


class _Sources:
    """This turn's tool results (by tool name) and the agent's context, for templates."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
        names: dict[str, str] = {}
        self.tools: dict[str, Any] = {}
        self.context: Any = None
        for index, message in enumerate(messages):
            if message["role"] == "system" and _text(message).startswith(CONTEXT_HEADER):
                self.context = json.loads(_text(message)[len(CONTEXT_HEADER):])
            for call in message.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
            if message["role"] == "tool" and index > last_user:
                try:
                    self.tools[names[message["tool_call_id"]]] = json.loads(_text(message))
                except json.JSONDecodeError:
                    continue

    def value(self, source: str, path: str) -> Any:
        if source == "tool":
            name, _, path = path.partition(".")
            if name not in self.tools:
                raise TemplateError(f"no {name} result in this turn")
            current = self.tools[name]
        else:
            current = self.context
        for part in re.findall(r"[^.\[\]]+", path):
            try:
                current = current[int(part)] if isinstance(current, list) else current[part]
            except (KeyError, IndexError, TypeError, ValueError):
                raise TemplateError(f"{source}:{path} is not in the data") from None
        return current

    def render(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            value = self.value(match[1], match[2])
            if match[3] == "money":
                return money(Decimal(str(value)))
            if match[3] == "date":
                return long_date(date.fromisoformat(str(value)))
            return str(value)

        return TEMPLATE.sub(one, text)

    def fill(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, str):
            whole = TEMPLATE.fullmatch(value.strip())
            return self.value(whole[1], whole[2]) if whole else self.render(value)
        return value


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _completion(body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = sum(len(_text(m)) for m in body["messages"]) // 4 + 1
    completion_tokens = len(json.dumps(message, ensure_ascii=False)) // 4 + 1
    return {
        "id": f"chatcmpl-{secrets.token_urlsafe(21)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default",
        "system_fingerprint": "fp_double",
    }


async def _serve(args: argparse.Namespace) -> None:
    settings = Settings()
    key = args.api_key or (settings.llm_api_key.get_secret_value() if settings.llm_api_key
                           else "dev-llm-key")
    double = OpenAIDouble(args.script, api_key=key, host=args.host, port=args.port)
    async with double:
        print(f"OpenAI double ({args.script}) on {double.base_url}; set LLM_BASE_URL to it and "
              f"LLM_API_KEY={key}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible server on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--script", default="seed", choices=sorted(SCRIPTS))
    parser.add_argument("--api-key", default=None, help="default: LLM_API_KEY or dev-llm-key")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
