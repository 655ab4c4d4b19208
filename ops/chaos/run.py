"""Run the faults one at a time under load, audit, and write `ops/bench/results/chaos.json`.

Each fault has a window: steady load for `gap_s`, the fault (broken for its `hold_s`), then the
time until the pipeline has recovered: the first sink message, command, customer message and
ERP sale issued after the heal have all gone through, a line of that sale enriched
(`recovery_s`; None if not within `recover_timeout_s`). After the last fault the load stops,
the pipeline drains, and the audit compares everything issued in each window with the ERP, the
topics, the ledgers and the WhatsApp double's log. A soak is one long window without faults.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.bench.report import RESULTS_DIR
from ops.chaos.audit import Evidence, Window, audit, recovered, snapshot
from ops.chaos.faults import Fault
from ops.chaos.load import Load
from ops.chaos.pipeline import ChaosPipeline
from ops.chaos.report import (
    bucket_size,
    cpu_busy,
    latency_over_time,
    latency_samples,
    memory_over_time,
    plot,
    stats,
    trend,
)
from ops.stack.ephemeral import embedded_stack


@dataclass
class ChaosOptions:
    faults: list[Fault]
    mode: str = "quick"
    erp_rate: float = 4.0  # ERP transactions per second
    gap_s: float = 15.0  # steady load before each fault
    recover_timeout_s: float = 180.0
    drain_timeout_s: float = 180.0
    settle_s: float = 30.0  # the drain stops when the verdict has not changed for this long
    soak_s: float = 0.0
    routes: bool = True  # the routes worker and tomorrow's plan (a soak: False)
    stock_up: int = 0  # every stock row at least this many units first (a soak's volume)
    seed: int = 29
    out: Path | None = field(default_factory=lambda: RESULTS_DIR / "chaos.json")


def run_chaos(options: ChaosOptions, log=print) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Start a throwaway embedded stack, run, audit; everything started is stopped.

    Writes `options.out` (a soak goes under its "soak" key, the faults' run at the top; each
    keeps the other), the audit's inputs beside it (`*_evidence.json`) and a PNG of memory and
    latency over time."""
    with embedded_stack() as stack:
        pipeline = ChaosPipeline(stack, stack.state_dir / "logs", routes=options.routes)
        result, evidence = asyncio.run(_run(pipeline, options, log))
    if options.out is not None:
        _write(options.out, result, evidence, soak=bool(options.soak_s))
    return result


def _write(out: Path, result: dict[str, Any], evidence: dict[str, Any], *, soak: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        before = json.loads(out.read_text())
    except (OSError, ValueError):
        before = {}
    kept = {**before, "soak": result} if soak else {**result, "soak": before.get("soak")}
    out.write_text(json.dumps(kept, indent=2, default=str))
    stem = out.stem + ("_soak" if soak else "")
    out.with_name(f"{stem}_evidence.json").write_text(json.dumps(evidence, default=str))
    plot(out.with_name(f"{stem}.png"), result["run"]["memory_over_time"],
         result["run"]["latency_over_time"], f"chaos {result['meta']['mode']}",
         result["run"]["marks"])


async def _run(p: ChaosPipeline, options: ChaosOptions, log  # type: ignore[no-untyped-def]
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    started = time.time()
    rng = random.Random(options.seed)
    load = Load(p, erp_rate=options.erp_rate)
    sampler: asyncio.Task[None] | None = None
    try:
        await p.start()
        if options.stock_up:
            await p.stock_up(options.stock_up)
        log(f"pipeline up in {time.time() - started:.0f} s; warming up")
        load_started = time.time()
        load.start()
        sampler = asyncio.create_task(_sample_memory(p))
        warm = time.time()
        if await _recovery(load, warm, options.recover_timeout_s) is None:
            raise RuntimeError(f"the pipeline never worked end to end; logs: {p.log_dir}")
        windows, faults = [Window("warmup", started, time.time())], {}
        if options.soak_s:
            windows.append(await _soak(load, options.soak_s, log))
        for fault in options.faults:
            window, faults[fault.name] = await _one_fault(p, load, fault, options, rng, log)
            windows.append(window)
        windows[-1] = Window(windows[-1].phase, windows[-1].start, float("inf"))
        await load.stop()
        load_s = time.time() - load_started
        log("load stopped; waiting for the pipeline to drain")
        report, evidence = await _drain(load, windows, started, options)
    finally:
        if sampler is not None:
            sampler.cancel()
        await load.stop()
        load.close()
        await p.stop()
    for name, verdict in report["faults"].items():
        verdict.update(faults.get(name, {}))
        verdict["peak_rss_mb"] = _peak_memory(p, _window(windows, name))
    report["run"]["marks"] = [{"t": round(w.start - started), "what": w.phase}
                              for w in windows[1:]] + [
        {"t": round(load_started + load_s - started), "what": "load stopped"}]
    _over_time(report, load, p, started, windows[0].end, load_started + load_s)
    report["run"]["erp_business"] = dict(load.stats)
    committed = sum(load.stats[k] for k in ("sale", "cancellation", "adjustment", "receipt"))
    report["run"]["erp_committed_tps"] = round(committed / load_s, 1)  # rate: what was asked
    report["meta"] = {"mode": options.mode, "erp_rate_tps": options.erp_rate,
                      "gap_s": options.gap_s, "customers": len(p.phones),
                      "workers": list(p.workers.values()), "seconds": round(time.time() - started)}
    return report, snapshot(load, evidence, windows)


def _over_time(report: dict[str, Any], load: Load, p: ChaosPipeline, started: float,
               warm: float, stopped: float) -> None:
    """Latency (p50/p99) and peak memory per process, overall and per time bucket; the trend
    from the end of warm-up to the load's end (not the drain)."""
    samples = latency_samples(load, report.pop("order_created"))
    bucket = bucket_size(time.time() - started)
    memory = memory_over_time(p.memory, started, bucket)
    latency = latency_over_time(samples, started, bucket)
    report["run"].update(
        latency_ms={name: stats([v for _, v in pairs]) for name, pairs in samples.items()},
        bucket_s=bucket, memory_over_time=memory, latency_over_time=latency,
        cpu_busy_pct=cpu_busy(p.cpu_busy, warm, stopped),
        trend=trend(memory, latency, after_s=warm - started + bucket,
                    before_s=stopped - started - bucket))


async def _one_fault(p: ChaosPipeline, load: Load, fault: Fault, options: ChaosOptions,
                     rng: random.Random, log) -> tuple[Window, dict[str, Any]]:  # type: ignore[no-untyped-def]
    start = time.time()
    load.phase = fault.name
    await asyncio.sleep(options.gap_s)
    log(f"fault {fault.name}: {fault.what}" + (f" for {fault.hold_s:g} s" if fault.hold_s else ""))
    await fault.run(load, fault.hold_s, rng)
    healed = time.time()
    recovery = await _recovery(load, healed, options.recover_timeout_s)
    exited = _restart_exited(p)
    log(f"  recovered in {recovery:.1f} s" if recovery is not None
        else f"  NOT recovered within {options.recover_timeout_s:.0f} s")
    return Window(fault.name, start, time.time()), {
        "what": fault.what, "hold_s": fault.hold_s, "recovery_s": recovery,
        "processes_exited": exited}


async def _soak(load: Load, seconds: float, log) -> Window:  # type: ignore[no-untyped-def]
    start = time.time()
    load.phase = "soak"
    while (left := start + seconds - time.time()) > 0:
        await asyncio.sleep(min(left, 60))
        rss = load.pipeline.memory[-1][1] if load.pipeline.memory else {}
        log(f"soak {time.time() - start:.0f}/{seconds:.0f} s: {len(load.cdc_seen)} sales orders "
            f"on CDC, {len(load.inbound)} customer messages; RSS MB "
            + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    return Window("soak", start, time.time())


async def _recovery(load: Load, since: float, timeout: float) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if await recovered(load, since):
            return round(time.time() - since, 1)
        await asyncio.sleep(0.5)
    return None


def _restart_exited(p: ChaosPipeline) -> list[str]:
    """Processes that died on their own (not the ones a fault killed) are noted and restarted."""
    exited = [name for name in ("cdc", "webhook", *p.workers)
              if not p.supervisor.running(name)]
    for name in exited:
        if name.startswith("worker-"):
            p.start_worker(name)
        else:
            p.supervisor.start(name, *(("cdc", "run") if name == "cdc" else
                                       ("webhook", "--port", _webhook_port(p))))
    return exited


def _webhook_port(p: ChaosPipeline) -> str:
    assert p.double.webhook_url is not None
    return p.double.webhook_url.split(":")[2].split("/")[0]


async def _drain(load: Load, windows: list[Window], since: float, options: ChaosOptions
                 ) -> tuple[dict[str, Any], Evidence]:
    """Audit until nothing is missing and every stock position is the ERP's, until the verdict
    has not changed for `settle_s` (what is missing then is not coming: the sinks' retries back
    off 5 s at most), or until `drain_timeout_s`; the last audit stands."""
    deadline = time.time() + options.drain_timeout_s
    last, since_change = None, time.time()
    while True:
        report, evidence = await audit(load, windows, since)
        off = report["run"]["stock_positions_off"]  # the stock flow's backlog drains too
        verdict = ({k: (f["lost"], f["detail"]) for k, f in report["faults"].items()},
                   report["run"]["stock_units_off"])  # changes while a backlog drains
        if verdict != last:
            last, since_change = verdict, time.time()
        if ((not off and not any(f["lost"] for f in report["faults"].values()))
                or time.time() > deadline or time.time() - since_change >= options.settle_s):
            return report, evidence
        await asyncio.sleep(5)


async def _sample_memory(p: ChaosPipeline) -> None:
    while True:
        p.sample_memory()
        await asyncio.sleep(5)


def _window(windows: list[Window], phase: str) -> Window:
    return next(w for w in windows if w.phase == phase)


def _peak_memory(p: ChaosPipeline, window: Window) -> dict[str, float]:
    peak: dict[str, float] = {}
    for at, sample in p.memory:
        if window.start <= at < window.end:
            for name, mb in sample.items():
                peak[name] = max(peak.get(name, 0.0), mb)
    return peak
