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
    if await _stopped_within(stop, start_after):
        return
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


async def play_buyer_approval(double_url: str, erp_dsn: str, say: Callable[[str], None],
                              stop: asyncio.Event, start_after: float = 10.0) -> None:
    """The buyers greet the bot (opening their 24-hour windows, so alerts come with buttons);
    the first critical alert a buyer gets is approved with one tap, and the purchase order it
    creates in the ERP is shown."""
    if await _stopped_within(stop, start_after):
        return
    conn = await asyncpg.connect(erp_dsn)
    try:
        phones = [r["phone"] for r in await conn.fetch("SELECT phone FROM buyers ORDER BY id")]
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=double_url, timeout=10) as http:
        for phone in phones:
            await http.post("/_double/inbound", json={"phone": phone, "text": "Buenos días"})
        alert = None
        while alert is None and not stop.is_set():
            await asyncio.sleep(2)
            alert = next((m for m in (await http.get("/_double/messages")).json()["messages"]
                          if _button(m, "Aprobar")), None)
        if alert is None:
            return
        say(f"[magenta]alerta al comprador +{alert['to']}:[/magenta] {alert['summary'][:300]}")
        say(f"[cyan]comprador +{alert['to']}:[/cyan] [Aprobar]")
        button = _button(alert, "Aprobar")
        tapped = (await http.post("/_double/inbound", json={
            "phone": alert["to"], "button_id": button, "button_title": "Aprobar"})).json()["id"]
        while not stop.is_set():  # the bot's answer quotes the tap
            await asyncio.sleep(2)
            reply = next((m for m in (await http.get("/_double/messages")).json()["messages"]
                          if (m["body"].get("context") or {}).get("message_id") == tapped),
                         None)
            if reply is not None:
                say(f"[green]bot:[/green] {reply['summary'][:300]}")
                break
    # The approved line's key is `pol:<alert_id>`; its ledger row names the day's draft order
    # it joined (processors/inventory/buyer_orders.py, sinks/erp/statements.py).
    key = f"pol:{str(button).partition(':')[2]}"
    while not stop.is_set():
        await asyncio.sleep(2)
        conn = await asyncpg.connect(erp_dsn)
        try:
            po = await conn.fetchrow(
                "SELECT po.id, po.status, s.name AS supplier, sum(l.qty) AS qty "
                "FROM purchase_orders po JOIN suppliers s ON s.id = po.supplier_id "
                "JOIN purchase_order_lines l ON l.po_id = po.id "
                "WHERE po.id = (SELECT (result->'entity_ids'->>0)::bigint "
                "FROM topllantas.applied_commands WHERE idempotency_key = $1) "
                "GROUP BY po.id, s.name", key)
        finally:
            await conn.close()
        if po is not None:
            say(f"[green]ERP:[/green] orden de compra #{po['id']} ({po['status']}) a "
                f"{po['supplier']}, {po['qty']} pzas; CDC la suma al inventario por llegar")
            return


def _button(message: dict, title: str) -> str | None:
    """The id of the message's reply button with `title`, if it has one."""
    interactive = message["body"].get("interactive") or {}
    for button in (interactive.get("action") or {}).get("buttons", []):
        if button["reply"]["title"] == title:
            return str(button["reply"]["id"])
    return None


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` unless the demo stops first; True when it did."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False
