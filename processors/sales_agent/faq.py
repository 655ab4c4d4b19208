"""The store's small knowledge base (`faq.yaml`): answers by topic."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import get_args

import yaml

from processors.sales_agent.understanding import FaqTopic


@cache
def knowledge_base() -> dict[FaqTopic, str]:
    raw = yaml.safe_load(files(__package__).joinpath("faq.yaml").read_text(encoding="utf-8"))
    missing = set(get_args(FaqTopic)) - set(raw)
    if missing:
        raise ValueError(f"faq.yaml lacks topics {sorted(missing)}")
    return {topic: " ".join(str(raw[topic]).split()) for topic in get_args(FaqTopic)}


def answer(topic: FaqTopic) -> str:
    return knowledge_base()[topic]
