"""`topllantas bench NAME`: run one benchmark module from `ops/bench/`.

Every benchmark module exposes `main(runs: int, quick: bool) -> None`, prints a table and writes
JSON under `ops/bench/results/` through `ops.bench.report`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

BENCHMARKS = {
    "cdc": "CDC throughput and commit-to-topic latency; inventory processor rate",
    "sinks": "ERP sink commands/s; webhook ingress req/s and p99",
    "stock": "inventory+policy+alert events/s; 1-year policy vs min/max simulation",
    "forecast": "backtest accuracy on shared data; full-catalogue retrain time",
    "routes": "Solomon VRPTW gaps vs best-known; realistic 300-order day",
    "agent": "webhook-to-reply latency; deterministic-path accuracy",
    "enrich": "enrichment throughput; dashboard response time",
    "buyers": "WhatsApp messages per buyer at go-live, a normal and a bad day; items missed",
}

app = typer.Typer(help="Benchmarks: print a table and write JSON under ops/bench/results/.",
                  no_args_is_help=True)


def _make(name: str, doc: str) -> None:
    def command(
        runs: int = typer.Option(3, help="Repetitions; medians are reported."),
        quick: bool = typer.Option(False, help="Smaller sizes, for a smoke run."),
    ) -> None:
        module = importlib.import_module(f"ops.bench.{name}")
        module.main(runs=runs, quick=quick)

    command.__doc__ = doc
    app.command(name=name)(command)


for _name, _doc in BENCHMARKS.items():
    _make(_name, _doc)


@app.command(name="policy")
def policy(
    runs: int = typer.Option(3, help="Seeds (lead-time draws, synthetic terms); medians."),
    quick: bool = typer.Option(False, help="One seed, 400 reference products: a smoke run."),
    data: Path | None = typer.Option(  # noqa: B008
        None, exists=True, dir_okay=False,
        help="A demand file in a `forecast backtest` layout (car parts, M5, ds/y) instead of "
             "the reference catalogue, car parts and M5."),
    calendar: Path | None = typer.Option(  # noqa: B008
        None, exists=True, dir_okay=False, help="M5 calendar for --data."),
) -> None:
    """Replenishment policy vs the best-tuned min/max and a plain NB rule: frontiers."""
    from ops.bench.policy import main

    main(runs=runs, quick=quick, data=data, calendar=calendar)
