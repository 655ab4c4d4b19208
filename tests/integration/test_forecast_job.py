"""The forecast job on the real ERP and broker: one event per series with sales, each valid
against the exported JSON Schema, with a usable mean and sigma for the stock policy."""

from __future__ import annotations

import json

import jsonschema
import orjson
import pytest

from schemas.json_schemas import JSON_DIR
from streams.forecast_job import run_forecast
from tests.integration.kafka_read import read_all
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


def test_forecasts_published_and_valid(fresh_stack: TestStack) -> None:
    stats = run_forecast(fresh_stack.settings())
    assert stats["series"] > 50
    schema = json.loads((JSON_DIR / "schemas.forecasts.DemandForecast.json").read_text())
    records = [r for r in read_all(fresh_stack.bootstrap_servers, ["forecasts.demand"])
               if r.value is not None]
    assert len(records) == stats["series"]
    for record in records:
        event = orjson.loads(record.value)
        jsonschema.validate(event, schema)
        assert orjson.loads(record.key) == {"product_id": event["product_id"],
                                            "warehouse_id": event["warehouse_id"]}
        assert len(event["mean"]) == 56 and len(event["sigma"]) == 56
        assert all(m >= 0 for m in event["mean"])
        # quantiles of sparse demand may both be 0 while the mean is not: check the band only
        assert all(lo <= hi for lo, hi in zip(event["p10"], event["p90"], strict=True))
        assert all(s >= 0 for s in event["sigma"])


def test_incremental_refresh_reforecasts_only_changed_products(fresh_stack: TestStack) -> None:
    import asyncio

    import asyncpg

    from sources.demand_history import load_daily_demand
    from streams.forecast_job import changed_series, refresh_changed

    async def spike() -> int:
        conn = await asyncpg.connect(fresh_stack.erp_dsn)
        try:
            product = await conn.fetchval("SELECT id FROM products ORDER BY id LIMIT 1")
            order = await conn.fetchval(
                "INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at) "
                "VALUES (1, 1, 'confirmado', (SELECT max(created_at) FROM sales_orders)) "
                "RETURNING id")
            await conn.execute(
                "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost) "
                "VALUES ($1, $2, 400, 1000, 700)", order, product)
            return product
        finally:
            await conn.close()

    product = asyncio.run(spike())
    series = asyncio.run(load_daily_demand(fresh_stack.erp_dsn))
    changed = changed_series(series)
    assert product in changed and len(changed) < len({k.split(":")[0] for k in series})
    stats = refresh_changed(fresh_stack.settings())
    assert 0 < stats["series"] < len(series)
