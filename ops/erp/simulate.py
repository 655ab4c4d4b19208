"""A live business day in the reference ERP: sales, cancellations, receipts, adjustments.

Each transaction is what the ERP itself would commit, so CDC sees ordinary changes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import date, timedelta

import asyncpg


class Business:
    def __init__(self, conn: asyncpg.Connection, rng: random.Random) -> None:
        self.conn = conn
        self.rng = rng
        self.weights: list[tuple[int, int]] = []
        self.cum: list[float] = []
        self.customers: dict[int, list[int]] = {}

    async def load(self) -> None:
        rows = await self.conn.fetch(
            "SELECT l.product_id, o.warehouse_id, sum(l.qty) AS units FROM sales_order_lines l "
            "JOIN sales_orders o ON o.id = l.order_id "
            "WHERE o.created_at > (SELECT max(created_at) FROM sales_orders) - interval '120 days' "
            "GROUP BY 1, 2")
        if not rows:
            rows = await self.conn.fetch(
                "SELECT product_id, warehouse_id, 1 AS units FROM stock")
        total = 0.0
        for r in rows:
            total += float(r["units"])
            self.weights.append((r["product_id"], r["warehouse_id"]))
            self.cum.append(total)
        for r in await self.conn.fetch("SELECT id, home_warehouse_id FROM customers"):
            self.customers.setdefault(r["home_warehouse_id"], []).append(r["id"])
        if not self.weights or not self.customers:
            raise RuntimeError("the ERP has no catalogue: run `topllantas erp seed` first")

    def pick(self) -> tuple[int, int]:
        x = self.rng.random() * self.cum[-1]
        lo, hi = 0, len(self.cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return self.weights[lo]

    async def sale(self) -> str:
        product_id, wh = self.pick()
        qty = self.rng.choice([1, 2, 4, 4])
        async with self.conn.transaction():
            price = await self.conn.fetchrow(
                "SELECT list_price, cost FROM products WHERE id = $1", product_id)
            left = await self.conn.fetchval(
                "UPDATE stock SET on_hand = on_hand - $3, updated_at = now() "
                "WHERE product_id = $1 AND warehouse_id = $2 AND on_hand - reserved >= $3 "
                "RETURNING on_hand", product_id, wh, qty)
            if left is None:
                return "lost_sale"
            pool = self.customers.get(wh) or next(iter(self.customers.values()))
            delivery = self.rng.random() < 0.12
            order_id = await self.conn.fetchval(
                "INSERT INTO sales_orders (customer_id, warehouse_id, status, channel, "
                "delivery_date, needs_delivery) VALUES ($1, $2, 'confirmado', $3, $4, $5) "
                "RETURNING id", self.rng.choice(pool), wh,
                self.rng.choice(["mostrador", "telefono", "whatsapp"]),
                date.today() + timedelta(days=1) if delivery else None, delivery)
            await self.conn.execute(
                "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost) "
                "VALUES ($1, $2, $3, $4, $5)", order_id, product_id, qty, price["list_price"],
                price["cost"])
            await self.conn.execute(
                "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                "VALUES ($1, $2, $3, 'venta', $4)", product_id, wh, -qty, f"SO-{order_id}")
        return "sale"

    async def cancel(self) -> str:
        async with self.conn.transaction():
            order = await self.conn.fetchrow(
                "SELECT o.id, o.warehouse_id, l.product_id, l.qty FROM sales_orders o "
                "JOIN sales_order_lines l ON l.order_id = o.id WHERE o.status = 'confirmado' "
                "ORDER BY o.id DESC LIMIT 1 OFFSET $1 FOR UPDATE OF o SKIP LOCKED",
                self.rng.randrange(5))
            if order is None:
                return "noop"
            await self.conn.execute(
                "UPDATE sales_orders SET status = 'cancelado' WHERE id = $1", order["id"])
            await self.conn.execute(
                "UPDATE stock SET on_hand = on_hand + $3, updated_at = now() "
                "WHERE product_id = $1 AND warehouse_id = $2",
                order["product_id"], order["warehouse_id"], order["qty"])
            await self.conn.execute(
                "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                "VALUES ($1, $2, $3, 'devolucion', $4)", order["product_id"],
                order["warehouse_id"], order["qty"], f"SO-{order['id']}")
        return "cancellation"

    async def receipt(self) -> str:
        async with self.conn.transaction():
            po = await self.conn.fetchrow(
                "SELECT id, warehouse_id FROM purchase_orders WHERE status IN "
                "('enviada', 'borrador') ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED")
            if po is None:
                return "noop"
            lines = await self.conn.fetch(
                "SELECT id, product_id, qty FROM purchase_order_lines WHERE po_id = $1", po["id"])
            for line in lines:
                await self.conn.execute(
                    "UPDATE purchase_order_lines SET received_qty = qty WHERE id = $1", line["id"])
                await self.conn.execute(
                    "INSERT INTO stock (product_id, warehouse_id, on_hand) VALUES ($1, $2, $3) "
                    "ON CONFLICT (product_id, warehouse_id) DO UPDATE "
                    "SET on_hand = stock.on_hand + $3, updated_at = now()",
                    line["product_id"], po["warehouse_id"], line["qty"])
                await self.conn.execute(
                    "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                    "VALUES ($1, $2, $3, 'recepcion', $4)", line["product_id"],
                    po["warehouse_id"], line["qty"], f"PO-{po['id']}")
            await self.conn.execute(
                "UPDATE purchase_orders SET status = 'recibida' WHERE id = $1", po["id"])
        return "receipt"

    async def adjustment(self) -> str:
        product_id, wh = self.pick()
        delta = self.rng.choice([-1, 1])
        async with self.conn.transaction():
            done = await self.conn.fetchval(
                "UPDATE stock SET on_hand = on_hand + $3, updated_at = now() "
                "WHERE product_id = $1 AND warehouse_id = $2 AND on_hand + $3 >= reserved "
                "RETURNING 1", product_id, wh, delta)
            if done:
                await self.conn.execute(
                    "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                    "VALUES ($1, $2, $3, 'ajuste', 'conteo ciclico')", product_id, wh, delta)
        return "adjustment" if done else "noop"


async def simulate_day(dsn: str, *, rate: float, duration: float, seed: int = 11,
                       stop: asyncio.Event | None = None) -> dict[str, int]:
    """Commit about `rate` business transactions per second for `duration` seconds."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    stats: Counter[str] = Counter()
    try:
        business = Business(conn, rng)
        await business.load()
        actions = [(0.8, business.sale), (0.06, business.cancel), (0.04, business.receipt),
                   (0.10, business.adjustment)]
        started = time.monotonic()
        n = 0
        while duration <= 0 or time.monotonic() - started < duration:
            if stop is not None and stop.is_set():
                break
            x, acc = rng.random(), 0.0
            for weight, action in actions:
                acc += weight
                if x <= acc:
                    stats[await action()] += 1
                    break
            n += 1
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        await conn.close()
    return dict(stats)
