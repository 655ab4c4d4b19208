"""Problem data is validated once; Solomon files are read as published; matrices line up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.routing import (
    Coordinates,
    Depot,
    DriverBreak,
    EuclideanMatrixProvider,
    HaversineMatrixProvider,
    InvalidProblem,
    RoutingProblem,
    Stop,
    TimeWindow,
    TravelMatrix,
    Vehicle,
)
from processors.routing.solomon import format_solomon, parse_solomon, read_solomon
from processors.routing.synthetic import realistic_day, solomon_like

C101 = Path(__file__).parents[1] / "data/C101.txt"  # Solomon (1987), as in shared/data/routing
DEPOT = Depot("D", Coordinates(0, 0))


def one_stop(order_id: str = "a") -> Stop:
    return Stop(order_id, Coordinates(1, 1), 4, 40.0, TimeWindow(0, 10), 5.0)


def test_reversed_or_negative_windows_are_rejected() -> None:
    with pytest.raises(InvalidProblem):
        TimeWindow(10, 5)
    with pytest.raises(InvalidProblem):
        TimeWindow(-1, 5)


def test_a_break_outside_the_shift_is_rejected() -> None:
    with pytest.raises(InvalidProblem, match="break"):
        Vehicle("V", "D", 10, TimeWindow(480, 1080), driver_break=DriverBreak(1070, 1075, 30))


def test_ids_depots_and_matrix_size_are_checked() -> None:
    vehicle = Vehicle("V", "D", 10, TimeWindow(0, 100))
    provider = EuclideanMatrixProvider()
    with pytest.raises(InvalidProblem, match="duplicate order"):
        RoutingProblem.build((DEPOT,), (one_stop(), one_stop()), (vehicle,), provider)
    with pytest.raises(InvalidProblem, match="unknown depots"):
        RoutingProblem.build(
            (DEPOT,), (one_stop(),), (Vehicle("V", "X", 10, TimeWindow(0, 100)),), provider
        )
    with pytest.raises(InvalidProblem, match="travel matrix"):
        RoutingProblem(
            (DEPOT,), (one_stop(),), (vehicle,), TravelMatrix(np.zeros((3, 3)), np.zeros((3, 3)))
        )


def test_removing_orders_slices_the_matrix() -> None:
    problem = realistic_day(orders=12, seed=1)
    gone = {problem.stops[3].order_id, problem.stops[7].order_id}
    smaller = problem.without_orders(gone)
    assert len(smaller.stops) == 10 and not any(smaller.has_order(o) for o in gone)
    kept = smaller.stops[5]
    before = problem.stop_node(problem.stop_index(kept.order_id))
    after = smaller.stop_node(smaller.stop_index(kept.order_id))
    assert smaller.matrix.durations[0, after] == problem.matrix.durations[0, before]


def test_haversine_matrix_is_road_km_and_minutes() -> None:
    monterrey, saltillo = (25.6866, -100.3161), (25.4232, -101.0053)
    matrix = HaversineMatrixProvider(road_factor=1.0, speed_kmh=60.0).matrix([monterrey, saltillo])
    assert matrix.distances[0, 1] == pytest.approx(75.0, abs=2.0)  # great circle ~75 km
    assert matrix.durations[0, 1] == pytest.approx(matrix.distances[0, 1])  # 60 km/h: 1 km/min
    with pytest.raises(ValueError):
        matrix.distances[0, 1] = 1.0


def test_c101_is_read_with_its_header() -> None:
    instance = read_solomon(C101)
    assert (instance.name, instance.vehicles, instance.capacity) == ("C101", 25, 200)
    assert len(instance.customers) == 101
    depot, first = instance.customers[0], instance.customers[1]
    assert (depot.x, depot.y, depot.due) == (40, 50, 1236)
    assert (first.number, first.demand, first.ready, first.due, first.service) == (
        1,
        10,
        912,
        967,
        90,
    )
    problem = instance.to_problem()
    assert len(problem.vehicles) == 25 and problem.vehicles[0].shift == TimeWindow(0, 1236)
    assert problem.matrix.distances[0, 1] == pytest.approx(np.hypot(5, 18))


def test_generated_instances_round_trip_through_the_text_format() -> None:
    instance = solomon_like("RC1", customers=25, seed=3)
    text = format_solomon(instance)
    assert "VEHICLE" in text and "CUSTOMER" in text
    assert parse_solomon(text) == instance


def test_malformed_solomon_text_is_rejected() -> None:
    with pytest.raises(InvalidProblem):
        parse_solomon("X\n\nVEHICLE\nNUMBER CAPACITY\n 25 200\n")
    with pytest.raises(InvalidProblem):
        parse_solomon(format_solomon(solomon_like("R1", 5, 1)).rstrip() + "x\n")
    with pytest.raises(InvalidProblem, match="7 numbers"):
        parse_solomon(format_solomon(solomon_like("R1", 5, 1)) + "6 1 2 3\n")


def test_the_realistic_day_has_three_branches_and_25_trucks() -> None:
    problem = realistic_day()
    assert len(problem.stops) == 300 and len(problem.vehicles) == 25
    assert {d.depot_id for d in problem.depots} == {"MTY", "GDL", "CDMX"}
    assert all(v.driver_break is not None for v in problem.vehicles)
