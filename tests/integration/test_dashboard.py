"""The status dashboard and /metrics of a running pipeline (ERP + CDC + worker + business).

The page is loaded in headless Chromium: it renders, shows live numbers, changes when events
flow, refuses access without the token. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.erp.simulate import simulate_day
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from tests import stack_fixture
from tests.integration.test_analytics_enrichment import TOKEN, Pipeline, start_pipeline

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with stack_fixture.test_stack() as stack:
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=generate_catalogue(
            seed=6, n_products=120, n_customers=30, days=4)))
        apply_catalogue(stack.settings())
        with Supervisor({}, tmp_path_factory.mktemp("logs")) as supervisor:
            pipeline = start_pipeline(stack, supervisor)
            asyncio.run(simulate_day(stack.erp_dsn, rate=60, duration=2, seed=8))
            yield pipeline


def chromium(url: str, tmp: Path, *, screenshot: Path | None = None,
             size: str = "1280,2200", budget_ms: int = 0) -> str:
    """The DOM after load (and after `budget_ms` of virtual time), optionally a screenshot."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp / 'profile'}", f"--window-size={size}"]
    if budget_ms:
        args.append(f"--virtual-time-budget={budget_ms}")
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    done = subprocess.run([*args, url], capture_output=True, timeout=90, check=True)
    return done.stdout.decode()


def text_of(dom: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert found, f"#{element_id} not in the page"
    return found.group(1).strip()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(ops/setup/test-deps.sh installs it); the browser test needs it")
async def test_the_page_shows_live_numbers_and_needs_the_token(
        pipeline: Pipeline, tmp_path: Path) -> None:
    page = pipeline.url(f"/dashboard/?token={TOKEN}")
    before = await asyncio.to_thread(chromium, page, tmp_path)
    assert "Ventas de hoy" in before and "Estado de integraciones" in before
    assert re.match(r"\$[\d,]+", text_of(before, "sales-revenue"))
    assert "En línea" in before  # broker / ERP probed by the worker
    assert "analytics.sales_enriched" in before  # events per topic

    await simulate_day(pipeline.stack.erp_dsn, rate=60, duration=2, seed=9)
    await asyncio.sleep(3)  # counters are published every 2 s
    after = await asyncio.to_thread(chromium, page, tmp_path, budget_ms=5500)
    assert text_of(after, "sales-revenue") != text_of(before, "sales-revenue")
    assert text_of(after, "status").endswith("en vivo")  # polled data.json with the token

    ARTIFACTS.mkdir(exist_ok=True)
    for name, size in (("dashboard-phone.png", "412,2400"), ("dashboard.png", "1280,1900")):
        await asyncio.to_thread(chromium, page, tmp_path, screenshot=ARTIFACTS / name,
                                size=size)
        assert (ARTIFACTS / name).stat().st_size > 10_000

    refused = await asyncio.to_thread(chromium, pipeline.url("/dashboard/"), tmp_path)
    assert "Acceso no autorizado" in refused and "Ventas de hoy" not in refused
    assert pipeline.get("/dashboard/", token=None)[0] == 401
    assert pipeline.get("/dashboard/data.json", token="otro")[0] == 401
    assert pipeline.get(f"/dashboard/data.json?token={TOKEN}", token=None)[0] == 200


async def test_metrics_and_dead_letters_after_a_run(pipeline: Pipeline) -> None:
    producer = Producer({"bootstrap.servers": pipeline.stack.bootstrap_servers})
    producer.produce("erp.public.sales_orders", key=b'{"id":1}', value=b"{roto")
    producer.flush(10)
    metric = pipeline.metric

    def counted() -> float:
        """Every agent reading the topic dead-letters the record: this worker's total."""
        sent = metric("topllantas_dead_letters_total", topic="erp.public.sales_orders")
        seen = metric("topllantas_dead_letters_24h", topic="erp.public.sales_orders.dlq")
        return sent if sent >= 1 and seen == sent else 0

    dead = await asyncio.to_thread(wait_for, counted, 60, "the dead letters read back")
    processed = metric("topllantas_events_processed_total", agent="analytics_sales")
    assert processed > 0
    assert metric("topllantas_processing_seconds_count", agent="analytics_sales") == processed
    mean = metric("topllantas_processing_seconds_sum", agent="analytics_sales") / processed
    assert 0 < mean < 0.05
    aged = metric("topllantas_event_age_seconds_count", agent="analytics_sales")
    assert aged > 0  # the simulated business day was streamed, not snapshotted
    assert metric("topllantas_event_age_seconds_sum", agent="analytics_sales") / aged < 30
    assert metric("topllantas_records_emitted_total", topic="analytics.sales_enriched") > 0
    for target in ("broker", "erp", "cdc"):
        assert metric("topllantas_integration_up", target=target) == 1, target
    assert 0 < metric("topllantas_integration_latency_seconds", target="erp") < 2
    assert metric("topllantas_integration_up", target="llm") == -1  # not configured
    assert metric("topllantas_cdc_lag_bytes") >= 0

    status, body = pipeline.get("/dashboard/data.json")
    data = json.loads(body)
    assert status == 200
    assert data["errors_24h"]["dead_letters"] == {"erp.public.sales_orders.dlq": dead}
    assert data["executive"]["sales"]["revenue"] > 0
    assert {j["name"] for j in data["jobs"]} >= {"end_of_day_inventory", "publish_counters"}
