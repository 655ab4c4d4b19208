"""The sales agent's understanding on the corpus (`processors/sales_agent/intents/corpus`):
intent accuracy and per-slot accuracy on each split, and the time `understand` adds per message.

The test split is never used for tuning; the holdout split was written after a first test run
had informed one revision. `record()` merges `intent_accuracy_test` and `slot_accuracy_test`
(the worst of the issue's slots: size, quantity, brand, vehicle) into
`ops/bench/results/agent.json`, keeping the keys other parts of `bench agent` wrote.
Quick run: `python -m ops.bench.agent_accuracy`.
"""

from __future__ import annotations

import json
from pathlib import Path
from time import perf_counter
from typing import Any

from ops.bench.report import percentile
from processors.sales_agent.evaluation import EvalReport, as_cases, evaluate_deterministic
from processors.sales_agent.intents.classifier import classifier, fit
from processors.sales_agent.intents.corpus import SPLITS, load_split, training_messages
from processors.sales_agent.understanding import understand

RESULTS = Path("ops/bench/results/agent.json")
INTENT_TARGET = 0.90
SLOT_TARGET = 0.95
ISSUE_SLOTS = ("size", "qty", "brand", "vehicle")


def reports() -> dict[str, EvalReport]:
    return {split: evaluate_deterministic(as_cases(load_split(split))) for split in SPLITS}


def issue_slot_accuracy(report: EvalReport) -> float:
    return min(report.per_slot.get(name, 1.0) for name in ISSUE_SLOTS)


def understand_ms() -> tuple[float, float, float]:
    """Fit time of the classifier (what the first use in a process pays), and p50/p99 of
    `understand` once fitted."""
    started = perf_counter()
    fit(training_messages())
    fit_ms = (perf_counter() - started) * 1000
    classifier()
    texts = [m.text for split in SPLITS for m in load_split(split)]
    times = []
    for text in texts * 3:
        started = perf_counter()
        understand(text)
        times.append((perf_counter() - started) * 1000)
    return fit_ms, percentile(times, 50), percentile(times, 99)


def accuracy_rows(by_split: dict[str, EvalReport]) -> list[dict[str, Any]]:
    rows = []
    for split, result in by_split.items():
        slots = issue_slot_accuracy(result)
        rows.append({
            "measure": f"understanding, {split} split ({result.cases} messages)",
            "value": f"intent {result.intent_accuracy:.3f}; slots (worst of size/qty/brand/"
                     f"vehicle) {slots:.3f}",
            "target": f"intent >= {INTENT_TARGET}, each slot >= {SLOT_TARGET}"
                      if split == "test" else "",
            "met": ("yes" if result.intent_accuracy >= INTENT_TARGET and slots >= SLOT_TARGET
                    else "NO") if split == "test" else "",
            "note": "; ".join(f"{k} {v:.3f} (n={result.per_slot_cases[k]})"
                              for k, v in result.per_slot.items())})
    return rows


def record(path: Path = RESULTS) -> dict[str, Any]:
    """Merge the accuracy keys into the agent results (read-modify-write)."""
    by_split = reports()
    fit_ms, p50, p99 = understand_ms()
    keys: dict[str, Any] = {
        "intent_accuracy_test": round(by_split["test"].intent_accuracy, 4),
        "slot_accuracy_test": round(issue_slot_accuracy(by_split["test"]), 4),
        "understanding_fit_ms": round(fit_ms, 1),
        "understand_ms_p50": round(p50, 3), "understand_ms_p99": round(p99, 3)}
    for split, result in by_split.items():
        keys[f"understanding_{split}"] = {
            "messages": result.cases, "intent_accuracy": round(result.intent_accuracy, 4),
            "slot_accuracy": {k: round(v, 4) for k, v in result.per_slot.items()},
            "intent_recall": {k: round(v, 4) for k, v in result.per_intent.items()}}
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, default=str))
    return keys


if __name__ == "__main__":
    from ops.bench.report import report

    recorded = record()
    report("agent_accuracy", accuracy_rows(reports()))
    print(json.dumps(recorded, indent=2))
