"""Panels of series from the public benchmark layouts (already-read frames; no file I/O here).

Layouts, told apart by their columns:
- car parts: an id column, then one column per month labelled like `Jan-98`; trailing blanks
  are months not observed.
- M5: `id`, `item_id`, ..., then `d_1` ... `d_N` daily columns; an optional calendar maps
  `d` to `date` and gives events (used as Prophet holidays).
- ds/y: a `ds` date column and a `y` value column (optionally a `unique_id`); the frequency is
  inferred (monthly or daily).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from processors.forecasting.config import DAILY, MONTHLY

M5_START = "2011-01-29"  # d_1 in the M5 calendar
_MONTH_LABEL = re.compile(r"^[A-Z][a-z]{2}-\d{2}$")


class Layout(StrEnum):
    CARPARTS = "carparts"
    M5 = "m5"
    DS_Y = "ds_y"


@dataclass(frozen=True)
class Panel:
    """Same-frequency series keyed by id, each on a regular date index with no missing values."""

    name: str
    freq: str
    series: dict[str, pd.Series]
    holidays: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def season_length(self) -> int:
        return 12 if self.freq == MONTHLY else 7


def detect_layout(frame: pd.DataFrame) -> Layout:
    columns = [str(c) for c in frame.columns]
    if {"ds", "y"} <= set(columns):
        return Layout.DS_Y
    if any(c.startswith("d_") for c in columns) and "id" in columns:
        return Layout.M5
    if len(columns) > 2 and all(_MONTH_LABEL.match(c) for c in columns[1:]):
        return Layout.CARPARTS
    raise ValueError(f"unknown layout; columns start {columns[:5]}")


def panel_from_frame(frame: pd.DataFrame, name: str = "data",
                     calendar: pd.DataFrame | None = None) -> Panel:
    layout = detect_layout(frame)
    if layout is Layout.CARPARTS:
        return _carparts(frame, name)
    if layout is Layout.M5:
        return _m5(frame, name, calendar)
    return _ds_y(frame, name)


def _carparts(frame: pd.DataFrame, name: str) -> Panel:
    dates = pd.to_datetime(frame.columns[1:], format="%b-%y")
    series = {}
    for _, row in frame.iterrows():
        values = pd.Series(pd.to_numeric(row.iloc[1:], errors="coerce").to_numpy(dtype=float),
                           index=dates)
        last = values.last_valid_index()
        if last is not None:
            series[str(row.iloc[0])] = values.loc[:last].fillna(0.0)
    return Panel(name, MONTHLY, series)


def _m5(frame: pd.DataFrame, name: str, calendar: pd.DataFrame | None) -> Panel:
    day_columns = [c for c in frame.columns if str(c).startswith("d_")]
    if calendar is not None:
        day_to_date = dict(zip(calendar["d"], pd.to_datetime(calendar["date"]), strict=True))
        dates = pd.DatetimeIndex([day_to_date[c] for c in day_columns])
        holidays = _calendar_events(calendar)
    else:
        dates = pd.date_range(M5_START, periods=len(day_columns), freq=DAILY)
        holidays = None
    values = frame[day_columns].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    series = {str(key): pd.Series(row.to_numpy(dtype=float), index=dates)
              for key, (_, row) in zip(frame["id"], values.iterrows(), strict=True)}
    return Panel(name, DAILY, series, holidays)


def _calendar_events(calendar: pd.DataFrame) -> pd.DataFrame | None:
    frames = [calendar[["date", col]].dropna().rename(columns={"date": "ds", col: "holiday"})
              for col in ("event_name_1", "event_name_2") if col in calendar]
    if not frames:
        return None
    events = pd.concat(frames, ignore_index=True)
    events["ds"] = pd.to_datetime(events["ds"])
    return events.assign(lower_window=0, upper_window=0)


def _ds_y(frame: pd.DataFrame, name: str) -> Panel:
    data = frame.assign(ds=pd.to_datetime(frame["ds"]))
    keys = data["unique_id"].astype(str) if "unique_id" in data else pd.Series(name, data.index)
    series = {}
    freq = DAILY
    for key, part in data.groupby(keys, sort=False):
        values = part.set_index("ds")["y"].astype(float).sort_index()
        inferred = pd.infer_freq(values.index) if len(values) >= 3 else None
        freq = MONTHLY if inferred is not None and inferred.startswith("M") else DAILY
        full = pd.date_range(values.index[0], values.index[-1], freq=freq)
        series[str(key)] = values.reindex(full).fillna(0.0)
    return Panel(name, freq, series)
