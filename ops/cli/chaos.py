"""`topllantas chaos`: faults one at a time under load, then an audit (ops/chaos/)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
SOAK_RATE = 145 * 100 / 60  # 100× the seeds' volume (~145 ERP transactions a minute): ~242/s
SOAK_STOCK = 200_000  # units per stock row before a soak: ~1M units sold in 30 min at that rate
SOAK_DRAIN_S = 900.0  # a soak's backlog (enrichment, CDC) drains after the load stops: the audit
# waits for it while the verdict keeps changing, up to this long (faults: 180 s)
OUT = typer.Option(Path("ops/bench/results/chaos.json"), help="Where to write the results.")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r}: a duration like 30m, 90s or 1h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def register(app: typer.Typer) -> None:
    @app.command()
    def chaos(quick: bool = typer.Option(False, "--quick", help="Every fault once, held "
                                         "briefly, under a short load (~8 min)."),
              soak: str | None = typer.Option(None, "--soak", help="Instead of the faults: "
                                              "steady load for this long (30m, 600s)."),
              rate: float | None = typer.Option(None, help="ERP transactions per second "
                                                "(default 4; a soak: 241.7, 100× the seeds' "
                                                "145 a minute)."),
              out: Path = OUT) -> None:
        """Inject faults one at a time (worker SIGKILLs, CDC killed, PostgreSQL restarted, the
        broker paused, the sink database unreachable, WhatsApp failing half its calls, the LLM
        timing out) under steady load on the embedded stack; audit lost events, duplicated ERP
        writes and messages, and time to recover."""
        from ops.chaos.faults import plan
        from ops.chaos.run import ChaosOptions, run_chaos

        if soak is not None:
            # No routes worker: 100× the volume is a delivery day of ~40k orders per branch
            # after 30 min, 100× any real one (the routes flow plans branch-days of hundreds)
            options = ChaosOptions(faults=[], mode=f"soak {soak}", soak_s=_seconds(soak),
                                   erp_rate=rate or SOAK_RATE, stock_up=SOAK_STOCK,
                                   drain_timeout_s=SOAK_DRAIN_S, routes=False, out=out)
        else:
            options = ChaosOptions(faults=plan(quick=quick), mode="quick" if quick else "full",
                                   erp_rate=rate or 4.0, gap_s=10 if quick else 30, out=out)
        result = run_chaos(options, log=console.print)
        print_result(result)
        picture = out.with_name(out.stem + ("_soak" if soak else "") + ".png")
        console.print(f"written: {out}" + (" (under \"soak\")" if soak else "")
                      + f", {picture}")
        bad = [name for name, f in result["faults"].items()
               if f["lost"] or f["duplicated_erp_writes"] or f["duplicated_messages"]]
        if bad or result["run"]["duplicated_reservations"]:
            raise typer.Exit(1)


def print_result(result: dict[str, Any]) -> None:
    table = Table(title=f"chaos ({result['meta']['mode']})")
    for column in ("fault", "lost", "dup ERP writes", "dup messages", "unknown", "recovery s"):
        table.add_column(column, justify="left" if column == "fault" else "right")
    for name, f in result["faults"].items():
        recovery = f.get("recovery_s")
        table.add_row(name, str(f["lost"]), str(f["duplicated_erp_writes"]),
                      str(f["duplicated_messages"]), str(f["unknown_messages"]),
                      "-" if name in ("warmup", "soak") else
                      ("not recovered" if recovery is None else f"{recovery:.1f}"))
    console.print(table)
    run = result["run"]
    letters = {topic: sum(reasons.values()) for topic, reasons in run["dead_letters"].items()}
    console.print(f"ERP: {run['erp_committed_tps']} committed transactions/s "
                  f"(asked {result['meta']['erp_rate_tps']:.1f}/s); {run['erp_business']}")
    console.print(f"issued: {run['sales_orders']} ERP sales orders, {run['feed_messages']} sink "
                  f"messages, {run['commands']} commands, {run['customer_messages']} customer "
                  f"messages; {run['delivery_orders']} sales for delivery, "
                  f"{run['on_routes']} on a route in the last plans; "
                  f"reservations {run['reservations']} for {run['confirmations']} "
                  f"'sí'; stock positions off: {run['stock_positions_off']} "
                  f"({run['stock_units_off']} units); dead letters: "
                  f"{letters or 'none'}")
    for topic, reasons in run["dead_letters"].items():
        for reason, n in reasons.items():
            console.print(f"  {topic} ×{n}: {reason}")
    latency = run["latency_ms"]
    console.print(f"latency ms: CDC p50 {latency['cdc']['p50']} p99 {latency['cdc']['p99']}; "
                  f"customer reply p50 {latency['customer_reply']['p50']} "
                  f"p99 {latency['customer_reply']['p99']}")
    cpu = run.get("cpu_busy_pct") or {}
    if cpu.get("median") is not None:
        console.print(f"machine CPU busy under load: median {cpu['median']:.0f} % (first third "
                      f"{cpu['first_third']:.0f} %, last third {cpu['last_third']:.0f} %)")
    print_trend(run)


def print_trend(run: dict[str, Any]) -> None:
    """Memory and p99 latency, first third against last third of the run after warm-up."""
    trend = run["trend"]
    if "memory" not in trend:
        console.print(f"trend: {trend.get('note', '-')}")
        return
    table = Table(title=f"over time ({trend['buckets']} buckets of {run['bucket_s']:g} s "
                  "after warm-up: first third → last third)")
    for column in ("process / latency", "first", "last", "growth"):
        table.add_column(column, justify="left" if column.startswith("process") else "right")
    for name, m in trend["memory"].items():
        table.add_row(f"{name} peak RSS MB", f"{m['first_mb']:.0f}", f"{m['last_mb']:.0f}",
                      "-" if m["growth_pct"] is None else f"{m['growth_pct']:+.1f} %")
    for name, t in trend["p99"].items():
        table.add_row(f"{name} p99 ms", f"{t['first_p99_ms']:.0f}", f"{t['last_p99_ms']:.0f}", "")
    console.print(table)
