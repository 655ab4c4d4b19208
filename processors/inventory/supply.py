"""A product's supply terms from its dimension rows, parsed once per version of those rows.

The stock-alert agent needs the product, its supplier and its price breaks for every decision,
and they change rarely: validating three rows per stock event was a tenth of the stock worker's
CPU. Faust's in-memory tables (the app's `memory://` store) hold a new row object after every
update, so the same row objects mean the same rows; the terms are parsed again as soon as one of
them is another object. (A store that deserializes on every read, like RocksDB, would only make
every lookup a miss.) This is derived data, not state: every worker holds the whole dimension
tables, whichever partitions it owns.

Price-break rows are `{"<supplier_id>:<min_qty>": unit_cost}` per product
(streams/dimensions.py gathers them so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.inventory.policy import SupplyTerms, supply_terms
from schemas.erp import Product, Supplier, SupplierPriceBreak

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Parsed:
    rows: tuple[Row, Row, Row | None]
    product: Product
    terms: SupplyTerms


class SupplyTermsCache:
    """`terms(product_row, supplier_row_of, breaks_row)`: (Product, SupplyTerms), or None while
    the supplier's row is missing. Raises pydantic's ValidationError on a malformed row and
    ValueError on a malformed price-break key."""

    def __init__(self) -> None:
        self._by_product: dict[int, _Parsed] = {}

    def terms(self, product_row: Row, supplier_row_of: Callable[[int], Row | None],
              breaks_row: Row | None) -> tuple[Product, SupplyTerms] | None:
        cached = self._by_product.get(product_row.get("id"))  # type: ignore[arg-type]
        if cached is not None and cached.rows[0] is not product_row:
            cached = None
        product = cached.product if cached else Product.model_validate(product_row)
        supplier_row = supplier_row_of(product.supplier_id)
        if supplier_row is None:
            return None
        if cached and cached.rows[1] is supplier_row and cached.rows[2] is breaks_row:
            return cached.product, cached.terms
        breaks = []
        for brk, unit_cost in (breaks_row or {}).items():
            supplier_id, _, min_qty = brk.partition(":")
            breaks.append(SupplierPriceBreak(supplier_id=int(supplier_id), product_id=product.id,
                                             min_qty=int(min_qty), unit_cost=unit_cost))
        terms = supply_terms(product, Supplier.model_validate(supplier_row), breaks)
        self._by_product[product.id] = _Parsed((product_row, supplier_row, breaks_row), product,
                                               terms)
        return product, terms
