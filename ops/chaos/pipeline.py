"""The whole pipeline on the embedded stack, with handles to break each part of it.

Processes (ops/supervisor.py): CDC, the webhook, one worker for the customer-facing flows
(agent, sinks), one for stock, one for routes and forecasts (niced, as in the demo), one for
analytics (enriched topics), a local SMTP server and the OpenAI double (a process of its own,
so SIGSTOP makes the LLM time out). The WhatsApp double runs in this process, so the load can
talk to it and the audit read its log. The sinks reach
PostgreSQL through an unpluggable forwarder (proxy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

from ops.chaos.proxy import Unpluggable
from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack import stack as embedded
from ops.stack.ephemeral import RunningStack
from ops.stack.postgres import start_postgres
from ops.stack.processes import free_port, pid_alive
from ops.supervisor import Supervisor
from ops.topics_admin import apply_catalogue
from sources.whatsapp_webhook.app import WEBHOOK_PATH

# name -> flows; the customer's flows, the back office and the analysts' apart, as in the demo
WORKERS = {"worker-agent-sinks": "agent,sinks", "worker-stock": "stock",
           "worker-routes": "routes,forecasts", "worker-analytics": "analytics"}
ROUTES_WORKER = "worker-routes"
NICE = {ROUTES_WORKER: 10}  # the planner's batch work yields the CPU, as in the demo
DASHBOARD_TOKEN = "chaos-dashboard-token"
LLM_KEY = "chaos-llm-key"
TIRE_SIZE = "205/55R16"  # the customers' script asks for a Jetta 2020's tires


@dataclass
class ChaosPipeline:
    stack: RunningStack
    log_dir: Path
    customers: int = 6
    routes: bool = True  # start the routes worker (a soak does not: ops/cli/chaos.py)
    supervisor: Supervisor = field(init=False)
    double: WhatsAppDouble = field(init=False)
    proxy: Unpluggable = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    web_ports: dict[str, int] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)
    memory: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    cpu_busy: list[tuple[float, float]] = field(default_factory=list)  # machine-wide %, per sample

    async def start(self) -> None:
        await asyncio.to_thread(self._seed)
        self.phones = await self._stock_customers()
        self.proxy = Unpluggable(_port(self.stack.erp_dsn))
        await self.proxy.start()
        webhook_port, smtp_port, llm_port = free_port(), free_port(), free_port()
        self.double = WhatsAppDouble.from_settings(
            self.stack.settings(), webhook_url=f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}",
            pair_interval_s=0, webhook_first_retry_s=0.5, webhook_retry_s=900)
        await self.double.start()
        self.env = {
            "TOPLLANTAS_STATE_DIR": str(self.stack.state_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap_servers,
            "BROKER_PROFILE": "embedded", "ERP_DATABASE_URL": self.stack.erp_dsn,
            "ERP_SINK_DATABASE_URL": _at_port(self.stack.sink_dsn, self.proxy.port),
            "ERP_READER_DATABASE_URL": self.stack.reader_dsn,
            "CDC_POLL_INTERVAL_MS": "20", "DASHBOARD_TOKEN": DASHBOARD_TOKEN,
            "WHATSAPP_BASE_URL": self.double.base_url, "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port), "LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "LLM_API_KEY": LLM_KEY, "LLM_TIMEOUT_S": "2", "LLM_MAX_RETRIES": "0",
        }
        self.supervisor = Supervisor(self.env, self.log_dir)
        start = self.supervisor.start
        start("smtp", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
              "-c", "aiosmtpd.handlers.Mailbox", str(self.stack.state_dir / "mail"))
        start("llm-double", "-m", "ops.doubles.openai_double", "--port", str(llm_port),
              "--api-key", LLM_KEY)
        start("webhook", "webhook", "--port", str(webhook_port))
        start("cdc", "cdc", "run")
        for name in self.workers:
            self.web_ports[name] = free_port()
            self.start_worker(name)
        for name in self.workers:
            await self.wait_worker(name, 240)

    async def stop(self) -> None:
        if self.stack.broker_pid:  # never leave the broker paused
            os.kill(self.stack.broker_pid, signal.SIGCONT)
        if hasattr(self, "supervisor"):
            for name in list(self.supervisor.procs):
                with contextlib.suppress(ProcessLookupError):  # exited already
                    self.supervisor.signal(name, signal.SIGCONT)
            await asyncio.to_thread(self.supervisor.stop_all)
        if hasattr(self, "double"):
            await self.double.stop()
        if hasattr(self, "proxy"):
            await self.proxy.stop()

    # ------------------------------------------------------------------ processes
    @property
    def workers(self) -> dict[str, str]:
        """The workers this run starts: name -> flows."""
        return {name: flows for name, flows in WORKERS.items()
                if self.routes or name != ROUTES_WORKER}

    def start_worker(self, name: str) -> None:
        self.supervisor.start(name, "worker", "--flows", WORKERS[name],
                              env={"FAUST_WEB_PORT": str(self.web_ports[name])},
                              nice=NICE.get(name, 0))

    def worker_up(self, name: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self.web_ports[name]}/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    async def wait_worker(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.worker_up, name):
            if not self.supervisor.running(name):
                raise RuntimeError(f"{name} exited; see {self.log_dir / name}.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not answer within {timeout:.0f} s")
            await asyncio.sleep(0.5)

    def restart_postgres(self) -> None:
        """A fast shutdown (SIGINT to the postmaster) and a start on the same port and data."""
        pid = self.stack.postgres_pid
        assert pid is not None
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = _port(self.stack.erp_dsn)
        new_pid, _ = start_postgres(self.stack.state_dir / "pgdata", port,
                                    self.stack.state_dir / "postgres.log")
        self.stack.postgres_pid = new_pid
        settings = self.stack.settings()
        state = embedded.load_state(settings)
        if state is not None:  # so that `stack.down` stops the new server
            state.postgres.pid = new_pid
            state.save(settings.stack_file)

    def sample_memory(self) -> dict[str, float]:
        """RSS in MB of every process of the pipeline (with its children), broker and database;
        and how busy the machine's CPUs were since the last sample (`cpu_busy`)."""
        self.cpu_busy.append((time.time(), psutil.cpu_percent(interval=None)))
        pids = {name: proc.pid for name, proc in self.supervisor.procs.items()}
        pids |= {"broker": self.stack.broker_pid or 0, "postgres": self.stack.postgres_pid or 0}
        sample: dict[str, float] = {}
        for name, pid in pids.items():
            try:
                proc = psutil.Process(pid)
                procs = [proc, *proc.children(recursive=True)]
                sample[name] = round(sum(p.memory_info().rss for p in procs) / 2**20, 1)
            except psutil.Error:
                continue
        self.memory.append((time.time(), sample))
        return sample

    # ------------------------------------------------------------------ setup
    def _seed(self) -> None:
        catalogue = generate_catalogue(seed=3, n_products=150, n_customers=40, days=30)
        asyncio.run(seed_erp(self.stack.erp_dsn, catalogue=catalogue))
        apply_catalogue(self.stack.settings())

    async def stock_up(self, units: int) -> None:
        """Every stock row at least `units` on hand: at a soak's rate the seeded stock would run
        out in minutes and most sales become read-only `lost_sale`s."""
        conn = await asyncpg.connect(self.stack.erp_dsn)
        try:
            await conn.execute("UPDATE stock SET on_hand = $1, updated_at = now() "
                               "WHERE on_hand < $1", units)
        finally:
            await conn.close()

    async def _stock_customers(self) -> list[str]:
        """Phones of the customers; every tire the script asks for in stock, plenty of it."""
        conn = await asyncpg.connect(self.stack.erp_dsn)
        try:
            await conn.execute(
                "INSERT INTO stock (product_id, warehouse_id, on_hand) "
                "SELECT p.id, w.id, 100000 FROM products p CROSS JOIN warehouses w "
                "WHERE p.tire_size = $1 ON CONFLICT (product_id, warehouse_id) "
                "DO UPDATE SET on_hand = 100000, reserved = 0", TIRE_SIZE)
            rows = await conn.fetch("SELECT phone FROM customers WHERE phone IS NOT NULL "
                                    "ORDER BY id LIMIT $1", self.customers)
        finally:
            await conn.close()
        return [r["phone"] for r in rows]


def _port(dsn: str) -> int:
    port = urlsplit(dsn).port
    assert port is not None
    return port


def _at_port(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username}@{parts.hostname}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
