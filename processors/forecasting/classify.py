"""Syntetos-Boylan demand classes (ADI 1.32, CV² 0.49) plus short and empty histories."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class SeriesClass(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    SHORT = "short"
    NO_DEMAND = "no_demand"


@dataclass(frozen=True)
class Classification:
    series_class: SeriesClass
    adi: float | None
    cv2: float | None
    length: int
    demand_periods: int


def classify(y: np.ndarray, min_history: int) -> Classification:
    """Class of a clean (non-negative) demand history.

    ADI is periods per period with demand; CV² is the squared coefficient of variation of the
    non-zero demand sizes. Fewer than `min_history` periods is SHORT; no positive demand at all
    (including an empty history) is NO_DEMAND.
    """
    y = np.asarray(y, dtype=float)
    sizes = y[y > 0]
    if len(sizes) == 0:
        return Classification(SeriesClass.NO_DEMAND, None, None, len(y), 0)
    adi = len(y) / len(sizes)
    cv2 = float(np.var(sizes) / np.mean(sizes) ** 2)
    if len(y) < min_history:
        return Classification(SeriesClass.SHORT, adi, cv2, len(y), len(sizes))
    if adi < ADI_CUTOFF:
        label = SeriesClass.SMOOTH if cv2 < CV2_CUTOFF else SeriesClass.ERRATIC
    else:
        label = SeriesClass.INTERMITTENT if cv2 < CV2_CUTOFF else SeriesClass.LUMPY
    return Classification(label, adi, cv2, len(y), len(sizes))
