"""Mexican holiday calendar for Prophet: public holidays plus the tire-buying events."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import pandas as pd
from dateutil.easter import easter


@lru_cache(maxsize=16)
def holiday_frame(country: str, first_year: int, last_year: int) -> pd.DataFrame:
    """Prophet `holidays` frame (holiday, ds, lower_window, upper_window) for the years.

    For Mexico it adds Holy Week (Semana Santa road trips: demand before Thursday) and Buen Fin
    (the Friday-Monday sale ending on the Revolution Day Monday) to the public holidays.
    """
    years = range(first_year, last_year + 1)
    rows = [(name, pd.Timestamp(day), 0, 0)
            for day, name in holidays.country_holidays(country, years=years).items()]
    if country.upper() == "MX":
        for year in years:
            thursday = easter(year) - timedelta(days=3)
            rows.append(("Semana Santa", pd.Timestamp(thursday), -6, 1))
            rows.append(("Buen Fin", pd.Timestamp(_buen_fin_monday(year)), -3, 0))
    frame = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window"])
    return frame.sort_values("ds", ignore_index=True)


def _buen_fin_monday(year: int) -> date:
    """Revolution Day is observed on the third Monday of November; Buen Fin ends that day."""
    first = date(year, 11, 1)
    first_monday = first + timedelta(days=(7 - first.weekday()) % 7)
    return first_monday + timedelta(weeks=2)
