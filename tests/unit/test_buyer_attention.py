"""The attention budget of one buyer: few WhatsApp messages, nothing dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ops.doubles.whatsapp_rules import check_body
from processors.inventory.attention import (
    AttentionConfig,
    BuyerAttention,
    Item,
    ListEntry,
    Send,
    SendKind,
    digest_sent,
    gathered_list,
    next_wakeup,
    on_inbound,
    on_item,
    tick,
    withdraw,
)

CONFIG = AttentionConfig()
NOON = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City
BUYER = "5218110000001"


def critical(n: int, supplier: int = 1, a_class: bool = False) -> Item:
    return Item(f"a{n}", supplier, critical=True, a_class=a_class)


def fresh(now: datetime = NOON) -> BuyerAttention:
    """A buyer who wrote an hour ago (window open) and got nothing today."""
    return BuyerAttention(buyer=BUYER, last_inbound=now - timedelta(hours=1),
                          digest_day=(now - timedelta(hours=6)).date())


class Run:
    """Feeds items and ticks, keeping the state and every send."""

    def __init__(self, state: BuyerAttention) -> None:
        self.state = state
        self.sends: list[Send] = []

    def item(self, item: Item, at: datetime) -> None:
        self.state, sends = on_item(self.state, item, at, CONFIG)
        self.sends.extend(sends)

    def tick(self, at: datetime) -> None:
        self.state, sends = tick(self.state, at, CONFIG)
        self.sends.extend(sends)

    def kinds(self) -> list[SendKind]:
        return [s.kind for s in self.sends]


def test_fifty_criticals_in_a_minute_are_one_message_and_one_list() -> None:
    run = Run(fresh())
    for n in range(50):
        run.item(critical(n, supplier=1 + n % 4), NOON + timedelta(seconds=n))
        run.tick(NOON + timedelta(seconds=n, milliseconds=500))
    assert run.kinds() == [SendKind.SINGLE]
    assert run.sends[0].alert_ids == ("a0",)  # at once
    assert next_wakeup(run.state, NOON, CONFIG) == NOON + CONFIG.gather_window
    run.tick(NOON + CONFIG.gather_window)
    assert run.kinds() == [SendKind.SINGLE, SendKind.GATHERED]
    assert [s.at_once for s in run.sends] == [True, False]
    ids = [i for s in run.sends for i in s.alert_ids]
    assert sorted(ids) == sorted(f"a{n}" for n in range(50))  # each exactly once
    assert len(ids) == len(set(ids))
    assert run.state.sent_today == 2 and not run.state.gathering


def test_one_message_per_window_at_most() -> None:
    run = Run(fresh())
    for minute in range(0, 60, 2):  # a critical every two minutes for an hour
        at = NOON + timedelta(minutes=minute)
        run.tick(at)
        run.item(critical(minute), at)
    run.tick(NOON + timedelta(hours=2))
    times = [s.key for s in run.sends]
    assert len(run.sends) <= 7  # 60 min / 10-min windows, plus the first
    assert sorted(i for s in run.sends for i in s.alert_ids) == sorted(
        f"a{m}" for m in range(0, 60, 2))
    assert len(times) == len(set(times))


def test_the_daily_cap_sends_the_rest_by_email_and_to_the_digest() -> None:
    cap = AttentionConfig(daily_cap=3, gather_window=timedelta(minutes=1))
    state = fresh()
    sends: list[Send] = []
    for n in range(8):  # one critical every two windows: each would be a message
        state, out = on_item(state, critical(n), NOON + timedelta(minutes=2 * n), cap)
        sends.extend(out)
    whatsapp = [s for s in sends if s.whatsapp]
    email = [s for s in sends if not s.whatsapp]
    assert len(whatsapp) == 3 and state.sent_today == 3
    assert [i for s in email for i in s.alert_ids] == [f"a{n}" for n in range(3, 8)]
    assert [i.alert_id for i in state.digest] == [f"a{n}" for n in range(3, 8)]
    # the next morning's digest carries them; the counter starts again
    morning = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)  # 07:00 in Mexico City
    state, out = tick(state, morning, cap)
    assert [s.kind for s in out] == [SendKind.DIGEST]
    assert out[0].alert_ids == tuple(f"a{n}" for n in range(3, 8))
    assert state.sent_today == 1 and not state.digest


def test_the_crontab_digest_counts_toward_the_cap_once_a_day() -> None:
    """The 07:00 digest sent by the crontab (not by `tick`) is one of the day's messages: with a
    cap of 2, one critical still goes by WhatsApp after it, the next by e-mail."""
    cap = AttentionConfig(daily_cap=2, gather_window=timedelta(minutes=1))
    seven = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    state = digest_sent(fresh(), seven, cap)  # the digest of the day after NOON
    assert state.sent_today == 1
    state = digest_sent(state, seven + timedelta(minutes=1), cap)  # the same digest again
    assert state.sent_today == 1
    state, first = on_item(state, critical(1), seven + timedelta(hours=2), cap)
    state, second = on_item(state, critical(2), seven + timedelta(hours=3), cap)
    assert [s.kind for s in first + second] == [SendKind.SINGLE, SendKind.EMAIL]
    state, later = tick(state, seven + timedelta(hours=4), cap)
    assert later == [] and state.sent_today == 2  # no second digest by the tick that day


def test_lower_levels_wait_for_the_digest_at_seven() -> None:
    run = Run(fresh())
    run.item(Item("alto1", 2, critical=False), NOON)
    run.item(Item("medio1", 2, critical=False), NOON + timedelta(minutes=1))
    run.tick(NOON + timedelta(hours=5))
    assert run.sends == []
    seven = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert next_wakeup(run.state, NOON, CONFIG) == seven
    run.tick(seven - timedelta(seconds=1))
    assert run.sends == []
    run.tick(seven)
    run.tick(seven + timedelta(minutes=5))  # once a day
    assert run.kinds() == [SendKind.DIGEST]
    assert run.sends[0].alert_ids == ("alto1", "medio1")


def test_a_closed_window_opens_with_the_template_then_the_items_follow_the_reply() -> None:
    state = BuyerAttention(buyer=BUYER, last_inbound=NOON - timedelta(hours=30))
    state, first = on_item(state, critical(1), NOON, CONFIG)
    state, second = on_item(state, critical(2), NOON + timedelta(seconds=5), CONFIG)
    assert [s.kind for s in first] == [SendKind.OPENER] and second == []
    state, after = on_inbound(state, NOON + timedelta(minutes=3), CONFIG)
    assert [s.kind for s in after] == [SendKind.GATHERED]
    assert after[0].alert_ids == ("a1", "a2")
    assert state.window_open(NOON + timedelta(minutes=4), CONFIG)
    state, again = on_inbound(state, NOON + timedelta(minutes=5), CONFIG)
    assert again == []


def test_unanswered_opener_items_go_to_the_digest() -> None:
    state = BuyerAttention(buyer=BUYER)  # never wrote
    state, _ = on_item(state, critical(1), NOON, CONFIG)
    state, out = tick(state, datetime(2026, 12, 4, 13, 0, tzinfo=UTC), CONFIG)
    assert [s.kind for s in out] == [SendKind.DIGEST] and out[0].alert_ids == ("a1",)
    assert not state.awaiting_reply


def test_quiet_hours_hold_all_but_a_class_criticals() -> None:
    night = datetime(2026, 12, 4, 4, 30, tzinfo=UTC)  # 22:30 in Mexico City
    run = Run(fresh(night))
    run.item(critical(1, a_class=False), night)
    assert run.sends == []
    run.item(critical(2, a_class=True), night + timedelta(minutes=1))
    assert run.kinds() == [SendKind.SINGLE] and run.sends[0].alert_ids == ("a2",)
    run.tick(datetime(2026, 12, 4, 13, 0, tzinfo=UTC))
    assert run.kinds() == [SendKind.SINGLE, SendKind.DIGEST]
    assert run.sends[1].alert_ids == ("a1",)


def test_quiet_hours_cross_midnight() -> None:
    def local(h: int, m: int = 0) -> datetime:
        return datetime(2026, 12, 4, h, m, tzinfo=CONFIG.tz)

    assert CONFIG.quiet(local(21)) and CONFIG.quiet(local(3)) and CONFIG.quiet(local(6, 59))
    assert not CONFIG.quiet(local(7)) and not CONFIG.quiet(local(20, 59))


def test_a_replayed_or_resolved_alert_is_not_sent_twice() -> None:
    run = Run(fresh())
    run.item(critical(1), NOON)
    run.item(critical(2), NOON + timedelta(seconds=1))
    run.item(critical(2), NOON + timedelta(seconds=2))  # the same alert again
    run.item(critical(3), NOON + timedelta(seconds=3))
    run.state = withdraw(run.state, "a3")
    run.tick(NOON + CONFIG.gather_window)
    assert [s.alert_ids for s in run.sends] == [("a1",), ("a2",)]
    assert run.kinds() == [SendKind.SINGLE, SendKind.SINGLE]
    # the first went as it came; the second is the window's one item, sent alone at its end
    assert [s.at_once for s in run.sends] == [True, False]


def test_the_state_survives_a_restart_and_decides_the_same_keys() -> None:
    run = Run(fresh())
    run.item(critical(1), NOON)
    for n in range(2, 6):
        run.item(critical(n, supplier=n), NOON + timedelta(seconds=n))
    saved = json.loads(json.dumps(run.state.to_dict()))
    restored = BuyerAttention.from_dict(saved)
    assert restored == run.state
    at = NOON + CONFIG.gather_window
    first, sends_a = tick(run.state, at, CONFIG)
    second, sends_b = tick(restored, at, CONFIG)
    assert sends_a == sends_b and first == second
    assert sends_a[0].key == f"attention:{BUYER}:2:gathered"
    assert len(json.dumps(saved)) < 600  # small: ids and a few instants


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="daily_cap"):
        AttentionConfig(daily_cap=0)
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo's own error
        AttentionConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="aware"):
        CONFIG.quiet(datetime(2026, 12, 4, 12))


def _entries(n: int, suppliers: int = 4) -> list[ListEntry]:
    names = ["Michelin México", "Bridgestone de México", "Pirelli Neumáticos",
             "Importadora Asia Llantas"]
    return [ListEntry(f"a{i}", 1 + i % suppliers, names[i % suppliers],
                      f"205/55R16 Primacy 4 XL #{i}", "Monterrey · 0 pzas · pedir 8",
                      Decimal(1000 + i)) for i in range(n)]


def test_a_gathered_list_of_fifty_pages_through_every_item_once() -> None:
    entries = _entries(50)
    seen: list[str] = []
    page, pages = 0, []
    while True:
        listed = gathered_list(entries, list_key="attention:b:2", page=page)
        check_body({"messaging_product": "whatsapp", "to": BUYER, "type": "interactive",
                    "interactive": listed.interactive()})  # Meta's limits, as the double has them
        pages.append(listed)
        seen += [r.id.removeprefix("approve:") for r in listed.rows
                 if r.id.startswith("approve:")]
        more = [r.id for r in listed.rows if r.id.startswith("more:")]
        if not more:
            break
        page = int(more[0].rsplit(":", 1)[1])
    assert sorted(seen) == sorted(e.alert_id for e in entries) and len(seen) == 50
    first = pages[0]
    assert [r.id for r in first.sections[0][1]] == [
        "approve_supplier:2:attention:b:2", "approve_supplier:1:attention:b:2",
        "approve_supplier:4:attention:b:2"]  # the top three suppliers by money at stake
    assert first.rows[3].id == "approve:a49"  # the items by value
    assert first.rows[-1].title == "Ver 44 más"
    assert "50 productos en crítico (4 proveedores" in first.body
    with pytest.raises(ValueError, match="past the end"):
        gathered_list(entries, list_key="k", page=len(pages))


def test_a_short_list_has_no_paging_and_one_item_no_supplier_row() -> None:
    listed = gathered_list(_entries(5, suppliers=1), list_key="k")
    assert len(listed.rows) == 6 and not any(r.id.startswith("more:") for r in listed.rows)
    single = gathered_list(_entries(1), list_key="k")
    assert [r.id for r in single.rows] == ["approve:a0"]
    assert all(len(r.title) <= 24 and len(r.description) <= 72 for r in listed.rows)
    with pytest.raises(ValueError, match="at least one"):
        gathered_list([], list_key="k")
