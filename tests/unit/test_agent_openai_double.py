"""The scripted OpenAI-compatible server answers and refuses like the real API."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from ops.doubles.openai_double import OpenAIDouble
from processors.sales_agent.prompt import CONTEXT_HEADER
from processors.sales_agent.tool_args import tool_specs

KEY = "test-key"
SCRIPT: list[dict[str, Any]] = [
    {"match": "jetta", "steps": [
        {"tool_calls": [{"name": "search_tires", "arguments": {
            "vehicle_model": "Jetta", "qty": "{{context:search.qty}}"}}]},
        {"text": "{{tool:search_tires.options[0].brand}} a "
                 "{{tool:search_tires.options[0].price|money}} c/u"}]},
    {"match": "limite", "steps": [{"error": 429}]},
    {"match": "roto", "steps": [{"text": "{{tool:search_tires.options[9].price}}"}]},
]


@pytest.fixture
async def double() -> AsyncIterator[OpenAIDouble]:
    async with OpenAIDouble(SCRIPT, api_key=KEY) as running:
        yield running


def _client(double: OpenAIDouble, key: str = KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=double.base_url, max_retries=0, timeout=5)


def _messages(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You sell tires."},
            {"role": "system", "content": f'{CONTEXT_HEADER} {{"search": {{"qty": 4}}}}'},
            {"role": "user", "content": text}]


async def test_tool_call_then_templated_answer(double: OpenAIDouble) -> None:
    client = _client(double)
    messages = _messages("llantas para jetta")
    first = await client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                 tools=tool_specs())
    assert first.object == "chat.completion" and first.id.startswith("chatcmpl-")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.type == "function" and call.function.name == "search_tires"
    assert json.loads(call.function.arguments) == {"vehicle_model": "Jetta", "qty": 4}
    assert first.usage is not None and first.usage.total_tokens > 0

    messages += [choice.message.model_dump(include={"role", "content", "tool_calls"}),
                 {"role": "tool", "tool_call_id": call.id, "content": json.dumps(
                     {"options": [{"brand": "Michelin", "price": "2889.00"}]})}]
    second = await client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                  tools=tool_specs())
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Michelin a $2,889 c/u"
    assert double.requests[-1]["messages"][-1]["role"] == "tool"
    await client.close()


async def test_wrong_key_and_rate_limit_raise_the_real_errors(double: OpenAIDouble) -> None:
    with pytest.raises(openai.AuthenticationError) as auth:
        await _client(double, "sk-wrong-key").chat.completions.create(
            model="m", messages=_messages("hola jetta"))
    assert auth.value.code == "invalid_api_key"
    with pytest.raises(openai.RateLimitError) as limited:
        await _client(double).chat.completions.create(model="m",
                                                      messages=_messages("limite"))
    assert limited.value.code == "rate_limit_exceeded"
    assert "Rate limit reached for m" in limited.value.message


@pytest.mark.parametrize(("body", "message", "param"), [
    ({"messages": [{"role": "user", "content": "x"}]}, "you must provide a model parameter",
     None),
    ({"model": "m"}, "Missing required parameter: 'messages'.", "messages"),
    ({"model": "m", "messages": []}, "Invalid 'messages': empty array.", "messages"),
    ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "Invalid value: 'robot'",
     "messages[0].role"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"},
                                 {"role": "tool", "tool_call_id": "call_1", "content": "{}"}]},
     "messages with role 'tool' must be a response", "messages.[1].role"),
    ({"model": "m", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "faq", "arguments": "{}"}}]},
        {"role": "user", "content": "y"}]},
     "did not have response messages: call_1", "messages.[1].role"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "no spaces"}}]},
     "does not match pattern", "tools[0].function.name"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}],
      "tools": [{"function": {"name": "faq"}}]}, "Missing required parameter: 'tools[0].type'",
     "tools[0].type"),
])
async def test_bad_bodies_get_400_with_the_real_error_shape(
        double: OpenAIDouble, body: dict[str, Any], message: str, param: str | None) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{double.base_url}/chat/completions", json=body,
                                   headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert message in error["message"] and error["param"] == param
    assert error["type"] == "invalid_request_error"


async def test_unparseable_json_and_unknown_routes(double: OpenAIDouble) -> None:
    async with httpx.AsyncClient() as http:
        broken = await http.post(f"{double.base_url}/chat/completions", content=b"{nope",
                                 headers={"Authorization": f"Bearer {KEY}"})
        missing = await http.post(f"{double.base_url}/embeddings", json={},
                                  headers={"Authorization": f"Bearer {KEY}"})
        anonymous = await http.post(f"{double.base_url}/chat/completions", json={})
    assert broken.status_code == 400 and "could not parse the JSON" in broken.text
    assert missing.status_code == 404 and "Invalid URL" in missing.json()["error"]["message"]
    assert anonymous.status_code == 401 and "didn't provide an API key" in anonymous.text


async def test_an_unresolvable_template_is_a_loud_500(double: OpenAIDouble) -> None:
    with pytest.raises(openai.InternalServerError, match="no search_tires result"):
        await _client(double).chat.completions.create(model="m", messages=_messages("roto"))
    with pytest.raises(openai.InternalServerError, match="no script rule"):
        await _client(double).chat.completions.create(model="m", messages=_messages("nada"))


async def test_runs_standalone_with_a_named_script() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.doubles.openai_double", "--port", str(port), "--script",
         "seed", "--api-key", KEY], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        assert f"127.0.0.1:{port}/v1" in banner
        client = AsyncOpenAI(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1",
                             max_retries=0)
        answer = await client.chat.completions.create(model="m", messages=[
            {"role": "user", "content": "hola"}])
        assert "medida" in (answer.choices[0].message.content or "")
        await client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
