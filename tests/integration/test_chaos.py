"""The chaos suite, short (CI): the agent+sinks worker SIGKILLed under load and the broker paused,
on the embedded stack with every flow busy (tomorrow's routes planned and re-planned too). The
audit (ops/chaos/audit.py) finds nothing lost, no ERP write and no message twice, and the
pipeline working again after each fault.

Then, in the same run, a breach on purpose (`faults.TAMPER`): one purchase order written again
bypassing the sink, one message the WhatsApp double gets twice, one issued event the broker never
got. The audit must report exactly those, under that window and no other: the verdict above
could be a broken audit's zeros otherwise. tests/unit/test_chaos_audit.py does the same on a
real run's evidence, case by case.

The full suite is `topllantas chaos` (`--quick` for every fault once).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.chaos.faults import TAMPER, short_plan
from ops.chaos.run import ChaosOptions, run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_faults_lose_and_repeat_nothing_and_the_audit_sees_a_breach(tmp_path: Path) -> None:
    result = run_chaos(ChaosOptions(faults=[*short_plan(), TAMPER], mode="ci", gap_s=5,
                                    recover_timeout_s=75, drain_timeout_s=60, settle_s=10,
                                    out=tmp_path / "chaos.json"))
    faults = result["faults"]
    assert set(faults) == {"warmup", "worker_kill_mid_batch", "broker_pause", "tamper"}
    for name in ("warmup", "worker_kill_mid_batch", "broker_pause"):
        verdict = faults[name]
        assert verdict["lost"] == 0, (name, verdict["detail"])
        assert verdict["duplicated_erp_writes"] == 0, (name, verdict["detail"])
        assert verdict["duplicated_messages"] == 0, (name, verdict["detail"])
    for name in ("worker_kill_mid_batch", "broker_pause"):
        assert faults[name]["recovery_s"] is not None, f"no recovery after {name}"
    breach = faults["tamper"]
    assert (breach["lost"], breach["duplicated_erp_writes"], breach["duplicated_messages"]) \
        == (1, 1, 1), breach["detail"]
    assert breach["detail"]["lost_messages"] == 1
    assert breach["detail"]["messages_delivered_twice"] == 1
    run = result["run"]
    assert run["customer_messages"] > 0 and run["feed_messages"] > 0 and run["sales_orders"] > 0
    assert run["duplicated_reservations"] == 0
    assert run["delivery_orders"] > 0 and run["on_routes"] > 0  # the routes flow was audited
    assert json.loads((tmp_path / "chaos.json").read_text())["faults"]["tamper"]["lost"] == 1
    assert (tmp_path / "chaos_evidence.json").exists() and (tmp_path / "chaos.png").exists()
