"""The sales counters derived from the orders' state: moving contributions line by line gives
the same counters as rebuilding them from the table, and money stays exact."""

from __future__ import annotations

import random

from processors.analytics.sales_view import add, copy_of, move, sales_by_day


def counted(day: str, hour: int, branch: str, revenue: float, margin: float) -> dict:
    return {"day": day, "hour": hour, "branch": branch, "revenue": revenue, "margin": margin}


def nonzero(view: dict) -> dict:
    """A view without the zeros lines leave behind when they move out (a rebuild has none)."""
    def clean(value: object) -> object:
        return {k: clean(v) for k, v in value.items() if v} if isinstance(value, dict) else value
    return {day: clean(bucket) for day, bucket in view.items() if bucket["lines"]}


def test_moves_agree_with_a_rebuild_from_the_table() -> None:
    rng = random.Random(7)
    orders: dict[str, dict] = {}
    view: dict = {}
    for step in range(2_000):
        key = f"o{rng.randrange(60)}"
        state = orders.setdefault(key, {"order": {}, "lines": {}})
        line = state["lines"].setdefault(str(rng.randrange(3)), {"counted": None})
        new = None if rng.random() < 0.2 else counted(
            f"2026-12-0{rng.randrange(1, 4)}", rng.randrange(24), rng.choice("ABC"),
            rng.randrange(1, 10_000) * 0.01 * 37, rng.randrange(-500, 500) * 0.01)
        move(view, line["counted"], new)
        line["counted"] = new
        if step % 97 == 0:  # an order swept or settled leaves with its lines
            for gone in orders.pop(key)["lines"].values():
                add(view, gone["counted"], -1)
    assert nonzero(view) == sales_by_day(orders.values())


def test_money_is_exact_and_a_line_moving_out_leaves_nothing() -> None:
    view: dict = {}
    sale = counted("2026-12-01", 10, "Centro", 0.1, 0.03)
    for _ in range(1_000):
        add(view, sale)
    assert view["2026-12-01"]["revenue"] == 100.0 and view["2026-12-01"]["lines"] == 1_000
    moved = counted("2026-12-01", 11, "Norte", 0.2, 0.05)
    for _ in range(1_000):
        move(view, sale, moved)
    bucket = view["2026-12-01"]
    assert bucket["by_hour"] == {"10": 0.0, "11": 200.0}
    assert bucket["by_branch"] == {"Centro": 0.0, "Norte": 200.0}
    assert (bucket["revenue"], bucket["margin"]) == (200.0, 50.0)


def test_not_a_sale_and_stored_shapes_of_old_add_nothing() -> None:
    view: dict = {}
    add(view, None)
    add(view, [9600.0, 3600.0, 1])  # type: ignore[arg-type]  # a line stored before counted was a dict
    assert view == {}


def test_a_published_copy_does_not_follow_the_view() -> None:
    view: dict = {}
    add(view, counted("2026-12-01", 10, "Centro", 5.0, 1.0))
    published = copy_of(view["2026-12-01"])
    add(view, counted("2026-12-01", 10, "Centro", 5.0, 1.0))
    assert published["by_hour"] == {"10": 5.0} and view["2026-12-01"]["by_hour"] == {"10": 10.0}
