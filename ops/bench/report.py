"""One way to report a benchmark: a rich table on the terminal and a JSON file."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path("ops/bench/results")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return float(ordered[rank])


def report(name: str, rows: list[dict[str, Any]], *, meta: dict[str, Any] | None = None,
           out: Path | None = None, console: Console | None = None) -> Path:
    """Print `rows` as a table titled `name` and write them (with machine facts) as JSON."""
    console = console or Console()
    table = Table(title=f"bench {name}")
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[_fmt(row.get(c, "")) for c in columns])
    console.print(table)
    out = out or RESULTS_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "meta": meta or {},
        "rows": rows,
    }
    out.write_text(json.dumps(payload, indent=2, default=str))
    console.print(f"[dim]wrote {out}[/dim]")
    return out


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)
