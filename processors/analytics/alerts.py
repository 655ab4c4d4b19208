"""Stock alerts for analysts: names joined in, and the count of open alerts per level."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from processors.analytics.dimensions import dimension_key
from schemas.alerts import StockAlert
from schemas.analytics import StockAlertEnriched

Latest = Callable[[str], dict[str, Any] | None]
"""dimension key -> attributes of its latest known version, or None."""


def enrich_alert(alert: StockAlert, latest: Latest) -> StockAlertEnriched:
    """Left join: an alert is urgent and never waits, so unknown names stay null."""
    product = latest(dimension_key("product", alert.product_id)) or {}
    brand = latest(dimension_key("brand", product["brand_id"])) if product else None
    category = latest(dimension_key("category", product["category_id"])) if product else None
    branch = latest(dimension_key("warehouse", alert.warehouse_id)) or {}
    return StockAlertEnriched(
        **alert.model_dump(), sku=product.get("sku"), product_model=product.get("model"),
        tire_size=product.get("tire_size"), brand_name=(brand or {}).get("name"),
        category_name=(category or {}).get("name"), branch_code=branch.get("code"),
        branch_name=branch.get("name"), branch_city=branch.get("city"))


def open_level_changes(previous: str | None, alert: StockAlert) -> dict[str, int]:
    """How the open-alert count per level moves when `alert` follows an alert at `previous`."""
    changes: dict[str, int] = {}
    if previous is not None:
        changes[previous] = -1
    if not alert.resolved:
        changes[alert.level.value] = changes.get(alert.level.value, 0) + 1
    return {level: n for level, n in changes.items() if n}
