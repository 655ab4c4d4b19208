"""The intent classifier's own verdict, and the corpus it learns from (split by template)."""

from __future__ import annotations

from collections import Counter

import pytest

from ops.bench.agent_accuracy import ISSUE_SLOTS, issue_slot_accuracy
from processors.sales_agent.evaluation import as_cases, evaluate_deterministic
from processors.sales_agent.intents.classifier import classifier, features_text, fit, predict
from processors.sales_agent.intents.corpus import SPLITS, load_split, training_messages
from processors.sales_agent.intents.taxonomy import Intent


def test_corpus_is_large_varied_and_split_by_template() -> None:
    by_split = {split: load_split(split) for split in SPLITS}
    assert sum(len(by_split[s]) for s in ("train", "dev", "test")) >= 600
    owners: dict[str, str] = {}
    for split, messages in by_split.items():
        for message in messages:
            assert owners.setdefault(message.template, split) == split, message.template
    texts = Counter(m.text.lower() for messages in by_split.values() for m in messages)
    assert [t for t, n in texts.items() if n > 1] == []
    for split in ("train", "test"):  # every intent is taught and measured
        assert {m.intent for m in by_split[split]} == set(Intent)


def test_test_split_meets_the_targets() -> None:
    report = evaluate_deterministic(as_cases(load_split("test")))
    assert report.intent_accuracy >= 0.90, [(f.text, f.got) for f in report.failures]
    assert issue_slot_accuracy(report) >= 0.95, report.per_slot
    assert set(ISSUE_SLOTS) <= set(report.per_slot)


@pytest.mark.parametrize(("text", "intent"), [
    ("kiero saver kuando yegan mis yantas", Intent.ORDER_STATUS),  # typos everywhere
    ("me haces la factura de lo ke compre", Intent.INVOICE),
    ("tengo una flotiya de camionetas, precio espesial?", Intent.FLEET),
    ("cambiar la entrega pal sabado", Intent.RESCHEDULE),
    ("ponme con alguien real", Intent.HANDOFF),
    ("gracias crack", Intent.THANKS),
    ("el juego de 195/65R15", Intent.QUOTE),
])
def test_classifier_alone_generalises_to_unseen_phrasings(text: str, intent: Intent) -> None:
    assert predict(text).intent is intent  # the model's verdict, no rule on top


def test_features_hide_which_size_brand_vehicle_or_year() -> None:
    assert features_text("4 Michelin 205/55R16 para Jetta 2020") == \
        "4 zzmarca zzmedida para zzauto zzanio"


def test_the_model_is_fitted_once_per_process_and_learns_only_from_train() -> None:
    assert classifier() is classifier()
    assert {m.split for m in training_messages()} == {"train", "eval_set"}
    tiny = fit(tuple(m for m in training_messages()
                     if m.intent in (Intent.GREETING, Intent.THANKS, Intent.DECLINE)))
    assert predict("muchas gracias", tiny).intent is Intent.THANKS
    assert predict("buenas tardes", tiny).intent is Intent.GREETING
    assert set(tiny.classes_) == {"greeting", "thanks", "decline"}
