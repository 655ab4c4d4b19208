"""What a forecast hands to the rest of the pipeline."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from processors.forecasting.classify import SeriesClass


@dataclass(frozen=True)
class SeriesForecast:
    """Forecast of one series, one value per future period.

    `sigma` is the per-period forecast-error standard deviation; for a lead time of L periods
    starting now, σ_L = sqrt(sum(sigma[:L]²)) (errors taken as independent). `p10`/`p90` bound
    the 80 % band. `backtest_mase` is the chosen forecast's rolling-origin MASE on the training
    history (None when the history was too short to backtest or is empty);
    `seasonal_naive_mase` is the benchmark it was chosen against.
    """

    key: str
    freq: str
    dates: tuple[date, ...]
    mean: tuple[float, ...]
    p10: tuple[float, ...]
    p90: tuple[float, ...]
    sigma: tuple[float, ...]
    model: str
    series_class: SeriesClass
    backtest_mase: float | None
    seasonal_naive_mase: float | None
    history_length: int
    adi: float | None = None
    cv2: float | None = None
    candidate_mase: dict[str, float] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        return len(self.mean)

    def lead_time_sigma(self, periods: int) -> float:
        """σ of the summed demand over the next `periods` periods."""
        return math.sqrt(sum(s * s for s in self.sigma[:periods]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings, NaN as None)."""
        return {
            "key": self.key,
            "freq": self.freq,
            "dates": [d.isoformat() for d in self.dates],
            "mean": list(self.mean),
            "p10": list(self.p10),
            "p90": list(self.p90),
            "sigma": list(self.sigma),
            "model": self.model,
            "series_class": self.series_class.value,
            "backtest_mase": _finite(self.backtest_mase),
            "seasonal_naive_mase": _finite(self.seasonal_naive_mase),
            "history_length": self.history_length,
            "adi": _finite(self.adi),
            "cv2": _finite(self.cv2),
            "candidate_mase": {k: _finite(v) for k, v in self.candidate_mase.items()},
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
