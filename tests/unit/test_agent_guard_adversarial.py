"""The grounding guard against adversarial model replies, and `run_turn` never sending one.

The suite (`ops/bench/agent_guard.py`) holds every escape the issue lists — a bare number after a
price word, a total without a currency sign, decimals, amounts in words, another currency, a real
price of another option, the list price quoted to a workshop — and more. The tests assert the
guard's own verdict; the end-to-end test has the scripted model answer each reply (twice: the
regeneration says it again) and fails if the text `run_turn` sends is one the guard rejects.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ops.bench.agent_guard import ADVERSARIAL, GROUNDED, evidence, guard_escapes, record
from ops.doubles.openai_double import OpenAIDouble
from processors.sales_agent.guard import check_reply
from processors.sales_agent.turn import run_turn
from streams.openai_client import LlmConfig, OpenAIResponder
from tests.unit.test_agent_dialog import NOW, TALLER, MemoryCatalog, _inbound

KEY = "guard-key"
ASKED = "¿cuánto cuestan 4 llantas 205/55R16?"


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_the_guard_rejects_every_adversarial_reply(text: str) -> None:
    assert check_reply(text, evidence()) != [], text


@pytest.mark.parametrize("text", GROUNDED)
def test_the_guard_passes_grounded_replies(text: str) -> None:
    assert check_reply(text, evidence()) == []


def test_the_suite_is_large_enough_and_nothing_escapes(tmp_path: Path) -> None:
    assert len(ADVERSARIAL) >= 50
    assert guard_escapes() == 0
    out = tmp_path / "agent.json"
    out.write_text(json.dumps({"intent_accuracy_test": 0.93}))
    record(out)
    assert json.loads(out.read_text()) == {"intent_accuracy_test": 0.93, "guard_escapes": 0,
                                           "guard_adversarial_replies": len(ADVERSARIAL)}


def test_the_customers_own_numbers_never_ground_a_price() -> None:
    facts = evidence()
    assert check_reply("Tu pedido 1000123 y tus 4 llantas.", facts) == []
    assert check_reply("Te quedan en $4 c/u", facts) != []
    assert check_reply("Te quedan en $1000123", facts) != []


@pytest.fixture
async def responder() -> AsyncIterator[tuple[OpenAIDouble, OpenAIResponder]]:
    async with OpenAIDouble([{"steps": [{"text": "placeholder"}]}], api_key=KEY) as double:
        config = LlmConfig(api_key=KEY, base_url=double.base_url, model="gpt-4o-mini",
                           timeout_s=5, max_retries=0, turn_budget_s=10)
        llm = OpenAIResponder(config)
        yield double, llm
        await llm.aclose()


async def test_run_turn_never_sends_a_reply_the_guard_rejected(
        responder: tuple[OpenAIDouble, OpenAIResponder]) -> None:
    double, llm = responder
    catalog = MemoryCatalog()
    for text in ADVERSARIAL:
        # A real search, then the adversarial answer; the correction gets the same answer.
        double.use([{"steps": [
            {"tool_calls": [{"name": "search_tires",
                             "arguments": {"size": "205/55R16", "qty": 4}}]},
            {"text": text}]}])
        outcome = await run_turn(None, _inbound(TALLER, ASKED), catalog, now=NOW, llm=llm)
        assert outcome.evidence is not None
        verdicts = [(v.source, v.passed) for v in outcome.guard_verdicts]
        assert verdicts[:2] == [("llm", False), ("llm_regenerated", False)], (text, verdicts)
        assert outcome.path == "template_fallback"
        assert verdicts[2:] == [("template", True)], (text, verdicts)
        for reply in outcome.replies:
            assert reply.text is not None and text not in reply.text
            assert check_reply(reply.text, outcome.evidence) == [], (text, reply.text)


async def test_a_grounded_llm_reply_is_sent_as_written(
        responder: tuple[OpenAIDouble, OpenAIResponder]) -> None:
    double, llm = responder
    said = ("La {{tool:search_tires.options[0].brand}} {{tool:search_tires.options[0].model}} "
            "queda en {{tool:search_tires.options[0].price|money}} c/u, total "
            "{{tool:search_tires.options[0].total|money}} por las 4.")
    double.use([{"steps": [{"tool_calls": [{"name": "search_tires", "arguments": {
        "size": "205/55R16", "qty": 4}}]}, {"text": said}]}])
    outcome = await run_turn(None, _inbound(TALLER, ASKED), MemoryCatalog(), now=NOW, llm=llm)
    assert outcome.path == "llm"
    assert [(v.source, v.passed) for v in outcome.guard_verdicts] == [("llm", True),
                                                                       ("llm", True)]
    assert outcome.replies[0].text == "La Michelin Primacy 4 queda en $2,657.88 c/u, total " \
                                      "$10,631.52 por las 4."


def test_the_llm_cooldown_comes_from_the_settings() -> None:
    from schemas.settings import Settings

    settings = Settings(LLM_API_KEY="k", LLM_COOLDOWN_S="5")  # type: ignore[call-arg]
    config = LlmConfig.from_settings(settings)
    assert config is not None and config.cooldown_s == 5.0
    assert LlmConfig.from_settings(Settings(LLM_API_KEY="k")).cooldown_s == 30.0  # type: ignore
