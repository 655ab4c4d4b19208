"""The statistical intent classifier: TF-IDF over character n-grams (typo-tolerant) and word
n-grams, with a linear support-vector classifier, fitted in-process from the corpus's training
messages on first use (a fraction of a second; cached for the process, nothing pickled).

Its input is the folded message with the slots already found replaced by placeholders (a size
becomes "zzmedida", a brand "zzmarca", a vehicle "zzauto", a year "zzanio"), so it learns how
customers ask, not which sizes or brands the corpus happened to contain.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from processors.sales_agent.brands import brand_spans
from processors.sales_agent.intents.corpus import LabelledMessage, training_messages
from processors.sales_agent.intents.taxonomy import FaqTopic, Intent
from processors.sales_agent.text import fold
from processors.sales_agent.tire_size import tire_size_spans
from processors.sales_agent.vehicles import vehicle_spans

_YEAR = re.compile(r"(?<![\d$,.])(?:19[89]\d|20[0-3]\d)(?![\d,])")
_LONG_NUMBER = re.compile(r"#?\d{4,}")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    intent: Intent
    margin: float  # decision score of `intent` minus the runner-up's (0: a coin toss)
    runner_up: Intent


def features_text(text: str) -> str:
    """The classifier's view of a message: folded, slots as placeholders."""
    folded = fold(text)
    marked = _replace(folded, tire_size_spans(folded), " zzmedida ")
    marked = _replace(marked, brand_spans(marked), " zzmarca ")
    marked = _replace(marked, vehicle_spans(marked), " zzauto ")
    marked = _YEAR.sub(" zzanio ", marked)
    marked = _LONG_NUMBER.sub(" zznum ", marked)
    marked = _EMOJI.sub(" zzemoji ", marked)
    return " ".join(marked.split())


def _replace(text: str, spans: list[tuple[int, int]], token: str) -> str:
    for start, end in sorted(set(spans), reverse=True):
        text = text[:start] + token + text[end:]
    return text


def build_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                  min_df=1)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  token_pattern=r"[a-z0-9]+")),
    ])
    model = LinearSVC(C=1.0, class_weight="balanced")
    return Pipeline([("features", features), ("model", model)])


def fit(messages: tuple[LabelledMessage, ...]) -> Pipeline:
    pipeline = build_pipeline()
    pipeline.fit([features_text(m.text) for m in messages], [m.intent.value for m in messages])
    return pipeline


def fit_topics(messages: tuple[LabelledMessage, ...]) -> Pipeline:
    """The FAQ topic of a question no keyword rule recognised, learnt from the FAQ messages."""
    faq = [m for m in messages if m.slots.get("faq_topic")]
    pipeline = build_pipeline()
    pipeline.fit([features_text(m.text) for m in faq], [m.slots["faq_topic"] for m in faq])
    return pipeline


@cache
def _fitted() -> tuple[Pipeline, Pipeline]:
    messages = training_messages()
    return fit(messages), fit_topics(messages)


def classifier() -> Pipeline:
    """The fitted intent model, trained once per process (thread-safe)."""
    with _LOCK:
        return _fitted()[0]


def predict_topic(text: str) -> FaqTopic:
    with _LOCK:
        model = _fitted()[1]
    return model.predict([features_text(text)])[0]  # type: ignore[no-any-return]


def predict(text: str, pipeline: Pipeline | None = None) -> Prediction:
    model = pipeline or classifier()
    scores = model.decision_function([features_text(text)])[0]
    order = scores.argsort()[::-1]
    classes = model.classes_
    return Prediction(intent=Intent(classes[order[0]]),
                      margin=float(scores[order[0]] - scores[order[1]]),
                      runner_up=Intent(classes[order[1]]))
