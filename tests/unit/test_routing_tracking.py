"""Live ETAs from GPS: reached stops, predicted arrivals, late stops (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from processors.routing.delivery_day import MEXICO_CITY, at_minutes, eta_window
from processors.routing.problem import TimeWindow
from processors.routing.tracking import late, predict_arrivals, remaining_stops, road_km
from schemas.routes import TrackedStop

DAY = date(2025, 5, 14)
DEPOT = (25.6866, -100.3161)  # Monterrey centro


def _stop(order: int, lat: float, lon: float, eta_end_min: float, window_start_min: float = 540
          ) -> TrackedStop:
    return TrackedStop(
        sales_order_id=order, customer_name=f"Cliente {order}", phone=f"52181{order:08d}",
        lat=lat, lon=lon, service_min=14, window_start=at_minutes(DAY, window_start_min),
        eta_start=at_minutes(DAY, eta_end_min - 120), eta_end=at_minutes(DAY, eta_end_min))


STOPS = [_stop(1, 25.70, -100.30, 660), _stop(2, 25.72, -100.28, 720),
         _stop(3, 25.75, -100.25, 780)]


def test_prediction_drives_at_the_planner_speed_and_serves_in_order() -> None:
    at = at_minutes(DAY, 600)
    predicted = predict_arrivals(STOPS, *DEPOT, at, speed_kmh=30, road_factor=1.0)
    first = road_km(DEPOT, (STOPS[0].lat, STOPS[0].lon), 1.0) / 30 * 60
    assert predicted[0].arrival == pytest.approx(at + timedelta(minutes=first),
                                                 abs=timedelta(seconds=1))
    second = road_km((STOPS[0].lat, STOPS[0].lon), (STOPS[1].lat, STOPS[1].lon), 1.0) / 30 * 60
    expected = predicted[0].service_start + timedelta(minutes=14 + second)
    assert predicted[1].arrival == pytest.approx(expected, abs=timedelta(seconds=1))
    assert [p.stop.sales_order_id for p in predicted] == [1, 2, 3]


def test_early_vehicle_waits_for_the_window_to_open() -> None:
    stop = _stop(9, 25.70, -100.30, 720, window_start_min=660)
    (prediction,) = predict_arrivals([stop], *DEPOT, at_minutes(DAY, 480))
    assert prediction.arrival < stop.window_start
    assert prediction.service_start == stop.window_start
    assert prediction.late_min < 0


def test_reached_stops_and_everything_before_them_are_done() -> None:
    remaining, reached = remaining_stops(STOPS, set(), STOPS[1].lat, STOPS[1].lon)
    assert reached == {2} and [s.sales_order_id for s in remaining] == [3]
    remaining, reached = remaining_stops(STOPS, reached, *DEPOT)  # back near the depot later
    assert reached == {2} and [s.sales_order_id for s in remaining] == [3]
    remaining, reached = remaining_stops(STOPS, set(), *DEPOT)
    assert reached == set() and len(remaining) == 3


def test_late_only_beyond_the_tolerance() -> None:
    at = at_minutes(DAY, 600)
    predicted = predict_arrivals(STOPS[:1], *DEPOT, at)
    minutes_late = predicted[0].late_min
    assert late(predicted, tolerance_min=minutes_late - 1) == predicted
    assert late(predicted, tolerance_min=minutes_late + 1) == []
    stuck = predict_arrivals(STOPS, *DEPOT, at_minutes(DAY, 800))
    assert [p.stop.sales_order_id for p in late(stuck)] == [1, 2, 3]
    on_time = predict_arrivals(STOPS, *DEPOT, at_minutes(DAY, 540))
    assert late(on_time) == []


def test_positions_in_other_timezones_compare_correctly() -> None:
    utc_at = at_minutes(DAY, 600).astimezone(datetime.now().astimezone().tzinfo)
    local = predict_arrivals(STOPS, *DEPOT, at_minutes(DAY, 600))
    other = predict_arrivals(STOPS, *DEPOT, utc_at)
    assert [p.late_min for p in local] == pytest.approx([p.late_min for p in other])
    assert local[0].arrival.astimezone(MEXICO_CITY).date() == DAY


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError):
        predict_arrivals(STOPS, *DEPOT, at_minutes(DAY, 600), speed_kmh=0)


def test_eta_window_is_two_hours_on_half_hours_inside_the_customer_window() -> None:
    assert eta_window(10 * 60 + 40, TimeWindow(540, 1080)) == (570.0, 690.0)
    assert eta_window(9 * 60 + 10, TimeWindow(540, 1080)) == (540.0, 660.0)
