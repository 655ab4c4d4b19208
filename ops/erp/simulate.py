"""A live business in the reference ERP: sales, cancellations, adjustments and receipts.

Each transaction is what the ERP itself would commit, so CDC sees ordinary changes.

Pace: by default the seeded history's own (its last 90 days' orders per day, spread over the
day), times `speed` (720 = a business day every two minutes). An explicit `rate` (transactions
per second) sets the speed instead. Open purchase orders are received once their supplier's lead
time, and transfers between branches once their transit time, has passed on the simulated clock
(`speed` × wall time since they were created), so a simulated week does not run out of stock
while orders are on their way.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import date, timedelta

import asyncpg

SECONDS_PER_DAY = 86400.0
# Share of each kind of transaction; receipts come on their own clock (`receive_due`).
ACTION_SHARES = {"sale": 0.84, "cancel": 0.06, "adjustment": 0.10}
RECEIVE_EVERY_S = 1.0  # wall seconds between looks for due receipts


class Business:
    def __init__(self, conn: asyncpg.Connection, rng: random.Random, speed: float = 1.0) -> None:
        self.conn = conn
        self.rng = rng
        self.speed = speed
        self.weights: list[tuple[int, int]] = []
        self.cum: list[float] = []
        self.customers: dict[int, list[int]] = {}
        self.orders_per_day = 0.0

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
        self.orders_per_day = float(await self.conn.fetchval(
            "WITH h AS (SELECT max(created_at) AS last FROM sales_orders) "
            "SELECT count(*) / greatest(1.0, extract(epoch FROM h.last - min(o.created_at)) "
            "/ 86400.0) FROM sales_orders o, h "
            "WHERE o.created_at > h.last - interval '90 days' GROUP BY h.last") or 0.0)

    def real_rate(self) -> float:
        """Transactions per second at the history's own pace (speed 1)."""
        per_day = max(self.orders_per_day, 1.0) / ACTION_SHARES["sale"]
        return per_day / SECONDS_PER_DAY

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

    async def receive_due(self) -> Counter[str]:
        """Receive every open purchase order whose supplier lead time, and every transfer whose
        transit time, has passed on the simulated clock."""
        done: Counter[str] = Counter()
        while await self._receive_one_po():
            done["receipt"] += 1
        # The ERP's trigger moves the stock (schema.sql, stock_transfer_moves).
        done["transfer_receipt"] += int((await self.conn.execute(
            "UPDATE stock_transfers SET status = 'recibido', received_at = now() "
            "WHERE status = 'en_transito' "
            "AND extract(epoch FROM now() - created_at) * $1 >= transit_days * 86400",
            self.speed)).split()[-1])
        return +done

    async def _receive_one_po(self) -> bool:
        async with self.conn.transaction():
            po = await self.conn.fetchrow(
                "SELECT po.id, po.warehouse_id FROM purchase_orders po "
                "JOIN suppliers s ON s.id = po.supplier_id "
                "WHERE po.status IN ('enviada', 'borrador') "
                "AND extract(epoch FROM now() - po.created_at) * $1 >= s.lead_time_days * 86400 "
                "ORDER BY po.created_at LIMIT 1 FOR UPDATE OF po SKIP LOCKED", self.speed)
            if po is None:
                return False
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
        return True

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


async def simulate_day(dsn: str, *, speed: float = 1.0, rate: float | None = None,
                       duration: float, seed: int = 11,
                       stop: asyncio.Event | None = None) -> dict[str, int]:
    """Run the business for `duration` wall seconds (0 = until `stop`) at `speed` × the
    history's pace, or at `rate` transactions per second when given (module docstring)."""
    if speed <= 0 or (rate is not None and rate <= 0):
        raise ValueError("speed and rate must be positive")
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    stats: Counter[str] = Counter()
    try:
        business = Business(conn, rng)
        await business.load()
        if rate is None:
            rate = business.real_rate() * speed
        business.speed = rate / business.real_rate()
        stats.update(await _run(business, rate, duration, stop))
    finally:
        await conn.close()
    return dict(stats)


async def _run(business: Business, rate: float, duration: float,
               stop: asyncio.Event | None) -> Counter[str]:
    """Transactions at `rate` a second; due receipts looked for every `RECEIVE_EVERY_S`."""
    actions = [business.sale, business.cancel, business.adjustment]
    weights = [ACTION_SHARES["sale"], ACTION_SHARES["cancel"], ACTION_SHARES["adjustment"]]
    stats: Counter[str] = Counter()
    started = time.monotonic()
    next_receipts = started
    n = 0
    while duration <= 0 or time.monotonic() - started < duration:
        if stop is not None and stop.is_set():
            break
        now = time.monotonic()
        if now >= next_receipts:
            stats.update(await business.receive_due())
            next_receipts = time.monotonic() + RECEIVE_EVERY_S
        if now >= started + n / rate:
            action = business.rng.choices(actions, weights)[0]
            stats[await action()] += 1
            n += 1
        delay = min(started + n / rate, next_receipts) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return stats
