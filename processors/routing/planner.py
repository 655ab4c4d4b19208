"""Plan a delivery day: build the integer model, race the engines, map back, validate, choose.

The named engine (OR-Tools) runs in the calling process; a second engine runs in a forked
child process on the other core: PyVRP when the problem has no driver breaks, otherwise OR-Tools
started from local cheapest insertion (a different start often ends in a different, sometimes
better, local optimum). Each plan is mapped back to orders and vehicles, re-checked
in floating point by `validate`, and the valid plan with the fewest unassigned orders and then
the lowest cost (distance + fixed vehicle costs) is kept; ties go to the named engine. If no
engine produced a valid plan, the nearest-neighbour plan is returned.

Call these functions off the event loop (a thread or a `ProcessPoolExecutor` worker; not a
daemonic `multiprocessing.Pool` worker, which may not start children).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor

from processors.routing.baseline import nearest_neighbour_plan
from processors.routing.diagnose import explain_unassigned
from processors.routing.model import EngineSolution, IntegerModel, build_model
from processors.routing.ortools_engine import solve_ortools
from processors.routing.plan import EngineRun, RoutePlan
from processors.routing.problem import RoutingProblem
from processors.routing.pyvrp_engine import pyvrp_supports, solve_pyvrp
from processors.routing.schedule import build_route
from processors.routing.solver_settings import SolverSettings
from processors.routing.validate import plan_violations


def search_seconds(time_limit_s: float) -> float:
    """The part of the time limit the engines may search: the rest is kept back for mapping,
    validation, stopping the child process, and OR-Tools overrunning its limit a little (up to
    ~0.5 s seen on a loaded 2-core machine at 30 s)."""
    return max(0.05, time_limit_s - 0.3 - 0.02 * time_limit_s)


def plan_routes(problem: RoutingProblem, settings: SolverSettings | None = None) -> RoutePlan:
    """The best validated plan the engines find within `settings.time_limit_s`."""
    settings = settings or SolverSettings()
    deadline = time.time() + search_seconds(settings.time_limit_s)
    model = build_model(problem, settings.scale, settings.unassigned_penalty)
    engines = engines_for(model, settings)
    solutions: list[EngineSolution] = []
    crashed: list[EngineRun] = []
    with ProcessPoolExecutor(
        max_workers=max(1, len(engines) - 1), mp_context=multiprocessing.get_context("forkserver")
    ) as pool:
        children: list[tuple[str, Future[EngineSolution]]] = [
            (name, pool.submit(run_engine, name, model, settings, deadline)) for name in engines[1:]
        ]
        solutions.append(run_engine(engines[0], model, settings, deadline))
        for name, child in children:
            try:
                solutions.append(child.result())
            except Exception as error:  # a crashed child must not lose the named engine's plan
                crashed.append(EngineRun(name, 0.0, None, "crashed", rejected=repr(error)))
    return choose_plan(problem, model, solutions, crashed)


def first_plan(problem: RoutingProblem, settings: SolverSettings | None = None) -> RoutePlan:
    """A quick plan: OR-Tools' parallel cheapest insertion without local search."""
    settings = settings or SolverSettings()
    model = build_model(problem, settings.scale, settings.unassigned_penalty)
    solution = solve_ortools(model, time_limit_s=settings.time_limit_s, first_solution_only=True)
    return choose_plan(problem, model, [solution], [])


def engines_for(model: IntegerModel, settings: SolverSettings) -> list[str]:
    """The engines to race, the named one first; PyVRP gives way to OR-Tools/LCI when the
    problem has driver breaks."""
    engines: list[str] = []
    for name in settings.engines:
        if name == "pyvrp" and not pyvrp_supports(model):
            name = "ortools-lci"
        if name not in engines:
            engines.append(name)
    return engines


def run_engine(
    name: str, model: IntegerModel, settings: SolverSettings, deadline: float
) -> EngineSolution:
    """Run one engine until `deadline` (seconds since the epoch) or its work budget."""
    remaining = max(0.05, deadline - time.time())
    if name == "pyvrp":
        return solve_pyvrp(
            model, time_limit_s=remaining, iterations=settings.pyvrp_iterations, seed=settings.seed
        )
    return solve_ortools(
        model, time_limit_s=remaining, solution_limit=settings.ortools_solution_limit, engine=name
    )


def to_plan(problem: RoutingProblem, model: IntegerModel, solution: EngineSolution) -> RoutePlan:
    """Map an engine's routes back to orders and vehicles, with clock times and reasons."""
    routes = tuple(
        build_route(
            problem,
            problem.vehicles[r.vehicle],
            r.stops,
            r.departure / model.scale,
            r.break_before_visit,
        )
        for r in solution.routes
    )
    routed = {i for r in solution.routes for i in r.stops}
    unassigned = tuple(
        explain_unassigned(problem, model, i) for i in range(len(problem.stops)) if i not in routed
    )
    return RoutePlan(routes, unassigned, solution.engine)


def choose_plan(
    problem: RoutingProblem,
    model: IntegerModel,
    solutions: list[EngineSolution],
    crashed: list[EngineRun],
) -> RoutePlan:
    """Validate every engine's plan and keep the best; fall back to nearest neighbour."""
    fixed = {v.vehicle_id: v.fixed_cost for v in problem.vehicles}
    runs = list(crashed)
    valid: list[RoutePlan] = []
    for solution in solutions:
        plan = to_plan(problem, model, solution)
        if solution.feasible:
            rejected = "; ".join(plan_violations(problem, plan))
        else:
            rejected = "no feasible solution"
        runs.append(
            EngineRun(
                engine=solution.engine,
                seconds=solution.seconds,
                first_solution_seconds=solution.first_solution_seconds,
                stopped_by=solution.stopped_by,
                unassigned=len(plan.unassigned),
                cost=plan.cost(fixed),
                rejected=rejected,
            )
        )
        if not rejected:
            valid.append(plan)
    if not valid:
        valid.append(nearest_neighbour_plan(problem))
    best = min(valid, key=lambda p: (len(p.unassigned), round(p.cost(fixed), 6)))
    return RoutePlan(best.routes, best.unassigned, best.engine, tuple(runs))
