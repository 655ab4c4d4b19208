"""`topllantas webhook`: the WhatsApp webhook ingress (verification, signature, enqueue)."""

from __future__ import annotations

import asyncio
import logging

import typer

from schemas.settings import InsecureSettings, Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def webhook(host: str = typer.Option("127.0.0.1", help="Bind address."),
                port: int = typer.Option(8080, help="Port for Meta's webhook calls.")) -> None:
        """Serve the WhatsApp Cloud API webhook: messages -> whatsapp.inbound, statuses ->
        whatsapp.status."""
        from sources.whatsapp_webhook.app import run_webhook

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        try:
            asyncio.run(run_webhook(Settings(), host, port))
        except InsecureSettings as exc:
            typer.echo(f"webhook: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            pass
