"""Route pictures (PNG and self-contained HTML) and the `routes solomon` command."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from ops.cli.routes import app
from ops.route_map import draw_routes, format_time, write_route_html
from processors.routing import first_plan
from processors.routing.solomon import format_solomon
from processors.routing.synthetic import realistic_day, solomon_like


def test_png_and_html_show_every_route_and_the_unassigned(tmp_path: Path) -> None:
    problem = realistic_day(orders=40, seed=2)
    plan = first_plan(problem)
    png = draw_routes(plan, problem, tmp_path / "day.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_route_html(plan, problem, tmp_path / "day.html").read_text()
    assert page.count("<polyline") == plan.vehicles_used
    assert page.count("<circle") == sum(len(r.visits) for r in plan.routes)
    assert "<title>" in page and "window" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    assert format_time(13 * 60 + 5, "min") == "13:05"


def test_routes_solomon_command_solves_and_draws(tmp_path: Path) -> None:
    instance = tmp_path / "R1-like.txt"
    instance.write_text(format_solomon(solomon_like("R1", customers=15, seed=4)))
    cli = typer.Typer()
    cli.add_typer(app, name="routes")  # as `topllantas routes` mounts it
    result = CliRunner().invoke(
        cli,
        [
            "routes",
            "solomon",
            str(instance),
            "--seconds",
            "2",
            "--png",
            str(tmp_path / "r.png"),
            "--html",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "R1-LIKE-4" in result.output.upper() and "vehicles" in result.output
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "r.html").exists()
