"""Run the faults one at a time under load, audit, and write `ops/bench/results/chaos.json`.

Each fault has a window: steady load for `gap_s`, the fault (broken for its `hold_s`), then the
time until the pipeline has recovered: the first sink message, command, customer message and
ERP sale issued after the heal have all gone through (`recovery_s`; None if not within
`recover_timeout_s`). After the last fault the load stops, the pipeline drains, and the audit
compares everything issued in each window with the ERP, the topics and the ledgers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.bench.report import RESULTS_DIR, percentile
from ops.chaos.audit import Window, audit, recovered
from ops.chaos.faults import Fault
from ops.chaos.load import Load
from ops.chaos.pipeline import ChaosPipeline
from ops.stack.ephemeral import embedded_stack

SUPERVISED = ("cdc", "webhook", "worker-agent-sinks", "worker-stock")


@dataclass
class ChaosOptions:
    faults: list[Fault]
    mode: str = "quick"
    erp_rate: float = 4.0  # ERP transactions per second
    gap_s: float = 15.0  # steady load before each fault
    recover_timeout_s: float = 180.0
    drain_timeout_s: float = 180.0
    soak_s: float = 0.0
    seed: int = 29
    out: Path | None = field(default_factory=lambda: RESULTS_DIR / "chaos.json")


def run_chaos(options: ChaosOptions, log=print) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Start a throwaway embedded stack, run, audit; everything started is stopped."""
    with embedded_stack() as stack:
        result = asyncio.run(_run(ChaosPipeline(stack, stack.state_dir / "logs"), options, log))
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(result, indent=2, default=str))
    return result


async def _run(p: ChaosPipeline, options: ChaosOptions, log) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    started = time.time()
    rng = random.Random(options.seed)
    load = Load(p, erp_rate=options.erp_rate)
    sampler: asyncio.Task[None] | None = None
    try:
        await p.start()
        log(f"pipeline up in {time.time() - started:.0f} s; warming up")
        load.start()
        sampler = asyncio.create_task(_sample_memory(p))
        warm = time.time()
        if await _recovery(load, warm, options.recover_timeout_s) is None:
            raise RuntimeError(f"the pipeline never worked end to end; logs: {p.log_dir}")
        windows, faults = [Window("warmup", started, time.time())], {}
        if options.soak_s:
            windows.append(await _soak(load, options.soak_s))
        for fault in options.faults:
            window, faults[fault.name] = await _one_fault(p, load, fault, options, rng, log)
            windows.append(window)
        windows[-1] = Window(windows[-1].phase, windows[-1].start, float("inf"))
        await load.stop()
        log("load stopped; waiting for the pipeline to drain")
        report = await _drain(load, windows, started, options.drain_timeout_s)
    finally:
        if sampler is not None:
            sampler.cancel()
        await load.stop()
        load.close()
        await p.stop()
    for name, verdict in report["faults"].items():
        verdict.update(faults.get(name, {}))
        verdict["peak_rss_mb"] = _peak_memory(p, _window(windows, name))
    report["run"]["latency_ms"] = _latency(load, report.pop("order_created"))
    report["run"]["erp_business"] = dict(load.stats)
    report["meta"] = {"mode": options.mode, "erp_rate_tps": options.erp_rate,
                      "gap_s": options.gap_s, "customers": len(p.phones),
                      "workers": ["agent,sinks", "stock"], "seconds": round(time.time() - started),
                      "memory_over_time": _memory_series(p)}
    return report


async def _one_fault(p: ChaosPipeline, load: Load, fault: Fault, options: ChaosOptions,
                     rng: random.Random, log) -> tuple[Window, dict[str, Any]]:  # type: ignore[no-untyped-def]
    start = time.time()
    load.phase = fault.name
    await asyncio.sleep(options.gap_s)
    log(f"fault {fault.name}: {fault.what}" + (f" for {fault.hold_s:g} s" if fault.hold_s else ""))
    await fault.run(p, fault.hold_s, rng)
    healed = time.time()
    recovery = await _recovery(load, healed, options.recover_timeout_s)
    exited = _restart_exited(p)
    log(f"  recovered in {recovery:.1f} s" if recovery is not None
        else f"  NOT recovered within {options.recover_timeout_s:.0f} s")
    return Window(fault.name, start, time.time()), {
        "what": fault.what, "hold_s": fault.hold_s, "recovery_s": recovery,
        "processes_exited": exited}


async def _soak(load: Load, seconds: float) -> Window:
    start = time.time()
    load.phase = "soak"
    await asyncio.sleep(seconds)
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
    exited = [name for name in SUPERVISED if not p.supervisor.running(name)]
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


async def _drain(load: Load, windows: list[Window], since: float, timeout: float
                 ) -> dict[str, Any]:
    """Audit until nothing is missing, or until `timeout` (then the last audit stands)."""
    deadline = time.time() + timeout
    while True:
        report = await audit(load, windows, since)
        if time.time() > deadline or not any(f["lost"] for f in report["faults"].values()):
            return report
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


def _memory_series(p: ChaosPipeline, points: int = 60) -> list[dict[str, Any]]:
    step = max(1, len(p.memory) // points)
    return [{"t": round(at), **sample} for at, sample in p.memory[::step]]


def _latency(load: Load, order_created: dict[int, float]) -> dict[str, Any]:
    """CDC: ERP commit of a sales order to its record on the topic; customer: message written
    to the first reply the WhatsApp double accepted for that phone after it."""
    cdc = [seen - order_created[i] for i, seen in load.cdc_seen.items() if i in order_created]
    arrivals: dict[str, list[float]] = {}
    for to, at in load.pipeline.double.arrivals():
        arrivals.setdefault(to, []).append(_ts(at))
    reply = []
    for message in load.inbound.values():
        later = [a for a in arrivals.get(message.phone.lstrip("+"), []) if a >= message.at]
        if later:
            reply.append(min(later) - message.at)

    return {"cdc": _stats(cdc), "customer_reply": _stats(reply)}


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"p50": None, "p99": None, "n": 0}
    return {"p50": round(percentile(values, 50) * 1000), "n": len(values),
            "p99": round(percentile(values, 99) * 1000)}


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
