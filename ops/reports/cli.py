"""`topllantas report weekly --to out.html [--email a@b]`: the weekly business report."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from processors.analytics.calendar import MX

app = typer.Typer(help="Business reports from the enriched topics.", no_args_is_help=True)
console = Console()


def last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7)


@app.command()
def weekly(
    to: Annotated[Path, typer.Option("--to", help="Write the HTML here.")] = Path(
        "reporte-semanal.html"),
    week_end: Annotated[str | None, typer.Option(
        help="Last day of the week (YYYY-MM-DD); default: the last Sunday.")] = None,
    email: Annotated[list[str] | None, typer.Option(
        help="Also e-mail it to this address (repeatable).")] = None,
) -> None:
    """Build the weekly report (sales, stock health, forecast accuracy, deliveries)."""
    from ops.reports.weekly import build_weekly_report
    from ops.reports.weekly_data import load_weekly_data
    from schemas.settings import get_settings
    from schemas.topics import load_catalogue

    settings = get_settings()
    end = date.fromisoformat(week_end) if week_end else last_sunday(datetime.now(MX).date())
    data = load_weekly_data(settings.bootstrap_servers(), load_catalogue(), end)
    html = build_weekly_report(data)
    to.write_text(html)
    console.print(f"wrote {to} (week ending {end})")
    if email:
        asyncio.run(_send(html, end, email))


async def _send(html: str, week_end: date, recipients: list[str]) -> None:
    from schemas.commands import OutboundMessage
    from schemas.settings import get_settings
    from sinks.email import EmailSender
    from sinks.message_ledger import MessageLedger

    settings = get_settings()
    subject = f"Reporte semanal TopLlantas al {week_end:%d/%m/%Y}"
    async with MessageLedger.from_settings(settings) as ledger:
        sender = EmailSender.from_settings(settings, ledger)
        for to in recipients:
            result = await sender.send(OutboundMessage(
                idempotency_key=f"weekly-report:{week_end.isoformat()}:{to}", channel="email",
                to=to, subject=subject, html=html,
                text="El reporte semanal requiere un cliente de correo con HTML.",
                issued_at=datetime.now(UTC)))
            console.print(f"{to}: {result.status}" + (f" ({result.error})" if result.error
                                                       else ""))
