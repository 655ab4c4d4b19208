"""Forecast events (`forecasts.demand`) and insights (`forecasts.insights`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class DemandForecast(BaseModel):
    """Daily demand forecast of one product in one warehouse, keyed like `stock`.

    `sigma[i]` is the forecast-error standard deviation of day i; for a lead time of L days the
    safety-stock formula uses sqrt(sum(sigma[:L]^2)). `p10`/`p90` bound the 80 % band.
    """

    product_id: int
    warehouse_id: int
    generated_at: datetime
    dates: list[date]
    mean: list[float]
    p10: list[float]
    p90: list[float]
    sigma: list[float]
    model: str
    series_class: str
    backtest_mase: float | None = Field(description="Rolling-origin MASE of the chosen model.")
    seasonal_naive_mase: float | None = None
    history_days: int

    @property
    def daily_mean(self) -> float:
        return sum(self.mean) / len(self.mean) if self.mean else 0.0


class DemandInsight(BaseModel):
    """A product growing fast, declining, or with an unusual spike."""

    kind: Literal["creciendo", "declinando", "anomalia"]
    product_id: int
    warehouse_id: int
    score: float
    detail: str
    generated_at: datetime
