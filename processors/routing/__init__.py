"""Delivery route planning, pure: no Kafka, database or Faust.

Layers, as in PyVRP: validated immutable problem data (`problem`, `matrix`), the integer model
(`model`), engines (`ortools_engine`, `pyvrp_engine`), mapping back to orders and vehicles with
an independent floating-point check (`planner`, `schedule`, `validate`, `diagnose`).

    problem = RoutingProblem.build(depots, stops, vehicles, HaversineMatrixProvider())
    plan = plan_routes(problem, SolverSettings(time_limit_s=30))
    plan.routes, plan.unassigned, plan.engine
"""

from processors.routing.baseline import nearest_neighbour_plan
from processors.routing.matrix import (
    EuclideanMatrixProvider,
    HaversineMatrixProvider,
    MatrixProvider,
    TravelMatrix,
)
from processors.routing.plan import (
    BreakSlot,
    EngineRun,
    Route,
    RoutePlan,
    UnassignedOrder,
    UnassignedReason,
    Visit,
)
from processors.routing.planner import first_plan, plan_routes
from processors.routing.problem import (
    Coordinates,
    Depot,
    DriverBreak,
    InvalidProblem,
    RoutingProblem,
    Stop,
    TimeWindow,
    Vehicle,
)
from processors.routing.replan import replan
from processors.routing.solver_settings import SolverSettings
from processors.routing.validate import InvalidPlan, check_plan, plan_violations

__all__ = [
    "BreakSlot",
    "Coordinates",
    "Depot",
    "DriverBreak",
    "EngineRun",
    "EuclideanMatrixProvider",
    "HaversineMatrixProvider",
    "InvalidPlan",
    "InvalidProblem",
    "MatrixProvider",
    "Route",
    "RoutePlan",
    "RoutingProblem",
    "SolverSettings",
    "Stop",
    "TimeWindow",
    "TravelMatrix",
    "UnassignedOrder",
    "UnassignedReason",
    "Vehicle",
    "Visit",
    "check_plan",
    "first_plan",
    "nearest_neighbour_plan",
    "plan_routes",
    "plan_violations",
    "replan",
]
