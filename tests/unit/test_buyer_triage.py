"""Triage: ABC on margin × Syntetos–Boylan pattern, service level per segment, and routing."""

from __future__ import annotations

import random

import pytest

from processors.forecasting.classify import SeriesClass
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    SupplyTerms,
    policy_levels,
)
from processors.inventory.triage import (
    Route,
    Segment,
    TriageConfig,
    abc_by_margin,
    demand_pattern,
    margin_cutoffs,
    route,
    segment,
    with_segment_levels,
)
from schemas.alerts import AlertLevel

CONFIG = TriageConfig()
SMOOTH = [3.0, 4.0, 3.0, 5.0, 4.0] * 12  # sells every day, steady sizes
INTERMITTENT = ([0.0] * 5 + [2.0]) * 10  # one sale in six days, the same size
LUMPY = ([0.0] * 5 + [1.0]) * 5 + ([0.0] * 5 + [12.0]) * 5


def test_abc_on_margin_shares() -> None:
    margins = {"p1": 700.0, "p2": 150.0, "p3": 100.0, "p4": 50.0, "p5": 0.0, "p6": -20.0}
    # cumulative share before each: p1 0, p2 .70, p3 .85, p4 .95
    assert abc_by_margin(margins, CONFIG) == {"p1": "A", "p2": "A", "p3": "B", "p4": "C",
                                              "p5": "C", "p6": "C"}
    assert set(abc_by_margin({"x": 0.0, "y": -1.0}, CONFIG).values()) == {"C"}
    assert abc_by_margin({"only": 5.0}, CONFIG) == {"only": "A"}


def test_demand_patterns_reuse_the_forecast_classes() -> None:
    assert demand_pattern(SMOOTH, CONFIG) == SeriesClass.SMOOTH
    assert demand_pattern(INTERMITTENT, CONFIG) == SeriesClass.INTERMITTENT
    assert demand_pattern(LUMPY, CONFIG) == SeriesClass.LUMPY
    assert demand_pattern([0.0] * 60, CONFIG) == SeriesClass.NO_DEMAND
    assert demand_pattern([1.0] * 10, CONFIG) == SeriesClass.SHORT
    assert demand_pattern([-3.0, *SMOOTH], CONFIG) == SeriesClass.SMOOTH  # returns count 0


def test_service_level_per_segment() -> None:
    assert segment("A", SMOOTH, CONFIG).service_level(CONFIG) == 0.98
    assert segment("C", INTERMITTENT, CONFIG).service_level(CONFIG) == 0.80
    custom = TriageConfig(service_levels={**CONFIG.service_levels, "B/sporadic": 0.85})
    assert segment("B", LUMPY, custom).service_level(custom) == 0.85
    with pytest.raises(ValueError, match="A, B or C"):
        segment("D", SMOOTH, CONFIG)


def test_the_policy_takes_the_segments_service_level() -> None:
    stats = DemandStats(mean=2.0, std=1.5, observed_days=90, days_since_last_sale=0)
    terms = SupplyTerms(supplier_id=1, unit_cost=1000.0, lead_time_days=10.0)
    config = with_segment_levels(InventoryConfig(), CONFIG)
    a = policy_levels(stats, terms, "A/regular", config)
    c = policy_levels(stats, terms, "C/regular", config)
    assert (a.service_level, c.service_level) == (0.98, 0.90)
    assert a.safety_stock > c.safety_stock
    assert policy_levels(stats, terms, "A", config).service_level == 0.98  # ABC keys still work


@pytest.mark.parametrize(("level", "abc", "pattern", "daily", "expected"), [
    (AlertLevel.CRITICO, "C", SeriesClass.INTERMITTENT, 0.3, Route.PROPOSAL_LINE),
    (AlertLevel.CRITICO, "C", SeriesClass.SMOOTH, 0.1, Route.PROPOSAL_LINE),  # slow
    (AlertLevel.ALTO, "C", SeriesClass.LUMPY, 1.0, Route.PROPOSAL_LINE),
    (AlertLevel.CRITICO, "C", SeriesClass.SMOOTH, 2.0, Route.CRITICAL),
    (AlertLevel.CRITICO, "A", SeriesClass.INTERMITTENT, 0.1, Route.CRITICAL),
    (AlertLevel.CRITICO, "B", SeriesClass.NO_DEMAND, 0.0, Route.CRITICAL),
    (AlertLevel.ALTO, "A", SeriesClass.SMOOTH, 5.0, Route.DIGEST),
    (AlertLevel.SOBRESTOCK, "C", SeriesClass.INTERMITTENT, 0.1, Route.DIGEST),
    (AlertLevel.SIN_MOVIMIENTO, "A", SeriesClass.SMOOTH, 0.0, Route.DIGEST),
])
def test_routing(level: AlertLevel, abc: str, pattern: SeriesClass, daily: float,
                 expected: Route) -> None:
    assert route(level, Segment(abc, pattern), daily, CONFIG) == expected


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="a_share"):
        TriageConfig(a_share=0.96)
    with pytest.raises(ValueError, match="C/sporadic"):
        TriageConfig(service_levels={k: v for k, v in CONFIG.service_levels.items()
                                     if k != "C/sporadic"})


def test_margin_cutoffs_class_each_margin_as_abc_by_margin_does() -> None:
    rng = random.Random(3)
    margins = [rng.uniform(-50, 1000) if rng.random() > 0.1 else 0.0 for _ in range(500)]
    classes = abc_by_margin(dict(enumerate(margins)), CONFIG)
    cutoffs = margin_cutoffs(margins, CONFIG)
    assert [cutoffs.abc(m) for m in margins] == [classes[i] for i in range(len(margins))]
    assert margin_cutoffs([], CONFIG).abc(1e9) == "C"
