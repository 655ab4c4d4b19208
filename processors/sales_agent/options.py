"""Which search results the customer sees: at most three options, chosen for a reason."""

from __future__ import annotations

from collections.abc import Mapping

from processors.sales_agent.tool_results import TireOption

MAX_OPTIONS = 3
_TIER_RANK = {"premium": 0, "media": 1, "economica": 2}


def pick_options(candidates: list[TireOption], abc: Mapping[int, str]) -> list[TireOption]:
    """Up to three: the recommended one (best brand tier, best seller), an alternative of
    another brand, and the cheapest; shown from the most to the least expensive."""
    if not candidates:
        return []
    ranked = sorted(candidates, key=lambda o: (_TIER_RANK.get(o.brand_tier, 3),
                                               abc.get(o.product_id, "C"), o.price))
    picks = [ranked[0]]
    single_brand = len({o.brand for o in candidates}) == 1
    cheapest = min(candidates, key=lambda o: (o.price, o.product_id))

    def fresh(option: TireOption) -> bool:
        if option in picks or option is cheapest:
            return False
        return single_brand or option.brand not in {p.brand for p in picks} | {cheapest.brand}

    alternative = next((o for o in ranked if fresh(o)), None)
    for option in (alternative, cheapest):
        if option is not None and option not in picks:
            picks.append(option)
    return sorted(picks[:MAX_OPTIONS], key=lambda o: -o.price)
