"""Dataset layouts and the rolling-origin accuracy report on tiny panels (no Prophet)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from processors.forecasting import ForecastConfig, evaluate_panel, panel_from_frame
from processors.forecasting.datasets import Layout, detect_layout
from processors.forecasting.evaluate import CHOICE


def _carparts_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    months = pd.date_range("1998-01-01", periods=51, freq="MS").strftime("%b-%y")
    rows = {f"P{i}": rng.poisson(rng.uniform(0.3, 3), 51).astype(float) for i in range(12)}
    frame = pd.DataFrame(rows, index=months).T.reset_index(names="Part")
    frame.loc[0, months[14:]] = np.nan  # a part observed for 14 months only
    return frame


def test_layouts_are_detected() -> None:
    assert detect_layout(_carparts_frame()) is Layout.CARPARTS
    m5 = pd.DataFrame({"id": ["a"], "item_id": ["i"], "d_1": [0], "d_2": [1]})
    assert detect_layout(m5) is Layout.M5
    assert detect_layout(pd.DataFrame({"ds": ["2020-01-01"], "y": [1.0]})) is Layout.DS_Y
    with pytest.raises(ValueError):
        detect_layout(pd.DataFrame({"a": [1], "b": [2]}))


def test_carparts_trailing_blanks_are_missing_months() -> None:
    panel = panel_from_frame(_carparts_frame())
    assert panel.freq == "MS" and panel.season_length == 12
    assert len(panel.series["P0"]) == 14 and len(panel.series["P1"]) == 51


def test_m5_calendar_gives_dates_and_events() -> None:
    sales = pd.DataFrame({"id": ["x_validation"], "item_id": ["x"], "d_1": [1], "d_2": [0]})
    calendar = pd.DataFrame({"d": ["d_1", "d_2"], "date": ["2011-01-29", "2011-01-30"],
                             "event_name_1": [None, "SuperBowl"]})
    panel = panel_from_frame(sales, calendar=calendar)
    assert panel.series["x_validation"].index[0] == pd.Timestamp("2011-01-29")
    assert panel.holidays is not None and panel.holidays["holiday"].tolist() == ["SuperBowl"]


def test_ds_y_monthly_frequency_is_inferred() -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=30, freq="MS"),
                          "y": np.arange(30.0)})
    panel = panel_from_frame(frame, "retail")
    assert panel.freq == "MS" and list(panel.series) == ["retail"]


def test_accuracy_report_scores_choice_against_held_out_months() -> None:
    panel = panel_from_frame(_carparts_frame(), "parts")
    methods = ["SeasonalNaive", "ADIDA", "IMAPA"]
    with ThreadPoolExecutor(1) as executor:
        report = evaluate_panel(panel, ForecastConfig.monthly(12, use_prophet=False),
                                methods, executor)
    assert report.series == 11 and report.skipped == 1  # P0 is too short
    assert [m.method for m in report.methods] == [*methods, CHOICE]
    assert report.method("SeasonalNaive").mae_rel == pytest.approx(1.0)
    choice = report.method(CHOICE)
    assert np.isfinite(choice.mase) and np.isfinite(choice.rmsse)
    assert 0.0 <= (choice.coverage or 0.0) <= 1.0
    assert sum(report.classes.values()) == 11
