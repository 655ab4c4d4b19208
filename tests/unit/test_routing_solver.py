"""The planner on small instances with hand-checked optima, and its guarantees on random ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from processors.routing import (
    Coordinates,
    Depot,
    DriverBreak,
    EuclideanMatrixProvider,
    RoutingProblem,
    SolverSettings,
    Stop,
    TimeWindow,
    UnassignedReason,
    Vehicle,
    check_plan,
    first_plan,
    nearest_neighbour_plan,
    plan_routes,
    plan_violations,
)
from processors.routing.model import EngineRoute, EngineSolution, build_model
from processors.routing.ortools_engine import solve_ortools
from processors.routing.planner import choose_plan, to_plan
from processors.routing.pyvrp_engine import solve_pyvrp
from processors.routing.solomon import read_solomon
from processors.routing.synthetic import realistic_day, solomon_like

QUICK = SolverSettings(time_limit_s=20, ortools_solution_limit=60, pyvrp_iterations=300)
ALL_DAY = TimeWindow(0, 1000)


def stop(
    order_id: str,
    x: float,
    y: float,
    tires: int = 1,
    window: TimeWindow = ALL_DAY,
    service: float = 0.0,
    kg: float = 0.0,
) -> Stop:
    return Stop(order_id, Coordinates(lat=y, lon=x), tires, kg, window, service)


def vehicle(vehicle_id: str, depot: str = "D", tires: int = 100, **kwargs: object) -> Vehicle:
    kwargs.setdefault("shift", ALL_DAY)
    return Vehicle(vehicle_id, depot, tires, **kwargs)  # type: ignore[arg-type]


def planar(
    stops: list[Stop],
    vehicles: list[Vehicle],
    depots: tuple[Depot, ...] = (Depot("D", Coordinates(0, 0)),),
) -> RoutingProblem:
    return RoutingProblem.build(depots, tuple(stops), tuple(vehicles), EuclideanMatrixProvider())


def solve_each_engine(problem: RoutingProblem) -> dict[str, object]:
    """The validated plan of every engine that applies, and the baseline."""
    model = build_model(problem, 1000, None)
    plans = {
        "ortools": to_plan(problem, model, solve_ortools(model, time_limit_s=10, solution_limit=50))
    }
    if not model.has_breaks:
        plans["pyvrp"] = to_plan(
            problem, model, solve_pyvrp(model, time_limit_s=10, iterations=200, seed=1)
        )
    plans["nearest-neighbour"] = nearest_neighbour_plan(problem)
    for plan in plans.values():
        check_plan(problem, plan)
    return plans


def test_capacity_splits_a_line_into_the_cheapest_two_routes() -> None:
    # Stops at 1, 2, 3 on a line; a vehicle carries two. Best: {2, 3} (6) + {1} (2) = 8.
    problem = planar(
        [stop("a", 1, 0), stop("b", 2, 0), stop("c", 3, 0)],
        [vehicle("V1", tires=2), vehicle("V2", tires=2)],
    )
    for name, plan in solve_each_engine(problem).items():
        if name == "nearest-neighbour":
            continue
        assert plan.distance == pytest.approx(8.0), name
        assert sorted(sorted(r.order_ids) for r in plan.routes) == [["a"], ["b", "c"]], name


def test_time_windows_force_the_visiting_order() -> None:
    # A square walked clockwise or anticlockwise costs 40 either way; only A, B, C fits.
    problem = planar(
        [
            stop("A", 0, 10, window=TimeWindow(0, 15)),
            stop("B", 10, 10, window=TimeWindow(15, 25)),
            stop("C", 10, 0, window=TimeWindow(25, 35)),
        ],
        [vehicle("V1")],
    )
    for name, plan in solve_each_engine(problem).items():
        (route,) = plan.routes
        assert route.order_ids == ("A", "B", "C"), name
        assert route.distance == pytest.approx(40.0)
        # No waiting: whenever the truck leaves, it drives straight through.
        assert route.return_time - route.departure == pytest.approx(40.0)


def test_each_branch_serves_its_own_orders() -> None:
    depots = (Depot("MTY", Coordinates(0, 0)), Depot("GDL", Coordinates(0, 100)))
    problem = planar(
        [stop("m1", 1, 0), stop("m2", 0, 2), stop("g1", 101, 0), stop("g2", 100, 2)],
        [vehicle("mty-1", depot="MTY"), vehicle("gdl-1", depot="GDL")],
        depots,
    )
    for name, plan in solve_each_engine(problem).items():
        if name != "nearest-neighbour":  # greedy: mty-1 drives on to Guadalajara
            owners = plan.vehicle_of_order()
            assert owners == {"m1": "mty-1", "m2": "mty-1", "g1": "gdl-1", "g2": "gdl-1"}, name


def test_maximum_route_duration_needs_a_second_truck() -> None:
    # Stops 5 east and 5 west: one route lasts 20, the limit is 15.
    problem = planar(
        [stop("e", 5, 0), stop("w", -5, 0)],
        [vehicle(v, max_route_duration=15.0) for v in ("V1", "V2")],
    )
    for name, plan in solve_each_engine(problem).items():
        assert plan.vehicles_used == 2, name
        assert plan.distance == pytest.approx(20.0)
        assert all(r.return_time - r.departure <= 15.0 for r in plan.routes)


def test_driver_break_is_taken_inside_its_window() -> None:
    brk = DriverBreak(earliest_start=20, latest_start=25, duration=30)
    problem = planar(
        [
            stop("a", 10, 0, service=5),
            stop("b", 20, 0, service=5),
            stop("c", 30, 0, window=TimeWindow(0, 200), service=5),
        ],
        [vehicle("V1", driver_break=brk)],
    )
    for name, plan in solve_each_engine(problem).items():
        (route,) = plan.routes
        assert route.driver_break is not None, name
        assert 20 <= route.driver_break.start <= 25
        assert route.driver_break.end - route.driver_break.start == pytest.approx(30)
        # The route is 60 long, 15 of service and 30 of break.
        assert route.return_time - route.departure == pytest.approx(105.0)


def test_fixed_cost_picks_the_cheaper_truck() -> None:
    problem = planar(
        [stop("a", 3, 4)], [vehicle("big", fixed_cost=100.0), vehicle("small", fixed_cost=5.0)]
    )
    for name, plan in solve_each_engine(problem).items():
        if name != "nearest-neighbour":
            assert [r.vehicle_id for r in plan.routes] == ["small"], name


def test_orders_that_cannot_fit_are_reported_with_their_reason() -> None:
    problem = planar(
        [
            stop("early", 1, 0, window=TimeWindow(0, 50)),
            stop("huge", 2, 0, tires=300),
            stop("far", 400, 0),
            stop("fits-1", 0, 3, tires=60),
            stop("fits-2", 0, 4, tires=60),
        ],
        [vehicle("V1", tires=100, shift=TimeWindow(100, 500))],
    )
    expected = {
        "early": UnassignedReason.WINDOW_BEFORE_SHIFTS,
        "huge": UnassignedReason.TOO_MANY_TIRES,
        "far": UnassignedReason.UNREACHABLE,
    }
    for name, plan in solve_each_engine(problem).items():
        reasons = {u.order_id: u.reason for u in plan.unassigned}
        full = [o for o in ("fits-1", "fits-2") if o in reasons]
        assert len(full) == 1, name
        assert reasons.pop(full[0]) == UnassignedReason.NO_CAPACITY_LEFT
        assert reasons == expected, name
        assert all(u.detail for u in plan.unassigned)
    assert str(UnassignedReason.WINDOW_BEFORE_SHIFTS) == "window closes before any shift starts"


def test_weight_limits_as_well_as_tires() -> None:
    problem = planar(
        [stop("a", 1, 0, kg=700), stop("b", 2, 0, kg=700), stop("c", 0, 1, kg=2000)],
        [vehicle("V1", max_kg=1000.0), vehicle("V2", max_kg=1000.0)],
    )
    for name, plan in solve_each_engine(problem).items():
        assert plan.vehicles_used == 2, name
        assert {u.order_id: u.reason for u in plan.unassigned} == {"c": UnassignedReason.TOO_HEAVY}


@pytest.mark.parametrize("kind", ["R1", "RC1"])
def test_every_engine_returns_valid_plans_on_random_instances(kind: str) -> None:
    problem = solomon_like(kind, customers=40, seed=5).to_problem()
    plans = solve_each_engine(problem)
    assert all(not plan_violations(problem, p) for p in plans.values())
    assert plans["ortools"].distance <= plans["nearest-neighbour"].distance + 1e-6


def test_a_day_with_breaks_and_branches_is_valid_and_complete() -> None:
    problem = realistic_day(orders=60, seed=11)
    plan = first_plan(problem)
    check_plan(problem, plan)
    assert plan.runs[0].stopped_by == "first_solution"
    routed = sum(len(r.visits) for r in plan.routes)
    assert routed + len(plan.unassigned) == 60


def test_the_race_keeps_the_better_valid_plan_and_says_who_won() -> None:
    problem = solomon_like("RC1", customers=30, seed=2).to_problem()
    plan = plan_routes(problem, QUICK)
    check_plan(problem, plan)
    assert {r.engine for r in plan.runs} == {"ortools", "pyvrp"}
    best = min(plan.runs, key=lambda r: (r.unassigned, round(r.cost or 0.0, 6)))
    assert plan.engine == best.engine
    assert all(not r.rejected for r in plan.runs)


def test_with_breaks_pyvrp_gives_way_to_a_second_ortools() -> None:
    problem = realistic_day(orders=30, seed=4)
    plan = plan_routes(problem, QUICK)
    check_plan(problem, plan)
    assert [r.engine for r in plan.runs] == ["ortools", "ortools-lci"]


def test_same_settings_same_plan() -> None:
    problem = solomon_like("R1", customers=30, seed=9).to_problem()
    first, second = plan_routes(problem, QUICK), plan_routes(problem, QUICK)
    assert first.deterministic and second.deterministic
    assert first.routes == second.routes
    assert first.engine == second.engine


def test_time_limited_plans_say_they_are_not_reproducible() -> None:
    problem = solomon_like("R1", customers=20, seed=3).to_problem()
    plan = plan_routes(problem, SolverSettings(time_limit_s=1.0, engines=("ortools",)))
    check_plan(problem, plan)
    assert not plan.deterministic


def test_c101_reaches_the_best_known_distance() -> None:
    problem = read_solomon(Path(__file__).parents[1] / "data/C101.txt").to_problem()
    plan = plan_routes(problem, SolverSettings(ortools_solution_limit=30, pyvrp_iterations=500))
    check_plan(problem, plan)
    assert plan.vehicles_used == 10
    assert plan.distance == pytest.approx(828.94, abs=0.01)


def test_the_validator_catches_broken_plans() -> None:
    problem = planar(
        [stop("a", 1, 0, tires=5, window=TimeWindow(0, 5)), stop("b", 2, 0, tires=5)],
        [vehicle("V1", tires=10)],
    )
    plan = nearest_neighbour_plan(problem)
    (route,) = plan.routes
    late = dataclasses.replace(route.visits[0], service_start=6.0, service_end=6.0)
    broken = dataclasses.replace(
        plan, routes=(dataclasses.replace(route, visits=(late, *route.visits[1:]), tires=12),)
    )
    errors = " | ".join(plan_violations(problem, broken))
    assert "window closes" in errors and "load totals" in errors
    dropped = dataclasses.replace(
        plan, routes=(dataclasses.replace(route, visits=route.visits[:1], tires=5, distance=2.0),)
    )
    assert any("neither routed nor reported" in e for e in plan_violations(problem, dropped))
    overloaded = dataclasses.replace(problem, vehicles=(vehicle("V1", tires=8),))
    assert any("over capacity" in e for e in plan_violations(overloaded, plan))


def test_an_engine_plan_that_breaks_a_constraint_is_never_returned() -> None:
    problem = planar(
        [stop("a", 1, 0, tires=6), stop("b", 2, 0, tires=6)],
        [vehicle("V1", tires=10), vehicle("V2", tires=10)],
    )
    model = build_model(problem, 1000, None)
    overloaded = EngineSolution(
        "ortools", (EngineRoute(0, (0, 1), 0, None),), 0.1, 0.1, "work_limit"
    )
    plan = choose_plan(problem, model, [overloaded], [])
    assert "over capacity" in plan.runs[0].rejected
    assert plan.engine == "nearest-neighbour"
    check_plan(problem, plan)
