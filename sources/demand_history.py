"""Daily demand per product×warehouse from the ERP's sales (the forecast's bootstrap).

Days are Mexico City days; cancelled orders count zero; returns (negative lines or status
'devuelto') net against sales on their day.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg
import pandas as pd

DAILY_DEMAND = """
SELECT l.product_id, o.warehouse_id,
       (o.created_at AT TIME ZONE 'America/Mexico_City')::date AS day,
       sum(CASE WHEN o.status = 'devuelto' THEN -abs(l.qty) ELSE l.qty END)::int AS qty
FROM sales_order_lines l JOIN sales_orders o ON o.id = l.order_id
WHERE o.status NOT IN ('cancelado', 'cotizacion')
  AND ($1::int[] IS NULL OR l.product_id = ANY($1::int[]))
GROUP BY 1, 2, 3
"""


def series_key(product_id: int, warehouse_id: int) -> str:
    return f"{product_id}:{warehouse_id}"


async def load_daily_demand(dsn: str, product_ids: list[int] | None = None
                            ) -> dict[str, pd.Series]:
    """`product_id:warehouse_id` -> daily quantities indexed by date (days without sales absent)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(DAILY_DEMAND, product_ids)
    finally:
        await conn.close()
    by_key: dict[str, dict] = defaultdict(dict)
    for r in rows:
        by_key[series_key(r["product_id"], r["warehouse_id"])][pd.Timestamp(r["day"])] = r["qty"]
    return {k: pd.Series(v, dtype=float).sort_index() for k, v in by_key.items()}


async def product_id_of_sku(dsn: str, sku: str) -> int | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT id FROM products WHERE sku = $1", sku)
    finally:
        await conn.close()
