"""The stock throughput benchmark ends a run only on its own probes' new critical alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from ops.bench.stock_throughput import critical_finish, floor_finish, stock_key


def _alert(key: tuple[int, int], at: datetime, level: str = "critico",
           resolved: bool = False) -> bytes:
    return orjson.dumps({"product_id": key[0], "warehouse_id": key[1], "level": level,
                         "resolved": resolved, "at": at.isoformat()})


def test_one_probe_per_partition_restocked_then_dropped() -> None:
    probes = [(p, 1) for p in range(1, 40)]
    finish = critical_finish(probes, partitions=4, lsn=1_000)
    assert len(finish.expected) == 4 and len(finish.records) == 8
    dropped = [orjson.loads(value)["after"]["on_hand"] for _, value, _ in finish.records]
    assert dropped == [1_000, 0] * 4
    assert {key for key, _, _ in finish.records} == {stock_key(k) for k in finish.expected}


def test_an_earlier_runs_alert_or_a_resolution_does_not_end_the_run() -> None:
    finish = critical_finish([(7, 2)], partitions=1, lsn=1)
    now = datetime.now(UTC)
    assert finish.done_of(b"", _alert((7, 2), now - timedelta(seconds=5))) is None
    assert finish.done_of(b"", _alert((7, 2), now + timedelta(seconds=1), resolved=True)) is None
    assert finish.done_of(b"", _alert((7, 2), now + timedelta(seconds=1), level="alto")) is None
    assert finish.done_of(b"", _alert((7, 2), now + timedelta(seconds=1))) == (7, 2)


def test_the_floor_waits_for_its_own_markers_only() -> None:
    finish = floor_finish("run-1")
    assert finish.done_of(b"run-1:0", b"end") in finish.expected
    assert finish.done_of(b"run-0:0", b"end") not in finish.expected
    assert sorted(partition for _, _, partition in finish.records) == [0, 1, 2, 3]
