"""`topllantas erp seed`: load the generated catalogue and sales history into the ERP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import asyncpg

from ops.erp.generate import Catalogue, generate_catalogue
from ops.erp.setup import apply_schema, reset_data

# Foreign-key order.
TABLE_ORDER = ["buyers", "brands", "categories", "suppliers", "products", "supplier_price_breaks",
               "vehicle_fitments", "warehouses", "customers", "vehicles", "stock",
               "sales_orders", "sales_order_lines"]


async def seed_erp(dsn: str, seed: int = 7, *, reset: bool = True,
                   catalogue: Catalogue | None = None, end: date | None = None,
                   progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Create the schema (idempotent) and load the catalogue; returns rows per table.

    The generated history ends on `end` (default: the day before today, Mexico City)."""
    await apply_schema(dsn)
    if reset:
        await reset_data(dsn)
    catalogue = catalogue or generate_catalogue(seed, end=end)
    conn = await asyncpg.connect(dsn)
    counts: dict[str, int] = {}
    try:
        async with conn.transaction():
            for table in TABLE_ORDER:
                rows = catalogue.rows[table]
                await conn.copy_records_to_table(
                    table, records=rows, columns=catalogue.columns[table], schema_name="public")
                counts[table] = len(rows)
                if progress:
                    progress(table, len(rows))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return counts
