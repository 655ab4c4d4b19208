"""What the sales agent reads from the ERP, as a protocol (`sources/erp_reader.py` implements it).

Results are the ERP row contracts of `schemas.erp`, so the reader and the agent share no other
types. Every method is read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from schemas.erp import (
    Brand,
    Customer,
    Delivery,
    Product,
    SalesOrder,
    Stock,
    VehicleFitment,
    Warehouse,
)


class CatalogReader(Protocol):
    async def customer_by_phone(self, phone: str) -> Customer | None:
        """The customer whose phone has the same last 10 digits, if exactly one does."""
        ...

    async def fitments(self, make: str | None, model: str, year: int | None
                       ) -> list[VehicleFitment]:
        """Fitments of a vehicle model (year within range when given); make only disambiguates."""
        ...

    async def search_tires(self, sizes: Sequence[tuple[int, int, int]], brand: str | None,
                           max_list_price: Decimal | None, *, min_available: int,
                           per_brand: int, limit: int) -> list[tuple[Product, Brand]]:
        """Candidates among active products of the given (width, aspect, rim) sizes, optionally
        one brand and a ceiling on the list price, with at least `min_available` units free in
        some branch: per brand the `per_brand` best sellers (ABC class, then price) and the
        cheapest."""
        ...

    async def products(self, product_ids: Sequence[int]) -> list[tuple[Product, Brand]]:
        ...

    async def branch_stock(self, product_ids: Sequence[int]) -> list[tuple[Stock, Warehouse]]:
        """Stock rows of the products in branch warehouses, with their branch."""
        ...

    async def branches(self) -> list[Warehouse]:
        ...

    async def order_status(self, order_id: int, customer_id: int
                           ) -> tuple[SalesOrder, Delivery | None] | None:
        """The order and its delivery, only if the order belongs to the customer."""
        ...
