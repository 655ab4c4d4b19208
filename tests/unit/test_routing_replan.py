"""Re-planning after a cancellation changes only what it must."""

from __future__ import annotations

from processors.routing import (
    Coordinates,
    HaversineMatrixProvider,
    RoutingProblem,
    SolverSettings,
    Stop,
    TimeWindow,
    check_plan,
    plan_routes,
    replan,
)
from processors.routing.synthetic import realistic_day

BUDGET = SolverSettings(time_limit_s=30, ortools_solution_limit=40, engines=("ortools",))


def test_a_cancellation_keeps_every_other_order_on_its_truck() -> None:
    problem = realistic_day(orders=50, seed=3)
    before = plan_routes(problem, BUDGET)
    busiest = max(before.routes, key=lambda r: len(r.visits))
    cancelled = busiest.order_ids[len(busiest.visits) // 2]
    smaller = problem.without_orders({cancelled})

    after = replan(before, smaller, BUDGET)

    check_plan(smaller, after)
    assert cancelled not in after.vehicle_of_order()
    kept = {o: v for o, v in before.vehicle_of_order().items() if o != cancelled}
    assert after.vehicle_of_order() == kept
    assert after.distance <= before.distance + 1e-6


def test_a_new_order_is_inserted_without_moving_the_others() -> None:
    problem = realistic_day(orders=40, seed=5)
    before = plan_routes(problem, BUDGET)
    near = problem.stops[0]
    extra = Stop(
        "SO-NEW",
        Coordinates(near.location.lat + 0.01, near.location.lon),
        4,
        42.0,
        TimeWindow(540, 1080),
        14.0,
    )
    grown = RoutingProblem.build(
        problem.depots, (*problem.stops, extra), problem.vehicles, HaversineMatrixProvider()
    )

    after = replan(before, grown, BUDGET)

    check_plan(grown, after)
    assert "SO-NEW" in after.vehicle_of_order()
    moved = {o for o, v in before.vehicle_of_order().items() if after.vehicle_of_order()[o] != v}
    assert not moved
