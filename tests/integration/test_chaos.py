"""The chaos suite, short (CI): the agent+sinks worker SIGKILLed under load and the broker paused,
on the embedded stack with every flow busy. The audit (ops/chaos/audit.py) finds nothing lost,
no ERP write and no message twice, and the pipeline working again after each fault.

The full suite is `topllantas chaos` (`--quick` for every fault once).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.chaos.faults import short_plan
from ops.chaos.run import ChaosOptions, run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_a_killed_worker_and_a_paused_broker_lose_and_repeat_nothing(tmp_path: Path) -> None:
    result = run_chaos(ChaosOptions(faults=short_plan(), mode="ci", gap_s=5,
                                    recover_timeout_s=75, drain_timeout_s=60,
                                    out=tmp_path / "chaos.json"))
    faults = result["faults"]
    assert set(faults) == {"warmup", "worker_kill_mid_batch", "broker_pause"}
    for name, verdict in faults.items():
        assert verdict["lost"] == 0, (name, verdict["detail"])
        assert verdict["duplicated_erp_writes"] == 0, (name, verdict["detail"])
        assert verdict["duplicated_messages"] == 0, (name, verdict["detail"])
    for name in ("worker_kill_mid_batch", "broker_pause"):
        assert faults[name]["recovery_s"] is not None, f"no recovery after {name}"
    run = result["run"]
    assert run["customer_messages"] > 0 and run["feed_messages"] > 0 and run["sales_orders"] > 0
    assert run["duplicated_reservations"] == 0
    assert (tmp_path / "chaos.json").exists()
