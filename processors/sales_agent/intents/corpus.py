"""The labelled corpus of customer messages (`corpus/{train,dev,test}.yaml`), split by phrasing
template: a template's messages are all in one split, so the dev and test scores measure
phrasings the classifier never saw. `eval_set.yaml` (the rules' original regression set) is
training data too. The test split is never used for tuning; the holdout split was written after
a first test run had informed one revision, and measures what that revision did not see."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from processors.sales_agent.intents.taxonomy import Intent

Split = Literal["train", "dev", "test", "holdout"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test", "holdout")


class LabelledMessage(BaseModel):
    text: str
    intent: Intent
    slots: dict[str, Any] = {}
    template: str
    split: Split | Literal["eval_set"]


@cache
def load_split(split: Split) -> tuple[LabelledMessage, ...]:
    raw = yaml.safe_load(files(__package__).joinpath("corpus", f"{split}.yaml")
                         .read_text(encoding="utf-8"))
    messages = []
    for template, body in raw["templates"].items():
        intent = Intent(body["intent"])
        for item in body["messages"]:
            text, slots = (item, {}) if isinstance(item, str) else (item[0], item[1] or {})
            messages.append(LabelledMessage(text=text, intent=intent, slots=slots,
                                            template=template, split=split))
    return tuple(messages)


@cache
def load_eval_set() -> tuple[LabelledMessage, ...]:
    raw = yaml.safe_load(files("processors.sales_agent").joinpath("eval_set.yaml")
                         .read_text(encoding="utf-8"))
    return tuple(LabelledMessage(text=c["text"], intent=Intent(c["intent"]),
                                 slots=c.get("slots") or {}, template=f"eval_set.{i}",
                                 split="eval_set")
                 for i, c in enumerate(raw["cases"]))


def training_messages() -> tuple[LabelledMessage, ...]:
    """What the classifier learns from: the train split and the rules' evaluation set."""
    return load_split("train") + load_eval_set()
