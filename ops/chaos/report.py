"""Latency and memory over time for a chaos run or a soak, a verdict on their trend, a picture.

Latency: CDC, an ERP sales order's commit to its record on the topic, split at the record's
timestamp into `cdc_produced` (commit to CDC producing it) and `cdc_delivered` (produced to read
by the audit's consumer: the broker's share); customer reply, a message
written to the first reply the WhatsApp double accepted for that phone after it. Each sample
counts in the time bucket it was issued in. Memory: RSS per process (with its children), the
peak of each bucket. The trend compares the first and last third of the buckets after warm-up:
flat memory and a stable tail are what a soak should show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.bench.report import percentile

Samples = list[tuple[float, float]]  # (issued at, latency s)


def latency_samples(load: Any, order_created: dict[int, float]) -> dict[str, Samples]:
    cdc = [(order_created[i], seen - order_created[i]) for i, seen in load.cdc_seen.items()
           if i in order_created]
    # the CDC latency in two: commit -> CDC produced it (the record's timestamp), and produced ->
    # read by the audit's consumer (the broker and the reader)
    stamped = {i: at for i, at in load.cdc_stamped.items() if i in order_created}
    produced = [(order_created[i], at - order_created[i]) for i, at in stamped.items()]
    delivered = [(order_created[i], load.cdc_seen[i] - at) for i, at in stamped.items()
                 if i in load.cdc_seen]
    arrivals: dict[str, list[float]] = {}
    for to, at in load.pipeline.double.arrivals():
        arrivals.setdefault(to, []).append(datetime.fromisoformat(at).timestamp())
    reply = []
    for message in load.inbound.values():
        later = [a for a in arrivals.get(message.phone.lstrip("+"), []) if a >= message.at]
        if later:
            reply.append((message.at, min(later) - message.at))
    return {"cdc": cdc, "cdc_produced": produced, "cdc_delivered": delivered,
            "customer_reply": reply}


def stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"p50": None, "p99": None, "n": 0}
    return {"p50": round(percentile(values, 50) * 1000), "n": len(values),
            "p99": round(percentile(values, 99) * 1000)}


def bucket_size(seconds: float, buckets: int = 30) -> float:
    """Whole minutes for a long run, at least 10 s."""
    size = seconds / buckets
    return max(10.0, 60.0 * round(size / 60)) if size >= 60 else max(10.0, round(size))


def latency_over_time(samples: dict[str, Samples], start: float, bucket_s: float
                      ) -> list[dict[str, Any]]:
    """Per bucket (t: seconds since the start): p50/p99 ms and n of each latency."""
    rows: dict[int, dict[str, Any]] = {}
    for name, pairs in samples.items():
        by_bucket: dict[int, list[float]] = {}
        for at, value in pairs:
            by_bucket.setdefault(int((at - start) // bucket_s), []).append(value)
        for b, values in by_bucket.items():
            rows.setdefault(b, {"t": round(b * bucket_s)})[name] = stats(values)
    return [rows[b] for b in sorted(rows)]


def memory_over_time(memory: Iterable[tuple[float, dict[str, float]]], start: float,
                     bucket_s: float) -> list[dict[str, Any]]:
    """Per bucket (t: seconds since the start): each process's peak RSS in MB."""
    rows: dict[int, dict[str, Any]] = {}
    for at, sample in memory:
        b = int((at - start) // bucket_s)
        row = rows.setdefault(b, {"t": round(b * bucket_s)})
        for name, mb in sample.items():
            row[name] = max(row.get(name, 0.0), mb)
    return [rows[b] for b in sorted(rows)]


def trend(memory: list[dict[str, Any]], latency: list[dict[str, Any]], after_s: float,
          before_s: float = float("inf")) -> dict[str, Any]:
    """First third against last third of the buckets from `after_s` (past warm-up) to
    `before_s` (the load's end): each process's peak memory, and each latency's p99 (the median
    of the buckets' p99s)."""
    mem = [row for row in memory if after_s <= row["t"] <= before_s]
    lat = [row for row in latency if after_s <= row["t"] <= before_s]
    if len(mem) < 3:
        return {"buckets": len(mem), "note": "too short for a trend"}
    third = len(mem) // 3
    first, last = mem[:third], mem[-third:]
    names = sorted({k for row in mem for k in row if k != "t"})
    growth = {}
    for name in names:
        a = max((row.get(name, 0.0) for row in first), default=0.0)
        b = max((row.get(name, 0.0) for row in last), default=0.0)
        growth[name] = {"first_mb": a, "last_mb": b, "growth_pct": round(100 * (b - a) / a, 1)
                        if a else None}
    tail = {}
    for name in ("cdc", "customer_reply"):
        p99s = [row[name]["p99"] for row in lat if row.get(name, {}).get("p99") is not None]
        if len(p99s) >= 3:
            k = len(p99s) // 3
            tail[name] = {"first_p99_ms": percentile(p99s[:k], 50),
                          "last_p99_ms": percentile(p99s[-k:], 50)}
    return {"buckets": len(mem), "memory": growth, "p99": tail}


def cpu_busy(samples: Sequence[tuple[float, float]], after: float, before: float
             ) -> dict[str, float | None]:
    """How busy the machine's CPUs were (%, all cores) between `after` and `before`: the median
    sample, and the medians of the first and last third (a saturated machine explains a tail
    that grows: the queues of every process on it grow)."""
    busy = [pct for at, pct in samples[1:] if after <= at <= before]  # the first reads 0
    if not busy:
        return {"median": None, "first_third": None, "last_third": None}
    k = max(1, len(busy) // 3)
    return {"median": percentile(busy, 50), "first_third": percentile(busy[:k], 50),
            "last_third": percentile(busy[-k:], 50)}


def plot(path: Path, memory: list[dict[str, Any]], latency: list[dict[str, Any]],
         title: str, marks: Sequence[dict[str, Any]] = ()) -> Path:
    """Memory per process and latency p50/p99 over time, one PNG; `marks` (t, what) are the
    windows' starts and the load's end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    names = sorted({k for row in memory for k in row if k != "t"})
    for name in names:
        points = [(row["t"] / 60, row[name]) for row in memory if name in row]
        top.plot(*zip(*points, strict=True), label=name)
    top.set_ylabel("peak RSS (MB)")
    top.set_title(title)
    top.legend(fontsize=7, ncol=4)
    for name, style, quantiles in (
            ("cdc", "tab:blue", ("p50", "p99")), ("customer_reply", "tab:orange", ("p50", "p99")),
            ("cdc_produced", "tab:green", ("p99",)), ("cdc_delivered", "tab:red", ("p99",))):
        for q, dash in (("p50", "-"), ("p99", "--")):
            if q not in quantiles:
                continue
            points = [(row["t"] / 60, row[name][q]) for row in latency
                      if row.get(name, {}).get(q) is not None]
            if points:
                bottom.plot(*zip(*points, strict=True), dash, color=style, label=f"{name} {q}")
    for mark in marks:
        for axes in (top, bottom):
            axes.axvline(mark["t"] / 60, color="grey", linewidth=0.6, linestyle=":")
        top.annotate(mark["what"], (mark["t"] / 60, 1.0), xycoords=("data", "axes fraction"),
                     rotation=90, fontsize=6, va="top", ha="right", color="grey")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("minutes since start")
    bottom.set_yscale("log")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
