"""How hard and how long to search.

Determinism: OR-Tools' guided local search and PyVRP's iterated local search are deterministic
for a fixed amount of work, but a wall-clock limit cuts them at a point that depends on machine
load. So the search is bounded by work (`ortools_solution_limit`, `pyvrp_iterations`) with
`time_limit_s` as a safety cap: when the work budgets are set and the cap is not reached, the
plan is a pure function of (problem, settings), and `RoutePlan.deterministic` says so. Leave the
budgets at None to search by time alone (what the Solomon benchmark does).
"""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("ortools", "pyvrp", "ortools-lci")


@dataclass(frozen=True)
class SolverSettings:
    """Search settings shared by every engine.

    - `time_limit_s`: wall-clock cap for the whole planning call.
    - `ortools_solution_limit`: number of solutions guided local search may visit (work budget).
    - `pyvrp_iterations`: iterations of PyVRP's iterated local search (work budget).
    - `seed`: PyVRP's random seed (OR-Tools' search has no randomness).
    - `engines`: engines to race, one per core. "pyvrp" is skipped when a vehicle has a driver
      break (PyVRP has no breaks); "ortools-lci" is OR-Tools started from local
      cheapest insertion, a second opinion when PyVRP cannot run.
    - `scale`: distances and times are multiplied by this before rounding to integers.
    - `unassigned_penalty`: cost of leaving an order out, in distance units; None means ten
      times the cost of serving the most expensive order alone (so orders are left out only when
      they do not fit; each one left out is reported with its reason).
    """

    time_limit_s: float = 30.0
    ortools_solution_limit: int | None = None
    pyvrp_iterations: int | None = None
    seed: int = 0
    engines: tuple[str, ...] = ("ortools", "pyvrp")
    scale: int = 1000
    unassigned_penalty: float | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be positive")
        if self.scale < 1:
            raise ValueError("scale must be at least 1")
        unknown = set(self.engines) - set(ENGINES)
        if unknown or not self.engines:
            raise ValueError(f"engines must be a non-empty subset of {ENGINES}, got {unknown}")
