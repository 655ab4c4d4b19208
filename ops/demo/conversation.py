"""The demo's scripted customer: the seed conversation, played through the WhatsApp double."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import httpx

SEED_TURNS = ["Hola, ¿cuánto cuestan 4 llantas para Jetta 2020?", "la primera", "sí"]


async def play_seed_conversation(double_url: str, erp_dsn: str, say: Callable[[str], None],
                                 stop: asyncio.Event, start_after: float = 20.0) -> None:
    """A customer writes at night; every bot reply is echoed through `say`."""
    try:
        await asyncio.wait_for(stop.wait(), start_after)
        return
    except TimeoutError:
        pass
    conn = await asyncpg.connect(erp_dsn)
    try:
        phone = await conn.fetchval(
            "SELECT c.phone FROM customers c JOIN stock s ON s.warehouse_id = c.home_warehouse_id "
            "JOIN products p ON p.id = s.product_id AND p.tire_size = '205/55R16' "
            "WHERE s.on_hand - s.reserved >= 4 ORDER BY c.id LIMIT 1")
    finally:
        await conn.close()
    if phone is None:
        say("[yellow]no customer near 205/55R16 stock; skipping the WhatsApp conversation[/yellow]")
        return
    async with httpx.AsyncClient(base_url=double_url, timeout=10) as http:
        seen = 0
        for text in SEED_TURNS:
            if stop.is_set():
                return
            say(f"[cyan]cliente +{phone}:[/cyan] {text}")
            await http.post("/_double/inbound", json={"phone": phone, "text": text})
            for _ in range(240):
                messages = [m for m in (await http.get("/_double/messages")).json()["messages"]
                            if m["to"].endswith(phone[-10:])]
                if len(messages) > seen:
                    for m in messages[seen:]:
                        say(f"[green]bot:[/green] {m['summary'][:400]}")
                    seen = len(messages)
                    break
                await asyncio.sleep(0.5)
