"""Synthetic data for tests and benchmarks: Solomon-like instances and a realistic delivery day.

Gaps against best-known results are only meaningful on the real Solomon instances; these exist
to smoke-test the reader and the planner on R1/RC1-like structure, and to size the planner for
a day at TopLlantas (three branches, 25 vehicles, a few hundred orders).
"""

from __future__ import annotations

import math
import random
from typing import TypeVar

from processors.routing.matrix import HaversineMatrixProvider
from processors.routing.problem import (
    Coordinates,
    Depot,
    DriverBreak,
    RoutingProblem,
    Stop,
    TimeWindow,
    Vehicle,
)
from processors.routing.solomon import SolomonCustomer, SolomonInstance

T = TypeVar("T")

SOLOMON_KINDS = {
    # kind: (depot x, depot y, horizon, share of clustered customers)
    "R1": (35.0, 35.0, 230.0, 0.0),
    "RC1": (40.0, 50.0, 240.0, 0.5),
}


def solomon_like(kind: str, customers: int = 100, seed: int = 1) -> SolomonInstance:
    """A random R1- or RC1-like instance: 25 vehicles of capacity 200, service time 10,
    narrow windows that every customer can meet on its own."""
    depot_x, depot_y, horizon, clustered = SOLOMON_KINDS[kind]
    rng = random.Random(seed)
    centres = [(rng.uniform(15, 85), rng.uniform(15, 85)) for _ in range(8)]
    points: list[tuple[float, float]] = []
    for i in range(customers):
        if i < clustered * customers:
            cx, cy = centres[i % len(centres)]
            points.append((_clip(round(rng.gauss(cx, 5))), _clip(round(rng.gauss(cy, 5)))))
        else:
            points.append((float(rng.randint(0, 100)), float(rng.randint(0, 100))))
    rows = [SolomonCustomer(0, depot_x, depot_y, 0, 0.0, horizon, 0.0)]
    service = 10.0
    for number, (x, y) in enumerate(points, start=1):
        reach = math.dist((x, y), (depot_x, depot_y))
        earliest, latest = math.ceil(reach), math.floor(horizon - service - reach)
        centre = rng.uniform(earliest, latest)
        half = rng.uniform(5, 15)
        ready = max(earliest, round(centre - half))
        due = min(latest, max(ready, round(centre + half)))
        rows.append(SolomonCustomer(number, x, y, rng.randint(1, 41), ready, due, service))
    return SolomonInstance(f"{kind}-like-{seed}", 25, 200, tuple(rows))


BRANCHES = (
    # id, name, lat, lon, share of orders, vehicles
    ("MTY", "Monterrey", 25.6866, -100.3161, 0.30, 8),
    ("GDL", "Guadalajara", 20.6597, -103.3496, 0.30, 7),
    ("CDMX", "Ciudad de Mexico", 19.4326, -99.1332, 0.40, 10),
)
ORDER_TIRES = ((2, 0.2), (4, 0.4), (6, 0.1), (8, 0.15), (12, 0.1), (20, 0.05))
TIRE_KG = (("passenger", 10.5, 0.70), ("light truck", 21.0, 0.25), ("truck", 55.0, 0.05))
WINDOWS = (  # (start, end) in minutes since midnight, share; None = a 2-hour appointment slot
    ((540.0, 1080.0), 0.40),
    ((540.0, 780.0), 0.25),
    ((840.0, 1080.0), 0.20),
    (None, 0.15),
)


def realistic_day(orders: int = 300, seed: int = 7) -> RoutingProblem:
    """A weekday at three branches (Monterrey, Guadalajara, CDMX) with 25 vehicles.

    Orders cluster around their branch's metro area; most are 2-8 tires, some fleet orders
    more. Shops take deliveries 9:00-18:00, many only mornings, afternoons or a 2-hour slot.
    Drivers work 8:00-18:00 with a 45-minute meal break starting 13:00-15:00; small trucks carry
    80 tires / 1.5 t, large ones 150 tires / 3 t. Times are minutes since midnight, km distances.
    """
    rng = random.Random(seed)
    depots = tuple(Depot(b[0], Coordinates(b[2], b[3]), b[1]) for b in BRANCHES)
    stops: list[Stop] = []
    vehicles: list[Vehicle] = []
    counts = _split(orders, [b[4] for b in BRANCHES])
    for (branch, _, lat, lon, _, fleet), count in zip(BRANCHES, counts, strict=True):
        for _ in range(count):
            spread_km = 9.0 if rng.random() < 0.8 else 20.0
            stop_lat = lat + rng.gauss(0, spread_km) / 111.0
            stop_lon = lon + rng.gauss(0, spread_km) / (111.0 * math.cos(math.radians(lat)))
            tires = _pick(rng, ORDER_TIRES)
            kind = rng.choices(TIRE_KG, weights=[k[2] for k in TIRE_KG])[0]
            if kind[0] == "truck":
                tires = min(tires, 8)
            slot = _pick(rng, WINDOWS)
            if slot is None:
                opens = 540.0 + 30.0 * rng.randint(0, 14)
                slot = (opens, opens + 120.0)
            stops.append(
                Stop(
                    order_id=f"SO-{len(stops) + 1:05d}",
                    location=Coordinates(round(stop_lat, 5), round(stop_lon, 5)),
                    tires=tires,
                    weight_kg=round(tires * kind[1], 1),
                    window=TimeWindow(*slot),
                    service_time=8.0 + 1.5 * tires,
                )
            )
        for number in range(fleet):
            large = number < round(0.4 * fleet)
            vehicles.append(
                Vehicle(
                    vehicle_id=f"{branch}-{number + 1:02d}",
                    depot_id=branch,
                    max_tires=150 if large else 80,
                    max_kg=3000.0 if large else 1500.0,
                    shift=TimeWindow(480.0, 1080.0),
                    max_route_duration=570.0,
                    driver_break=DriverBreak(780.0, 900.0, 45.0),
                    fixed_cost=25.0,
                )
            )
    return RoutingProblem.build(
        depots,
        tuple(stops),
        tuple(vehicles),
        HaversineMatrixProvider(),
        name=f"realistic-day-{orders}",
        time_unit="min",
    )


def _split(total: int, shares: list[float]) -> list[int]:
    counts = [int(total * s) for s in shares]
    counts[-1] += total - sum(counts)
    return counts


def _pick(rng: random.Random, options: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


def _clip(value: float) -> float:
    return float(min(100, max(0, value)))
