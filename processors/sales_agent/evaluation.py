"""Accuracy of the deterministic understanding: intents, and each slot on its own.

A slot counts where the label or the understanding has a value, so a slot found where none
was expected (a false positive) is an error as much as a missed one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from processors.sales_agent.intents.corpus import LabelledMessage
from processors.sales_agent.intents.corpus import load_eval_set as _load_packaged_eval_set
from processors.sales_agent.understanding import Intent, Slots, understand

# Slots that must be empty unless a case expects them (a false positive is an error too).
CHECKED_SLOTS = ("size", "brand", "qty", "vehicle", "budget", "option", "order_id", "faq_topic")


class EvalCase(BaseModel):
    text: str
    intent: Intent
    slots: dict[str, Any] = {}


class CaseResult(BaseModel):
    text: str
    expected: Intent
    got: Intent
    slot_errors: list[str]

    @property
    def ok(self) -> bool:
        return self.expected is self.got and not self.slot_errors


class EvalReport(BaseModel):
    cases: int
    intent_accuracy: float
    slot_accuracy: float  # expected slot values found, over all expected slot values
    exact_accuracy: float  # intent right and every checked slot right
    per_slot: dict[str, float]  # per slot: right over cases where label or answer has a value
    per_slot_cases: dict[str, int]
    per_intent: dict[str, float]  # recall of each expected intent
    failures: list[CaseResult]

    @property
    def worst_slot_accuracy(self) -> float:
        return min(self.per_slot.values(), default=1.0)


def load_eval_set(path: Path | None = None) -> list[EvalCase]:
    if path is None:
        return as_cases(_load_packaged_eval_set())
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return [EvalCase.model_validate(case) for case in cases]


def as_cases(messages: Iterable[LabelledMessage]) -> list[EvalCase]:
    return [EvalCase(text=m.text, intent=m.intent, slots=m.slots) for m in messages]


def evaluate_deterministic(cases: list[EvalCase]) -> EvalReport:
    results, expected_slots, found_slots = [], 0, 0
    slot_right: Counter[str] = Counter()
    slot_seen: Counter[str] = Counter()
    intent_seen: Counter[str] = Counter()
    intent_right: Counter[str] = Counter()
    for case in cases:
        understanding = understand(case.text)
        errors = []
        for name in CHECKED_SLOTS:
            want = case.slots.get(name)
            right = _matches(name, want, understanding.slots)
            if want is not None or _value(name, understanding.slots) is not None:
                slot_seen[name] += 1
                slot_right[name] += right
            if want is not None:
                expected_slots += 1
                found_slots += right
            if not right:
                errors.append(f"{name}: want {want!r}, got {_value(name, understanding.slots)!r}")
        intent_seen[case.intent.value] += 1
        intent_right[case.intent.value] += case.intent is understanding.intent
        results.append(CaseResult(text=case.text, expected=case.intent,
                                  got=understanding.intent, slot_errors=errors))
    n = max(len(results), 1)
    return EvalReport(
        cases=len(results),
        intent_accuracy=sum(r.expected is r.got for r in results) / n,
        slot_accuracy=found_slots / max(expected_slots, 1),
        exact_accuracy=sum(r.ok for r in results) / n,
        per_slot={name: slot_right[name] / slot_seen[name] for name in CHECKED_SLOTS
                  if slot_seen[name]},
        per_slot_cases={name: slot_seen[name] for name in CHECKED_SLOTS if slot_seen[name]},
        per_intent={name: intent_right[name] / seen for name, seen in intent_seen.items()},
        failures=[r for r in results if not r.ok])


def _value(name: str, slots: Slots) -> Any:
    if name == "option":
        return slots.option if slots.option is not None else slots.option_rank
    return getattr(slots, name)


def _matches(name: str, want: Any, slots: Slots) -> bool:
    got = _value(name, slots)
    if want is None:
        return got is None
    if got is None:
        return False
    if name == "size":
        return str(got) == want
    if name == "budget":
        return got == Decimal(str(want))
    if name == "vehicle":
        return all(getattr(got, key) == value for key, value in want.items())
    return bool(got == want)
