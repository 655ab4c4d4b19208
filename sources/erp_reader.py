"""The sales agent's read-only view of the ERP (asyncpg, role `topllantas_reader`).

Implements `processors.sales_agent.catalog.CatalogReader` structurally; results are the ERP row
contracts of `schemas.erp`. Sessions are read-only at the server too
(`default_transaction_read_only`), on top of the role's SELECT-only grants. The role reads no
customer's or buyer's contact data: the one customer writing is looked up through
`topllantas.customer_by_phone`, buyers through `topllantas.is_buyer` (ops/erp/roles.sql).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg

from schemas.erp import (
    Brand,
    Customer,
    Delivery,
    Product,
    Row,
    SalesOrder,
    Stock,
    VehicleFitment,
    Warehouse,
)

RowT = TypeVar("RowT", bound=Row)

_KEY = r"regexp_replace(lower({col}), '[^a-z0-9]', '', 'g')"
_PRODUCT_WITH_BRAND = """
    SELECT p.*, b.name AS brand_name, b.tier AS brand_tier, b.buyer_id AS brand_buyer_id
    FROM products p JOIN brands b ON b.id = p.brand_id
"""
_SEARCH = f"""
    WITH candidates AS (
        SELECT p.*, b.name AS brand_name, b.tier AS brand_tier, b.buyer_id AS brand_buyer_id,
               row_number() OVER (PARTITION BY p.brand_id
                                  ORDER BY p.abc_class, p.list_price, p.id) AS best_in_brand,
               row_number() OVER (PARTITION BY p.brand_id
                                  ORDER BY p.list_price, p.id) AS cheapest_in_brand
        FROM products p JOIN brands b ON b.id = p.brand_id
        JOIN unnest($1::int[], $2::int[], $3::int[]) AS s(width, aspect, rim)
          ON p.width = s.width AND p.aspect_ratio = s.aspect AND p.rim = s.rim
        WHERE p.active
          AND ($4::text IS NULL OR {_KEY.format(col="b.name")} = $4)
          AND ($5::numeric IS NULL OR p.list_price <= $5)
          AND EXISTS (SELECT 1 FROM stock st JOIN warehouses w ON w.id = st.warehouse_id
                      WHERE st.product_id = p.id AND w.is_branch
                        AND st.on_hand - st.reserved >= $6)
    )
    SELECT * FROM candidates WHERE best_in_brand <= $7 OR cheapest_in_brand = 1
    ORDER BY list_price, id
    LIMIT $8
"""
_PRODUCTS = _PRODUCT_WITH_BRAND + "WHERE p.id = ANY($1::int[])"
_FITMENTS = f"""
    SELECT * FROM vehicle_fitments
    WHERE {_KEY.format(col="model")} = $1
      AND ($2::int IS NULL OR $2 BETWEEN year_from AND year_to)
    ORDER BY year_to DESC, id
"""
_CUSTOMER = "SELECT * FROM topllantas.customer_by_phone($1) LIMIT 2"
_BRANCH_STOCK = """
    SELECT s.*, w.* FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
    WHERE s.product_id = ANY($1::int[]) AND w.is_branch
"""
_BRANCHES = "SELECT * FROM warehouses WHERE is_branch ORDER BY id"
_ORDER = """
    SELECT o.*, d.id AS d_id, d.vehicle_id AS d_vehicle_id, d.route_date AS d_route_date,
           d.sequence AS d_sequence, d.eta_start AS d_eta_start, d.eta_end AS d_eta_end,
           d.status AS d_status, d.delivered_at AS d_delivered_at, d.updated_at AS d_updated_at
    FROM sales_orders o LEFT JOIN deliveries d ON d.sales_order_id = o.id
    WHERE o.id = $1 AND o.customer_id = $2
"""


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _row(model: type[RowT], record: Mapping[str, Any]) -> RowT:
    """The row model from a record, taking only the model's own columns."""
    return model.model_validate({name: record[name] for name in model.model_fields
                                 if name in record})


class ErpReader:
    """Read-only ERP queries for the sales agent over a small connection pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> ErpReader:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size,
            server_settings={"application_name": "topllantas-sales-agent",
                             "default_transaction_read_only": "on", "TimeZone": "UTC"})
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def is_buyer(self, phone: str) -> bool:
        """Buyers talk to the buyer loop, not to the sales agent."""
        return bool(await self._pool.fetchval("SELECT topllantas.is_buyer($1)", phone))

    async def customer_by_phone(self, phone: str) -> Customer | None:
        digits = re.sub(r"\D", "", phone)
        if len(digits) < 10:
            return None
        rows = await self._pool.fetch(_CUSTOMER, digits[-10:])
        return _row(Customer, rows[0]) if len(rows) == 1 else None

    async def fitments(self, make: str | None, model: str, year: int | None
                       ) -> list[VehicleFitment]:
        rows = [_row(VehicleFitment, r) for r in await self._pool.fetch(_FITMENTS, _key(model),
                                                                         year)]
        same_make = [f for f in rows if make and _key(f.make) == _key(make)]
        return same_make or rows

    async def search_tires(self, sizes: Sequence[tuple[int, int, int]], brand: str | None,
                           max_list_price: Decimal | None, *, min_available: int,
                           per_brand: int, limit: int) -> list[tuple[Product, Brand]]:
        if not sizes:
            return []
        widths, aspects, rims = (list(column) for column in zip(*sizes, strict=True))
        rows = await self._pool.fetch(_SEARCH, widths, aspects, rims,
                                      _key(brand) if brand else None, max_list_price,
                                      min_available, per_brand, limit)
        return [_with_brand(r) for r in rows]

    async def products(self, product_ids: Sequence[int]) -> list[tuple[Product, Brand]]:
        rows = await self._pool.fetch(_PRODUCTS, list(product_ids))
        return [_with_brand(r) for r in rows]

    async def branch_stock(self, product_ids: Sequence[int]) -> list[tuple[Stock, Warehouse]]:
        branches: dict[int, Warehouse] = {}
        rows = []
        for record in await self._pool.fetch(_BRANCH_STOCK, list(product_ids)):
            stock = _row(Stock, record)
            if stock.warehouse_id not in branches:
                branches[stock.warehouse_id] = _row(Warehouse, record)
            rows.append((stock, branches[stock.warehouse_id]))
        return rows

    async def branches(self) -> list[Warehouse]:
        return [_row(Warehouse, r) for r in await self._pool.fetch(_BRANCHES)]

    async def order_status(self, order_id: int, customer_id: int
                           ) -> tuple[SalesOrder, Delivery | None] | None:
        row = await self._pool.fetchrow(_ORDER, order_id, customer_id)
        if row is None:
            return None
        order = _row(SalesOrder, row)
        if row["d_id"] is None:
            return order, None
        shipment = Delivery.model_validate({
            "id": row["d_id"], "sales_order_id": order.id, "vehicle_id": row["d_vehicle_id"],
            "route_date": row["d_route_date"], "sequence": row["d_sequence"],
            "eta_start": row["d_eta_start"], "eta_end": row["d_eta_end"],
            "status": row["d_status"], "delivered_at": row["d_delivered_at"],
            "updated_at": row["d_updated_at"]})
        return order, shipment


def _with_brand(record: Mapping[str, Any]) -> tuple[Product, Brand]:
    brand = Brand(id=record["brand_id"], name=record["brand_name"], tier=record["brand_tier"],
                  buyer_id=record["brand_buyer_id"])
    return _row(Product, record), brand
