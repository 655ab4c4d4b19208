"""Trade-off frontiers of replenishment strategies and their comparison (pure).

A strategy swept over its knobs gives points (average inventory value, fill rate, lost units).
Its frontier is the efficient subset: sorted by inventory, each point keeps only if it serves a
higher fill rate than every cheaper one (a careful buyer never picks a dominated setting).
Between frontier points, fill rate and lost units are interpolated linearly in inventory.

- `inventory_at_fill(frontier, f)`: the inventory the strategy needs for fill rate f;
- `lost_at_inventory(frontier, x)`: the lost units it has with inventory x;
- `compare`: at each matching fill rate f, inventory ratio = ours(f) / theirs(f), and lost
  ratio = our lost units at the inventory theirs needs for f / their lost units there.
None when a strategy's frontier does not reach the matching point (no extrapolation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    inventory: float
    fill: float
    lost: float
    label: str = ""


def efficient(points: Iterable[Point]) -> list[Point]:
    """The frontier: by increasing inventory, each point with a fill rate above all cheaper
    ones (ties in inventory keep the best fill)."""
    ordered = sorted(points, key=lambda p: (p.inventory, -p.fill))
    out: list[Point] = []
    for p in ordered:
        if not out or p.fill > out[-1].fill:
            out.append(p)
    return out


def _interp(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    """Linear interpolation on increasing xs; None outside [xs[0], xs[-1]]."""
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    for i in range(1, len(xs)):
        if x <= xs[i]:
            x0, x1 = xs[i - 1], xs[i]
            if x1 == x0:
                return ys[i]
            return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)
    return ys[0]


def inventory_at_fill(frontier: Sequence[Point], fill: float) -> float | None:
    return _interp([p.fill for p in frontier], [p.inventory for p in frontier], fill)


def lost_at_inventory(frontier: Sequence[Point], inventory: float) -> float | None:
    """Lost units at `inventory`; beyond the frontier's largest inventory, that point's lost
    units (an upper bound: more stock on the efficient rule loses no more)."""
    if frontier and inventory > frontier[-1].inventory:
        return frontier[-1].lost
    return _interp([p.inventory for p in frontier], [p.lost for p in frontier], inventory)


@dataclass(frozen=True, slots=True)
class Match:
    fill: float
    inventory_ratio: float | None
    lost_ratio: float | None
    their_inventory: float | None


def compare(ours: Sequence[Point], theirs: Sequence[Point],
            fills: Sequence[float]) -> list[Match]:
    """Ratios of `ours` to `theirs` (both frontiers) at each matching fill rate."""
    out = []
    for f in fills:
        mine, other = inventory_at_fill(ours, f), inventory_at_fill(theirs, f)
        inv_ratio = mine / other if mine is not None and other else None
        lost_ratio = None
        if other is not None:
            my_lost, their_lost = lost_at_inventory(ours, other), lost_at_inventory(theirs, other)
            if my_lost is not None and their_lost:
                lost_ratio = my_lost / their_lost
        out.append(Match(f, inv_ratio, lost_ratio, other))
    return out
