"""The chaos audit's own verdict (ops/chaos/audit.py `tally`) on a real run's evidence: the CI
chaos run (a worker SIGKILLed, the broker paused) as `topllantas chaos` wrote it beside its
results, trimmed (tests/data/chaos_run_evidence.json; the run's breach window left out).
Untouched it audits clean; each breach written into it (a purchase order or its lines twice, a
message delivered twice, a delivery the double never made, a CDC event missing, a sales line
never enriched or enriched stale, a command that made nothing) is reported exactly, under the
window its item was issued in, and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.chaos.audit import Evidence, Recorded, Window, feed_key, from_snapshot, tally

DATA = Path(__file__).parents[1] / "data" / "chaos_run_evidence.json"
Run = tuple[Recorded, Evidence, list[Window]]
Verdicts = dict[str, tuple[int, int, int]]


@pytest.fixture
def run() -> Run:
    return from_snapshot(json.loads(DATA.read_text()))


def verdicts(run: Run) -> Verdicts:
    expected, evidence, windows = run
    return {phase: (f["lost"], f["duplicated_erp_writes"], f["duplicated_messages"])
            for phase, f in tally(expected, evidence, windows).items()}


def test_the_real_run_audits_clean(run: Run) -> None:
    expected, evidence, windows = run
    assert [w.phase for w in windows] == ["warmup", "worker_kill_mid_batch", "broker_pause"]
    assert verdicts(run) == {w.phase: (0, 0, 0) for w in windows}
    # not vacuous: every window issued every kind of item, and it all arrived
    for kind in ("messages", "commands", "inbound"):
        assert {i.phase for i in getattr(expected, kind).values()} == {w.phase for w in windows}
    assert len(evidence.orders) > 100 and len(evidence.deliveries) > 200
    assert all(evidence.purchase_orders[k] == {"orders": 1, "lines": 1} for k in expected.commands)
    assert len(evidence.lines) > 100 and all(line["id"] in expected.enriched
                                             for line in evidence.lines)
    # the worker SIGKILLed mid-call left replies `unknown`, each accounting for one delivery
    detail = tally(expected, evidence, windows)["worker_kill_mid_batch"]["detail"]
    assert detail["unknown"] > 0


def _command(run: Run, phase: str) -> str:
    return next(k for k, v in run[0].commands.items() if v.phase == phase)


def _feed_delivery(run: Run, phase: str) -> dict[str, Any]:
    return next(d for d in run[1].deliveries
                if (feed_key(d) or "").startswith(f"msg:chaos:{phase}:"))


def _reply_delivery(run: Run, phase: str) -> dict[str, Any]:
    expected, evidence, _ = run
    inbound = next(k for k, v in expected.inbound.items() if v.phase == phase)
    wamid = evidence.ledger[f"wa-reply:{inbound}:0"]["provider_message_id"]
    return next(d for d in evidence.deliveries if d["wamid"] == wamid)


def po_written_twice(run: Run) -> tuple[str, tuple[int, int, int]]:
    """The same command applied again without its idempotency key: a second order, its line."""
    run[1].purchase_orders[_command(run, "warmup")] = {"orders": 2, "lines": 2}
    return "warmup", (0, 1, 0)


def po_lines_twice(run: Run) -> tuple[str, tuple[int, int, int]]:
    run[1].purchase_orders[_command(run, "broker_pause")] = {"orders": 1, "lines": 2}
    return "broker_pause", (0, 1, 0)


def feed_message_sent_twice(run: Run) -> tuple[str, tuple[int, int, int]]:
    """The sink's request replayed to the double: a second delivery, a new provider id, no ledger
    row; it counts under the window the message was issued in, even if delivered later."""
    again = {**_feed_delivery(run, "worker_kill_mid_batch"), "wamid": "wamid.again"}
    run[1].deliveries.append({**again, "at": run[1].deliveries[-1]["at"]})
    return "worker_kill_mid_batch", (0, 0, 1)


def reply_sent_twice(run: Run) -> tuple[str, tuple[int, int, int]]:
    run[1].deliveries.append({**_reply_delivery(run, "warmup"), "wamid": "wamid.again"})
    return "warmup", (0, 0, 1)


def feed_message_never_delivered(run: Run) -> tuple[str, tuple[int, int, int]]:
    """The ledger says `sent`, the double has no such message."""
    run[1].deliveries.remove(_feed_delivery(run, "broker_pause"))
    return "broker_pause", (1, 0, 0)


def reply_never_delivered(run: Run) -> tuple[str, tuple[int, int, int]]:
    run[1].deliveries.remove(_reply_delivery(run, "worker_kill_mid_batch"))
    return "worker_kill_mid_batch", (1, 0, 0)


def reply_ledger_failed(run: Run) -> tuple[str, tuple[int, int, int]]:
    expected, evidence, _ = run
    inbound = next(k for k, v in expected.inbound.items() if v.phase == "broker_pause")
    evidence.ledger[f"wa-reply:{inbound}:0"]["status"] = "failed"
    return "broker_pause", (1, 0, 0)


def cdc_event_missing(run: Run) -> tuple[str, tuple[int, int, int]]:
    """A committed sales order that never reached its topic; counted by its commit time."""
    expected, evidence, windows = run
    order = next(o for o in evidence.orders
                 if windows[1].start <= o["at"] < windows[1].end)
    del expected.cdc_seen[order["id"]]
    return windows[1].phase, (1, 0, 0)


def _line_in(run: Run, window: int) -> int:
    start, end = run[2][window].start, run[2][window].end
    return next(line["id"] for line in run[1].lines if start <= line["at"] < end)


def sales_line_never_enriched(run: Run) -> tuple[str, tuple[int, int, int]]:
    del run[0].enriched[_line_in(run, 0)]
    return run[2][0].phase, (1, 0, 0)


def sales_line_enriched_stale(run: Run) -> tuple[str, tuple[int, int, int]]:
    """The order was cancelled after its line was enriched; the cancellation never was."""
    line = _line_in(run, 2)
    n, _, qty = run[0].enriched[line]
    run[0].enriched[line] = (n, "cancelado", qty)
    return run[2][2].phase, (1, 0, 0)


def sales_line_enriched_twice(run: Run) -> tuple[str, tuple[int, int, int]]:
    """A redelivered change enriched again: the topic is keyed and compacted, the latest record
    per line is its state, so a repeat is no breach (at-least-once into a compacted topic)."""
    line = _line_in(run, 1)
    n, status, qty = run[0].enriched[line]
    run[0].enriched[line] = (n + 1, status, qty)
    return run[2][1].phase, (0, 0, 0)


def command_made_nothing(run: Run) -> tuple[str, tuple[int, int, int]]:
    del run[1].purchase_orders[_command(run, "warmup")]
    return "warmup", (1, 0, 0)


def feed_message_unknown_delivered_once(run: Run) -> tuple[str, tuple[int, int, int]]:
    """A worker died during the call: `unknown`, delivered once. Neither lost nor twice."""
    key = feed_key(_feed_delivery(run, "warmup"))
    assert key is not None
    run[1].ledger[key] = {"status": "unknown", "provider_message_id": None}
    return "warmup", (0, 0, 0)


BREACHES: list[Callable[[Run], tuple[str, tuple[int, int, int]]]] = [
    po_written_twice, po_lines_twice, feed_message_sent_twice, reply_sent_twice,
    feed_message_never_delivered, reply_never_delivered, reply_ledger_failed, cdc_event_missing,
    sales_line_never_enriched, sales_line_enriched_stale, sales_line_enriched_twice,
    command_made_nothing, feed_message_unknown_delivered_once]


@pytest.mark.parametrize("breach", BREACHES, ids=lambda b: b.__name__)
def test_each_breach_is_reported_exactly_where_it_happened(
        run: Run, breach: Callable[[Run], tuple[str, tuple[int, int, int]]]) -> None:
    clean = verdicts(run)
    phase, counts = breach(run)
    assert verdicts(run) == {**clean, phase: counts}


def _with_routes(run: Run) -> list[int]:
    """Three of the warm-up's sales orders as deliveries of a planned day, each where the day's
    last plan and the ERP agree: one on vehicle 7, one listed unassigned (no vehicle in the ERP
    either), one cancelled and dropped from the plan. Returns their ids."""
    _, evidence, windows = run
    ids = [o["id"] for o in evidence.orders if o["at"] < windows[0].end][:3]
    at = next(o["at"] for o in evidence.orders if o["id"] == ids[0])
    evidence.delivery_orders = [
        {"id": ids[0], "at": at, "status": "confirmado", "vehicle_id": 7},
        {"id": ids[1], "at": at, "status": "confirmado", "vehicle_id": None},
        {"id": ids[2], "at": at, "status": "cancelado", "vehicle_id": None}]
    evidence.routed = {str(ids[0]): 7, str(ids[1]): None}
    return ids


def test_routes_planned_and_written_back_audit_clean(run: Run) -> None:
    clean = verdicts(run)
    _with_routes(run)
    assert verdicts(run) == clean


@pytest.mark.parametrize("breach", ["left_out_of_the_plan", "cancelled_but_routed",
                                    "route_not_written_to_the_erp"])
def test_each_routes_breach_is_a_loss_in_its_window(run: Run, breach: str) -> None:
    clean = verdicts(run)
    routed, unassigned, cancelled = _with_routes(run)
    evidence = run[1]
    if breach == "left_out_of_the_plan":
        del evidence.routed[str(unassigned)]
    elif breach == "cancelled_but_routed":
        evidence.routed[str(cancelled)] = 7
    else:
        evidence.delivery_orders[0]["vehicle_id"] = None
    lost, dup_writes, dup_messages = clean["warmup"]
    assert verdicts(run) == {**clean, "warmup": (lost + 1, dup_writes, dup_messages)}


def test_breaches_together_add_up(run: Run) -> None:
    """One duplicated ERP write, one message twice, one loss, as in the CI run's tamper."""
    po_written_twice(run)
    feed_message_sent_twice(run)
    reply_never_delivered(run)
    assert verdicts(run) == {"warmup": (0, 1, 0), "worker_kill_mid_batch": (1, 0, 1),
                             "broker_pause": (0, 0, 0)}


def test_the_snapshot_round_trips(run: Run) -> None:
    from ops.chaos.audit import snapshot

    expected, evidence, windows = run
    again = from_snapshot(json.loads(json.dumps(snapshot(expected, evidence, windows))))
    assert verdicts(again) == verdicts(run) and again[2] == windows
