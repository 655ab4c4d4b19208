"""ops/chaos/report.py: latency and memory per time bucket, and the soak's verdict on their trend
(a process whose memory climbs is told apart from a flat one; the drain after the load is not
part of the trend)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ops.chaos.report import (
    bucket_size,
    cpu_busy,
    latency_over_time,
    latency_samples,
    memory_over_time,
    plot,
    trend,
)

START = 1_800_000_000.0


def _memory(minutes: int, leak_mb_per_min: float) -> list[tuple[float, dict[str, float]]]:
    """A sample every 5 s: a flat worker, and one that leaks."""
    return [(START + s, {"flat": 300.0 + (s % 2), "leaky": 300.0 + leak_mb_per_min * s / 60})
            for s in range(0, minutes * 60, 5)]


def test_buckets_are_whole_minutes_for_a_long_run_and_at_least_10_s() -> None:
    assert bucket_size(30 * 60) == 60.0
    assert bucket_size(120) == 10.0
    assert bucket_size(3 * 3600) == 360.0


def test_memory_per_bucket_is_each_process_peak() -> None:
    rows = memory_over_time([(START + 1, {"w": 100.0}), (START + 9, {"w": 140.0}),
                             (START + 11, {"w": 120.0})], START, 10)
    assert rows == [{"t": 0, "w": 140.0}, {"t": 10, "w": 120.0}]


def test_latency_counts_in_the_bucket_it_was_issued_in() -> None:
    samples = {"cdc": [(START + 1, 0.2), (START + 2, 0.4), (START + 61, 5.0)]}
    rows = latency_over_time(samples, START, 60)
    assert rows[0] == {"t": 0, "cdc": {"p50": 200, "p99": 400, "n": 2}}
    assert rows[1]["cdc"]["p99"] == 5000


def test_the_cdc_latency_splits_at_the_record_timestamp() -> None:
    """Commit at 0, produced by CDC at 0.3 s, read at 2 s: 0.3 s CDC's, 1.7 s the broker's."""
    double = SimpleNamespace(arrivals=lambda: [])
    load = SimpleNamespace(cdc_seen={7: START + 2.0, 8: START + 9.0},
                           cdc_stamped={7: START + 0.3}, inbound={},
                           pipeline=SimpleNamespace(double=double))
    samples = latency_samples(load, {7: START, 9: START})
    assert samples["cdc"] == [(START, 2.0)]
    assert [(at, round(v, 3)) for at, v in samples["cdc_produced"]] == [(START, 0.3)]
    assert [(at, round(v, 3)) for at, v in samples["cdc_delivered"]] == [(START, 1.7)]


def test_trend_tells_a_leak_from_flat_memory() -> None:
    memory = memory_over_time(_memory(30, leak_mb_per_min=5), START, 60)
    verdict = trend(memory, [], after_s=60)
    assert abs(verdict["memory"]["flat"]["growth_pct"]) < 1
    assert verdict["memory"]["leaky"]["growth_pct"] > 20  # 350 MB at 10 min, 450 at 30


def test_trend_leaves_out_warm_up_and_drain() -> None:
    memory = [{"t": t, "w": 500.0 if t < 60 or t > 600 else 300.0} for t in range(0, 900, 30)]
    verdict = trend(memory, [], after_s=60, before_s=600)
    assert verdict["memory"]["w"] == {"first_mb": 300.0, "last_mb": 300.0, "growth_pct": 0.0}
    assert trend(memory[:2], [], after_s=0)["note"] == "too short for a trend"


def test_p99_trend_compares_first_and_last_third() -> None:
    latency = [{"t": t * 60, "cdc": {"p50": 100, "p99": 300 + 100 * t, "n": 50}}
               for t in range(9)]
    memory = [{"t": t * 60, "w": 1.0} for t in range(9)]
    assert trend(memory, latency, after_s=0)["p99"]["cdc"] == {"first_p99_ms": 400.0,
                                                               "last_p99_ms": 1000.0}


def test_the_picture_is_written(tmp_path: Path) -> None:
    memory = memory_over_time(_memory(3, 1), START, 10)
    latency = latency_over_time({"cdc": [(START + s, 0.2) for s in range(180)]}, START, 10)
    out = plot(tmp_path / "soak.png", memory, latency, "soak",
               [{"t": 170, "what": "load stopped"}])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cpu_busy_is_the_machine_share_during_the_load() -> None:
    """The first sample reads 0 (psutil has no previous one) and is left out, as is what lies
    outside the load."""
    samples = [(0.0, 0.0), (1.0, 50.0), (2.0, 60.0), (3.0, 95.0), (4.0, 100.0), (9.0, 5.0)]
    busy = cpu_busy(samples, after=0.0, before=5.0)
    assert busy["first_third"] == 50.0 and busy["last_third"] == 100.0
    assert busy["median"] in (60.0, 95.0)
    assert cpu_busy(samples, after=20.0, before=30.0)["median"] is None
