"""Efficient frontiers and their comparison at matched fill rate / matched inventory, by hand."""

from __future__ import annotations

import pytest

from processors.inventory.frontier import (
    Point,
    compare,
    efficient,
    inventory_at_fill,
    lost_at_inventory,
)

MINMAX = [Point(100, 0.80, 200), Point(200, 0.90, 100), Point(400, 0.96, 40)]
POLICY = [Point(80, 0.85, 150), Point(150, 0.95, 50), Point(300, 0.99, 10)]


def test_dominated_points_leave_the_frontier() -> None:
    points = [*MINMAX, Point(250, 0.85, 150), Point(200, 0.88, 120), Point(50, 0.5, 500)]
    assert efficient(points) == [Point(50, 0.5, 500), *MINMAX]


def test_interpolation_is_linear_and_never_extrapolates_fill() -> None:
    assert inventory_at_fill(MINMAX, 0.95) == pytest.approx(200 + 200 * 0.05 / 0.06)
    assert inventory_at_fill(MINMAX, 0.90) == 200
    assert inventory_at_fill(MINMAX, 0.97) is None
    assert inventory_at_fill(MINMAX, 0.79) is None
    assert lost_at_inventory(POLICY, 200) == pytest.approx(50 - 40 * 50 / 150)
    assert lost_at_inventory(POLICY, 500) == 10  # beyond: the richest point's lost units
    assert lost_at_inventory(POLICY, 70) is None


def test_ratios_at_matched_fill_and_matched_inventory() -> None:
    at_90, at_95, at_97 = compare(POLICY, MINMAX, [0.90, 0.95, 0.97])
    # fill 0.90: policy needs 115 (halfway 80→150), min/max 200
    assert at_90.inventory_ratio == pytest.approx(115 / 200)
    # at min/max's 200 of inventory the policy loses 50 − 40·50/150 = 36.67 against 100
    assert at_90.lost_ratio == pytest.approx((50 - 40 * 50 / 150) / 100)
    # fill 0.95: 150 against 200 + 200·5/6 = 366.67; lost at 366.67: policy beyond → 10,
    # min/max 100 − 60·(166.67/200) = 50
    assert at_95.inventory_ratio == pytest.approx(150 / (200 + 200 * 5 / 6))
    assert at_95.lost_ratio == pytest.approx(10 / (100 - 60 * (200 * 5 / 6) / 200))
    assert at_97.inventory_ratio is None and at_97.lost_ratio is None
