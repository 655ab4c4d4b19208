"""The simulated business's clock: the history's pace times speed; receipts on their own clock."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from ops.erp import simulate
from ops.erp.simulate import ACTION_SHARES, Business, _run, simulate_day


class FakeBusiness:
    """The scheduling surface of `Business`, counting calls instead of writing an ERP."""

    def __init__(self) -> None:
        self.rng = random.Random(1)
        self.receipt_looks = 0

    async def sale(self) -> str:
        return "sale"

    async def cancel(self) -> str:
        return "cancellation"

    async def adjustment(self) -> str:
        return "adjustment"

    async def receive_due(self) -> Counter[str]:
        self.receipt_looks += 1
        return Counter({"receipt": 1})


def test_real_pace_is_the_historys_orders_a_day() -> None:
    business = Business(conn=None, rng=random.Random(0))  # type: ignore[arg-type]
    business.orders_per_day = 222.0
    per_day = business.real_rate() * simulate.SECONDS_PER_DAY
    assert per_day == pytest.approx(222.0 / ACTION_SHARES["sale"])
    assert sum(ACTION_SHARES.values()) == pytest.approx(1.0)


def test_transactions_follow_the_rate_and_receipts_their_own_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulate, "RECEIVE_EVERY_S", 0.1)
    fake = FakeBusiness()
    stats = asyncio.run(_run(fake, rate=200.0, duration=0.5, stop=None))  # type: ignore[arg-type]
    actions = stats["sale"] + stats["cancellation"] + stats["adjustment"]
    assert 80 <= actions <= 101
    assert 4 <= fake.receipt_looks <= 6
    assert stats["receipt"] == fake.receipt_looks


def test_a_slow_business_is_not_hurried_by_the_receipt_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulate, "RECEIVE_EVERY_S", 0.05)
    fake = FakeBusiness()
    stats = asyncio.run(_run(fake, rate=1 / 60, duration=0.4, stop=None))  # type: ignore[arg-type]
    assert stats["sale"] + stats["cancellation"] + stats["adjustment"] == 1  # the first, at once
    assert fake.receipt_looks >= 5


def test_a_set_stop_ends_the_run() -> None:
    stop = asyncio.Event()
    stop.set()
    stats = asyncio.run(_run(FakeBusiness(), rate=10, duration=0, stop=stop))  # type: ignore[arg-type]
    assert not stats


def test_speed_and_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        asyncio.run(simulate_day("postgresql://unused", speed=0, duration=1))
