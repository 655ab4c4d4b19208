"""The live demo: embedded stack up, ERP seeded, CDC and workers running, a business day flowing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.live import Live

from ops.demo.conversation import play_buyer_approval, play_seed_conversation
from ops.demo.summary import LiveSummary
from ops.erp.seed import seed_erp
from ops.erp.setup import apply_schema
from ops.erp.simulate import simulate_day
from ops.stack import stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from ops.topics_admin import apply_catalogue
from schemas.settings import Settings
from sources.whatsapp_webhook.app import WEBHOOK_PATH

# One worker per flow group (streams/flows.py), so a customer's reply never waits behind months
# of ERP history being loaded into the other flows; the back-office flows run at a lower CPU
# priority (nice), so on a small machine the customer and the buyers are served first.
DEMO_WORKERS = {"agent,sinks": 0, "stock": 0, "routes,forecasts": 10, "analytics": 10}


async def _erp_is_seeded(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(
            "SELECT to_regclass('public.products') IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM public.products)"))
    finally:
        await conn.close()


def run_demo(settings: Settings, *, duration: float, speed: float, reseed: bool,
             history_days: int, console: Console) -> dict:
    embedded = settings.kafka_bootstrap_servers is None
    if embedded:
        state = stack.up(settings)
        console.print(f"embedded stack: broker :{state.broker.port}, "
                      f"PostgreSQL :{state.postgres.port}")
    dsn = settings.erp_dsn()
    asyncio.run(apply_schema(dsn))  # idempotent: brings an older ERP up to date
    if reseed or not asyncio.run(_erp_is_seeded(dsn)):
        console.print("seeding the ERP (2,400 SKUs, 600 customers, 2 years of sales)…")
        counts = asyncio.run(seed_erp(dsn))
        console.print(f"  {sum(counts.values()):,} rows")
    apply_catalogue(settings)
    double_port, webhook_port, smtp_port = free_port(), free_port(), free_port()
    double_url = f"http://127.0.0.1:{double_port}"
    mailbox = settings.state_dir.resolve() / "mail"
    env = {"TOPLLANTAS_STATE_DIR": str(settings.state_dir.resolve()),
           "WHATSAPP_BASE_URL": double_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
           # The ERP holds two years of sales; the flows need the last months of it to start.
           "CDC_SNAPSHOT_DAYS": str(settings.cdc_snapshot_days or history_days)}
    supervisor = Supervisor(env, Path(settings.state_dir) / "logs", restart=True)
    try:
        supervisor.start("whatsapp-double", "-m", "ops.doubles.whatsapp_double",
                         "--port", str(double_port), "--webhook-url",
                         f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}")
        supervisor.start("webhook", "webhook", "--port", str(webhook_port))
        # A local SMTP server stands in for the mail relay: e-mails land in a Maildir.
        supervisor.start("smtp", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
                         "-c", "aiosmtpd.handlers.Mailbox", str(mailbox))
        supervisor.start("cdc", "cdc", "run")
        web_ports = {}
        for flows, nice in DEMO_WORKERS.items():
            web_ports[flows] = free_port()
            supervisor.start(f"worker-{flows.replace(',', '-')}", "worker", "--flows", flows,
                             env={"FAUST_WEB_PORT": str(web_ports[flows])}, nice=nice)
        console.print(f"WhatsApp double (messages the pipeline sends): {double_url}/_double/")
        console.print("status dashboard: http://127.0.0.1:"
                      f"{web_ports['analytics']}/dashboard/?token=<DASHBOARD_TOKEN>")
        console.print(f"e-mails (digests, manifests, handoffs): {mailbox}/new/")
        console.print(f"ERP business compressed {speed:g}× (a simulated day every "
                      f"{86400 / speed / 60:.1f} min of real time); purchase orders arrive after "
                      "their supplier's lead time on that clock")
        stats = asyncio.run(_live(settings, supervisor, duration, speed, console, double_url))
    finally:
        supervisor.stop_all()
        if embedded:
            stack.down(settings)
    if not console.is_terminal:
        console.line()  # Live's last frame, printed once to a file or pipe, ends mid-line
    console.print(f"business day: {stats}")
    console.print(f"logs: {settings.state_dir / 'logs'}")
    return stats


async def _live(settings: Settings, supervisor: Supervisor, duration: float, speed: float,
                console: Console, double_url: str) -> dict:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    summary = LiveSummary(settings)
    follower = asyncio.create_task(summary.follow(stop))
    business = asyncio.create_task(
        simulate_day(settings.erp_dsn(), speed=speed, duration=0, stop=stop))
    conversation = asyncio.create_task(play_seed_conversation(
        double_url, settings.erp_dsn(), summary.extra.append, stop))
    buyer = asyncio.create_task(play_buyer_approval(
        double_url, settings.erp_dsn(), summary.extra.append, stop))
    deadline = loop.time() + duration if duration > 0 else None
    with Live(summary.render(), console=console, refresh_per_second=2) as live:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            live.update(summary.render())
            for name in supervisor.procs:
                if not supervisor.running(name):
                    summary.extra.append(f"[red]{name} stopped; see its log[/red]")
                    stop.set()
            if deadline and loop.time() > deadline:
                stop.set()
    stats = await business
    await follower
    conversation.cancel()
    buyer.cancel()
    return stats
