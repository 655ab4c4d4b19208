"""Triage of product×branch pairs: which alerts deserve the buyer's phone (pure).

Every pair is segmented two ways:

- value: ABC on gross margin (units sold × (price − cost) over the demand window), across all
  pairs: the pairs making the first `a_share` of the margin are A, up to `b_share` B, the rest C;
- demand pattern: the Syntetos–Boylan class of its daily demand (processors/forecasting/
  classify.py: smooth, erratic, intermittent, lumpy; short and no-demand histories too).

Each segment has its own cycle service level (`TriageConfig.service_levels`, keyed
"<ABC>/<pattern group>", the groups being `regular` = smooth or erratic and `sporadic` = the
rest). Routing of an alert:

- a shortage (crítico, alto) of a *slow or sporadic C-item* is no message: it becomes a line in
  its supplier's next proposal, shown in the digest (`Route.PROPOSAL_LINE`);
- any other crítico is a critical message (`Route.CRITICAL`), subject to the attention budget;
- every other level goes to the morning digest (`Route.DIGEST`).

The policy takes a segment's service level by its key: `policy_levels(..., segment.key,
with_segment_levels(inventory_config, triage_config))`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

import numpy as np

from processors.forecasting.classify import SeriesClass, classify
from processors.inventory.policy import InventoryConfig
from schemas.alerts import AlertLevel

K = TypeVar("K", bound=Hashable)

REGULAR = frozenset({SeriesClass.SMOOTH, SeriesClass.ERRATIC})
SHORTAGE = frozenset({AlertLevel.CRITICO, AlertLevel.ALTO})

DEFAULT_SEGMENT_SERVICE_LEVELS: Mapping[str, float] = {
    "A/regular": 0.98, "A/sporadic": 0.95,
    "B/regular": 0.95, "B/sporadic": 0.92,
    "C/regular": 0.90, "C/sporadic": 0.80,
}


class Route(StrEnum):
    CRITICAL = "critical"
    """A critical message to the buyer (through the attention budget)."""
    DIGEST = "digest"
    """A line in the morning digest."""
    PROPOSAL_LINE = "proposal_line"
    """A line in the supplier's next proposal (order on demand), shown in the digest."""


@dataclass(frozen=True, slots=True)
class TriageConfig:
    """Defaults a buyer would accept; the settings object may override them (env names in
    docs: TRIAGE_A_SHARE, TRIAGE_B_SHARE, TRIAGE_SERVICE_LEVELS as JSON, TRIAGE_SLOW_DAILY_DEMAND,
    TRIAGE_MIN_HISTORY_DAYS).

    - `a_share`, `b_share`: cumulative margin shares closing the A and B classes.
    - `service_levels`: cycle service level per "<ABC>/<regular|sporadic>".
    - `slow_daily_demand`: below this many units a day a C-item is slow.
    - `min_history_days`: fewer days of history is a `short` series (sporadic group).
    """

    a_share: float = 0.8
    b_share: float = 0.95
    service_levels: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SEGMENT_SERVICE_LEVELS))
    slow_daily_demand: float = 0.25
    min_history_days: int = 35

    def __post_init__(self) -> None:
        if not 0 < self.a_share <= self.b_share <= 1:
            raise ValueError("need 0 < a_share <= b_share <= 1")
        for abc in "ABC":
            for group in ("regular", "sporadic"):
                level = self.service_levels.get(f"{abc}/{group}")
                if level is None or not 0.5 <= level < 1:
                    raise ValueError(f"service level of {abc}/{group} must be in [0.5, 1), "
                                     f"got {level}")
        if self.slow_daily_demand < 0 or self.min_history_days < 1:
            raise ValueError("slow_daily_demand must be >= 0 and min_history_days >= 1")


@dataclass(frozen=True, slots=True)
class Segment:
    abc: str
    pattern: SeriesClass

    @property
    def group(self) -> str:
        return "regular" if self.pattern in REGULAR else "sporadic"

    @property
    def key(self) -> str:
        return f"{self.abc}/{self.group}"

    def service_level(self, config: TriageConfig) -> float:
        return config.service_levels[self.key]


def abc_by_margin(margins: Mapping[K, float], config: TriageConfig) -> dict[K, str]:
    """ABC class of every key by its share of the total margin (negative margins count 0).

    Keys are ranked by margin, highest first (ties by key order of the mapping); a key is A
    while the cumulative share *before* it is below `a_share`, so the top pair is always A.
    Without any positive margin every key is C.
    """
    total = sum(max(0.0, m) for m in margins.values())
    ranked = sorted(margins.items(), key=lambda kv: -max(0.0, kv[1]))
    classes: dict[K, str] = {}
    before = 0.0
    for key, margin in ranked:
        share = before / total if total > 0 else 1.0
        positive = max(0.0, margin)
        classes[key] = ("A" if share < config.a_share and positive > 0 else
                        "B" if share < config.b_share and positive > 0 else "C")
        before += positive
    return classes


@dataclass(frozen=True, slots=True)
class MarginCutoffs:
    """The smallest margin classed A and B by `abc_by_margin` over a set of pairs: a pair is
    classed by its own margin alone, so the stock flow classes each pair where it decides it."""

    a_min: float = math.inf
    b_min: float = math.inf

    def abc(self, margin: float) -> str:
        if margin > 0 and margin >= self.a_min:
            return "A"
        return "B" if margin > 0 and margin >= self.b_min else "C"


def margin_cutoffs(margins: Iterable[float], config: TriageConfig) -> MarginCutoffs:
    """The cutoffs of `abc_by_margin` over `margins` (ties with the last A margin are A too)."""
    values = list(margins)
    classes = abc_by_margin(dict(enumerate(values)), config)
    lowest = {abc: min((values[i] for i, c in classes.items() if c == abc), default=math.inf)
              for abc in ("A", "B")}
    return MarginCutoffs(lowest["A"], min(lowest["B"], lowest["A"]))


def demand_pattern(daily_demand: Sequence[float], config: TriageConfig) -> SeriesClass:
    """Syntetos–Boylan class of a daily demand series (oldest first, zeros included)."""
    clean = np.clip(np.asarray(daily_demand, dtype=float), 0.0, None)
    return classify(clean, config.min_history_days).series_class


def segment(abc: str, daily_demand: Sequence[float], config: TriageConfig) -> Segment:
    if abc not in ("A", "B", "C"):
        raise ValueError(f"ABC class must be A, B or C, got {abc!r}")
    return Segment(abc, demand_pattern(daily_demand, config))


def is_slow_or_sporadic_c(seg: Segment, daily_demand: float, config: TriageConfig) -> bool:
    return seg.abc == "C" and (seg.group == "sporadic" or daily_demand < config.slow_daily_demand)


def route(level: AlertLevel, seg: Segment, daily_demand: float, config: TriageConfig) -> Route:
    """Where an alert of `level` for a pair of segment `seg` goes (module docstring)."""
    if level in SHORTAGE and is_slow_or_sporadic_c(seg, daily_demand, config):
        return Route.PROPOSAL_LINE
    if level == AlertLevel.CRITICO:
        return Route.CRITICAL
    return Route.DIGEST


def with_segment_levels(inventory: InventoryConfig, config: TriageConfig) -> InventoryConfig:
    """The inventory config whose service levels also answer segment keys ("C/sporadic")."""
    return replace(inventory, service_levels={**inventory.service_levels,
                                              **config.service_levels})
