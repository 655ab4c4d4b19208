"""Live ETAs of a vehicle's remaining stops from its GPS position (pure).

A stop counts as reached once the vehicle came within `ARRIVAL_RADIUS_KM` of it; every stop
before a reached one is taken as done. From the current position and time the remaining stops
are predicted in order at the planner's assumptions (haversine km × road factor at an average
speed), waiting for a customer's window to open and spending the service time at each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from processors.routing.delivery_day import (
    ARRIVAL_RADIUS_KM,
    LATE_TOLERANCE_MIN,
    TRACKING_ROAD_FACTOR,
    TRACKING_SPEED_KMH,
)
from processors.routing.matrix import haversine_km
from schemas.routes import TrackedStop


@dataclass(frozen=True)
class Predicted:
    """When the vehicle is expected at a stop; `late_min` is past the promised window's end."""

    stop: TrackedStop
    arrival: datetime
    service_start: datetime

    @property
    def late_min(self) -> float:
        return (self.service_start - self.stop.eta_end).total_seconds() / 60.0


def road_km(a: tuple[float, float], b: tuple[float, float], road_factor: float) -> float:
    return float(haversine_km([a, b])[0, 1]) * road_factor


def remaining_stops(
    stops: list[TrackedStop], reached: set[int], lat: float, lon: float,
    radius_km: float = ARRIVAL_RADIUS_KM,
) -> tuple[list[TrackedStop], set[int]]:
    """The stops still ahead, and the updated set of reached order ids."""
    reached = set(reached) | {
        s.sales_order_id for s in stops if road_km((lat, lon), (s.lat, s.lon), 1.0) <= radius_km
    }
    last = max((i for i, s in enumerate(stops) if s.sales_order_id in reached), default=-1)
    return stops[last + 1:], reached


def predict_arrivals(
    remaining: list[TrackedStop], lat: float, lon: float, at: datetime,
    speed_kmh: float = TRACKING_SPEED_KMH, road_factor: float = TRACKING_ROAD_FACTOR,
) -> list[Predicted]:
    """Arrival and service start at each remaining stop, driving from (lat, lon) at `at`."""
    if speed_kmh <= 0:
        raise ValueError("speed must be positive")
    predictions: list[Predicted] = []
    here, clock = (lat, lon), at
    for stop in remaining:
        there = (stop.lat, stop.lon)
        arrival = clock + timedelta(hours=road_km(here, there, road_factor) / speed_kmh)
        start = max(arrival, stop.window_start)
        predictions.append(Predicted(stop, arrival, start))
        here, clock = there, start + timedelta(minutes=stop.service_min)
    return predictions


def late(predictions: list[Predicted], tolerance_min: float = LATE_TOLERANCE_MIN
         ) -> list[Predicted]:
    """The stops whose service would start more than `tolerance_min` after the promised end."""
    return [p for p in predictions if p.late_min > tolerance_min]
