"""`topllantas cdc run|resnapshot|status`: the ERP change-data-capture process."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
from rich.console import Console

from schemas.settings import Settings

app = typer.Typer(help="Change data capture from the ERP's PostgreSQL onto Kafka topics.",
                  no_args_is_help=True)
console = Console()


@app.command()
def run(metrics_port: int = typer.Option(0, help="Serve Prometheus metrics here (0 = off)."),
        ) -> None:
    """Capture changes (snapshot first when the slot is new) until SIGINT/SIGTERM."""
    from prometheus_client import start_http_server

    from sources.cdc.capture import CdcSource
    from sources.cdc.slot import ReplicaIdentityRefused, SlotInvalidated

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await CdcSource(Settings()).run(stop)
        console.print(f"cdc stopped: {stats}")

    try:
        asyncio.run(main())
    except (SlotInvalidated, ReplicaIdentityRefused) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def resnapshot() -> None:
    """Drop the CDC slot so the next `cdc run` recreates it and publishes a fresh snapshot."""
    from sources.cdc.capture import CdcSource
    from sources.cdc.slot import SlotManager

    async def main() -> None:
        settings = Settings()
        source = CdcSource(settings)
        conn = await source.connect()
        try:
            await SlotManager(conn, settings, list(source.catalogue.cdc_tables)).drop()
        finally:
            await conn.close()

    asyncio.run(main())
    console.print("slot dropped; the next `topllantas cdc run` takes a fresh snapshot")


@app.command()
def status() -> None:
    """Show the slot's position and lag."""
    from sources.cdc.capture import CdcSource
    from sources.cdc.slot import SlotManager

    async def main() -> None:
        settings = Settings()
        source = CdcSource(settings)
        conn = await source.connect()
        try:
            slots = SlotManager(conn, settings, list(source.catalogue.cdc_tables))
            row = await conn.fetchrow(
                "SELECT slot_name, active, wal_status, confirmed_flush_lsn::text AS confirmed "
                "FROM pg_replication_slots WHERE slot_name = $1", settings.cdc_slot)
            console.print(dict(row) if row else "no CDC slot yet")
            if row:
                console.print(f"lag: {await slots.lag_bytes():,} bytes")
        finally:
            await conn.close()

    asyncio.run(main())
