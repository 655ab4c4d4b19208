"""The forecast job on the real ERP and broker: one event per series with sales, each valid
against the exported JSON Schema, with a usable mean and sigma for the stock policy."""

from __future__ import annotations

import json

import jsonschema
import orjson
import pytest

from schemas.export import JSON_DIR
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
