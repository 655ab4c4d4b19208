"""Accuracy of the deterministic path's understanding on `eval_set.yaml`."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

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
    failures: list[CaseResult]


def load_eval_set(path: Path | None = None) -> list[EvalCase]:
    text = (path.read_text(encoding="utf-8") if path else
            files(__package__).joinpath("eval_set.yaml").read_text(encoding="utf-8"))
    return [EvalCase.model_validate(case) for case in yaml.safe_load(text)["cases"]]


def evaluate_deterministic(cases: list[EvalCase]) -> EvalReport:
    results, expected_slots, found_slots = [], 0, 0
    for case in cases:
        understanding = understand(case.text)
        errors = []
        for name in CHECKED_SLOTS:
            want = case.slots.get(name)
            if want is not None:
                expected_slots += 1
            if _matches(name, want, understanding.slots):
                found_slots += want is not None
            else:
                errors.append(f"{name}: want {want!r}, got {getattr(understanding.slots, name)!r}")
        results.append(CaseResult(text=case.text, expected=case.intent,
                                   got=understanding.intent, slot_errors=errors))
    n = max(len(results), 1)
    return EvalReport(
        cases=len(results),
        intent_accuracy=sum(r.expected is r.got for r in results) / n,
        slot_accuracy=found_slots / max(expected_slots, 1),
        exact_accuracy=sum(r.ok for r in results) / n,
        failures=[r for r in results if not r.ok])


def _matches(name: str, want: Any, slots: Slots) -> bool:
    got = getattr(slots, name)
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
