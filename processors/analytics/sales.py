"""The sales line join: order line × order × product × brand × category × customer × branch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from processors.analytics.calendar import local_day, local_hour, parse_utc
from processors.analytics.dimensions import Version, dimension_key
from schemas.analytics import SalesLineEnriched

SALE_STATUSES = frozenset({"reservado", "confirmado", "entregado"})

Lookup = Callable[[str, int], Version | None]
"""(dimension key, commit LSN) -> the version current at that LSN, or None if unknown."""


class MissingDimension(Exception):
    """The line needs a dimension that is not known yet; `key` names it (`kind:id`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def enrich_line(order: dict[str, Any], line: dict[str, Any], lookup: Lookup,
                now: datetime) -> SalesLineEnriched:
    """Join one line (see `processors.analytics.orders`) with its order and dimensions.

    Raises MissingDimension naming the first dimension that is not known.
    """
    lsn = line["lsn"]
    used: dict[str, int] = {}

    def get(kind: str, ident: int) -> dict[str, Any]:
        key = dimension_key(kind, ident)
        version = lookup(key, lsn)
        if version is None:
            raise MissingDimension(key)
        used[key] = version["lsn"]
        return version["attrs"]

    product = get("product", line["product_id"])
    brand = get("brand", product["brand_id"])
    category = get("category", product["category_id"])
    customer = get("customer", order["customer_id"])
    branch = get("warehouse", order["warehouse_id"])
    qty = int(line["qty"])
    unit_price, unit_cost = Decimal(line["unit_price"]), Decimal(line["unit_cost"])
    list_price = Decimal(product["list_price"])
    revenue, cost = qty * unit_price, qty * unit_cost
    margin = revenue - cost
    ordered_at = parse_utc(order["created_at"])
    deleted = bool(line["deleted"] or order["deleted"])
    return SalesLineEnriched(
        line_id=line["id"], order_id=order["id"], order_status=order["status"],
        channel=order["channel"] or "", counts_as_sale=not deleted and order["status"] in
        SALE_STATUSES, deleted=deleted, ordered_at=ordered_at,
        local_date=local_day(ordered_at), local_hour=local_hour(ordered_at),
        product_id=line["product_id"], sku=product["sku"], product_model=product["model"],
        tire_size=product["tire_size"], abc_class=product["abc_class"],
        brand_id=product["brand_id"], brand_name=brand["name"], brand_tier=brand["tier"],
        category_id=product["category_id"], category_name=category["name"],
        customer_id=order["customer_id"], customer_name=customer["name"],
        customer_tier=customer["tier"], customer_city=customer["city"],
        customer_state=customer["state"], branch_id=order["warehouse_id"],
        branch_code=branch["code"], branch_name=branch["name"], branch_city=branch["city"],
        qty=qty, unit_price=unit_price, unit_cost=unit_cost, list_price=list_price,
        standard_cost=Decimal(product["cost"]), revenue=revenue, cost=cost, margin=margin,
        margin_pct=float(margin / revenue) if revenue else None,
        discount_pct=float(1 - unit_price / list_price) if list_price else None,
        source_lsn=lsn, dimension_lsns=used, enriched_at=now)

