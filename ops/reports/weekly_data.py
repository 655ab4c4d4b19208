"""Load the weekly report's frames from the enriched topics (current state per key)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa

from ops.export import TopicTable, read_topic
from ops.reports.weekly import WeeklyData
from schemas.topics import Catalogue


def topic_frame(bootstrap: str, catalogue: Catalogue, topic: str, key: str) -> pd.DataFrame:
    """The latest record per `key` column of a topic; decimals as floats."""
    table = TopicTable(catalogue, topic)
    for record in read_topic(bootstrap, topic):
        table.add(record)
    arrow = table.to_arrow()
    arrow = arrow.cast(pa.schema([
        pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f
        for f in arrow.schema]))
    frame = arrow.to_pandas()
    if frame.empty:
        return frame
    return frame.sort_values(["kafka_timestamp", "kafka_offset"]).drop_duplicates(
        key, keep="last").reset_index(drop=True)


def forecast_accuracy(bootstrap: str, catalogue: Catalogue) -> pd.DataFrame:
    """Backtest MASE of the current forecast of every product×warehouse (`forecasts.demand`)."""
    frame = topic_frame(bootstrap, catalogue, "forecasts.demand", "kafka_key")
    if frame.empty:
        return frame
    return frame.rename(columns={"backtest_mase": "mase"}).dropna(subset=["mase"])[
        ["model", "mase", "series_class"]]


def load_weekly_data(bootstrap: str, catalogue: Catalogue, week_end: date) -> WeeklyData:
    return WeeklyData(
        week_end=week_end,
        sales=topic_frame(bootstrap, catalogue, "analytics.sales_enriched", "line_id"),
        inventory=topic_frame(bootstrap, catalogue, "analytics.inventory_daily", "kafka_key"),
        deliveries=topic_frame(bootstrap, catalogue, "analytics.deliveries", "delivery_id"),
        forecast_accuracy=forecast_accuracy(bootstrap, catalogue))
