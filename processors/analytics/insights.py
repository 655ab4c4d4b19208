"""The latest forecast insights shown on the dashboard (one list per source partition)."""

from __future__ import annotations

from typing import Any

MAX_INSIGHTS = 20


def keep_latest(items: list[dict[str, Any]], new: dict[str, Any],
                limit: int = MAX_INSIGHTS) -> list[dict[str, Any]]:
    """Insights of the newest forecast run only: one per kind × product × warehouse, by score.

    `new` has kind, product_id, warehouse_id, score, detail, generated_at (ISO) and labels.
    """
    day = new["generated_at"][:10]
    if any(i["generated_at"][:10] > day for i in items):
        return items  # a late insight of an older run
    same = (new["kind"], new["product_id"], new["warehouse_id"])
    kept = [i for i in items if i["generated_at"][:10] == day
            and (i["kind"], i["product_id"], i["warehouse_id"]) != same]
    kept.append(new)
    kept.sort(key=lambda i: -abs(i["score"]))
    return kept[:limit]
