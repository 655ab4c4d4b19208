"""The attention budget of one buyer: which alert goes out when, on which channel (pure).

Rules (issue 24; defaults in `AttentionConfig`):

- Only items triage routed as critical (processors/inventory/triage.py) may interrupt the buyer;
  everything else waits for the morning digest (`digest_at`, 07:00 Mexico City), which goes by
  WhatsApp and e-mail.
- The first critical goes out at once (`SINGLE`). Further criticals within `gather_window`
  (10 min) of the last message wait and go out together at the window's end as one interactive
  list (`GATHERED`): at most one alert message per window.
- A daily cap (`daily_cap`, 12 WhatsApp messages from alerts a local day, the digest counted
  but never held back): past it, a critical goes by e-mail at once (`EMAIL`) and into the next
  digest. Nothing is dropped.
- The buyer's 24-hour window closed (no message from them for 24 h): the first message is the
  approved template (`OPENER`) that asks them to answer; the items wait behind it and go out as
  one message once the buyer writes (`on_inbound`), or in the next digest.
- Quiet hours (`quiet_start`..`quiet_end`, 21:00–07:00) hold every critical but those of
  A-class products until the digest.
- Go-live: the alerts of an ERP's first evaluation (`on_initial`) are one summary message
  (`GOLIVE`), sent once none came for `golive_quiet`.
- An alert event seen again (a replay after a crash) is not decided twice: the newest event ids
  are remembered (`RECENT_EVENTS`).

`gathered_list` lays a gathered message out as a WhatsApp interactive list: at most 10 rows, a
`Todo <proveedor>` row per top supplier (approve all of that supplier's items in the list),
the items by money at stake, and a `Ver N más` row that pages to the rest.

The state is small (alert ids and supplier ids, a few counters and instants) and serialises to
plain JSON (`to_dict` / `from_dict`), for a table keyed by buyer. Every function returns a new
state and the sends it decided; each send's idempotency key comes from a per-buyer sequence in
the state, so replaying the same inputs on the same state decides the same keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from processors.inventory.alerts import fmt_money


@dataclass(frozen=True, slots=True)
class AttentionConfig:
    """Env names proposed for the settings object: ATTENTION_GATHER_WINDOW_S,
    ATTENTION_DAILY_CAP, ATTENTION_DIGEST_AT, ATTENTION_QUIET_START, ATTENTION_QUIET_END,
    ATTENTION_TIMEZONE."""

    gather_window: timedelta = timedelta(minutes=10)
    daily_cap: int = 12
    digest_at: time = time(7, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    timezone: str = "America/Mexico_City"
    service_window: timedelta = timedelta(hours=24)
    golive_quiet: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        if self.gather_window <= timedelta(0) or self.daily_cap < 1:
            raise ValueError("gather_window must be positive and daily_cap at least 1")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at 07:00

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return at.astimezone(self.tz)

    def quiet(self, at: datetime) -> bool:
        t = self.local(at).time()
        if self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end

    def digest_due(self, day: date) -> datetime:
        return datetime.combine(day, self.digest_at, self.tz)


@dataclass(frozen=True, slots=True)
class Item:
    """What the budget needs of an alert: its id, supplier, triage verdict and class."""

    alert_id: str
    supplier_id: int
    critical: bool
    a_class: bool = False

    def to_list(self) -> list[Any]:
        return [self.alert_id, self.supplier_id, int(self.critical), int(self.a_class)]

    @classmethod
    def from_list(cls, v: list[Any]) -> Item:
        return cls(str(v[0]), int(v[1]), bool(v[2]), bool(v[3]))


class SendKind(StrEnum):
    SINGLE = "single"
    """One critical, at once (WhatsApp)."""
    GATHERED = "gathered"
    """The criticals of a gathering window as one interactive list (WhatsApp)."""
    OPENER = "opener"
    """The approved template that opens a closed 24-hour window (WhatsApp)."""
    DIGEST = "digest"
    """The morning digest (WhatsApp and e-mail)."""
    EMAIL = "email"
    """Criticals past the daily cap, by e-mail at once (they are in the next digest too)."""
    GOLIVE = "golive"
    """The go-live summary of the first evaluation (WhatsApp, and its e-mail)."""


@dataclass(frozen=True, slots=True)
class Send:
    kind: SendKind
    items: tuple[Item, ...]
    key: str
    at_once: bool = False
    """Sent as its item came (a window's first critical), not held until a window's end or the
    buyer's reply."""

    @property
    def whatsapp(self) -> bool:
        return self.kind != SendKind.EMAIL

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(i.alert_id for i in self.items)


@dataclass(frozen=True, slots=True)
class BuyerAttention:
    buyer: str
    day: date | None = None
    sent_today: int = 0
    seq: int = 0
    last_sent_at: datetime | None = None
    last_inbound: datetime | None = None
    gathering: tuple[Item, ...] = ()
    gather_until: datetime | None = None
    awaiting_reply: tuple[Item, ...] = ()
    digest: tuple[Item, ...] = ()
    digest_day: date | None = None
    recent: tuple[str, ...] = ()
    """The newest alert event ids decided (at most RECENT_EVENTS)."""
    golive_at: datetime | None = None
    """When the newest alert of a first evaluation came; None: no go-live summary pending."""
    epoch: str = ""
    """When the state began (epoch seconds): part of every key, so a state begun again (a
    broker that forgot its tables) never reuses the keys the sinks already sent."""

    def known(self, alert_id: str) -> bool:
        return any(i.alert_id == alert_id
                   for i in (*self.gathering, *self.awaiting_reply, *self.digest))

    def window_open(self, now: datetime, config: AttentionConfig) -> bool:
        return self.last_inbound is not None and now - self.last_inbound < config.service_window

    def to_dict(self) -> dict[str, Any]:
        return {"b": self.buyer, "d": _iso(self.day), "n": self.sent_today, "s": self.seq,
                "ls": _iso(self.last_sent_at), "li": _iso(self.last_inbound),
                "g": [i.to_list() for i in self.gathering], "gu": _iso(self.gather_until),
                "a": [i.to_list() for i in self.awaiting_reply],
                "q": [i.to_list() for i in self.digest], "dd": _iso(self.digest_day),
                "r": list(self.recent), "gl": _iso(self.golive_at), "e": self.epoch}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuyerAttention:
        return cls(buyer=d["b"], day=_day(d["d"]), sent_today=d["n"], seq=d["s"],
                   last_sent_at=_instant(d["ls"]), last_inbound=_instant(d["li"]),
                   gathering=tuple(Item.from_list(v) for v in d["g"]),
                   gather_until=_instant(d["gu"]),
                   awaiting_reply=tuple(Item.from_list(v) for v in d["a"]),
                   digest=tuple(Item.from_list(v) for v in d["q"]), digest_day=_day(d["dd"]),
                   recent=tuple(d.get("r", ())), golive_at=_instant(d.get("gl")),
                   epoch=d.get("e", ""))


Decision = tuple[BuyerAttention, list[Send]]
RECENT_EVENTS = 64


def new_state(buyer: str, now: datetime, config: AttentionConfig) -> BuyerAttention:
    """A buyer seen for the first time: the next digest is the next 07:00, not one at once."""
    today = config.local(now).date()
    due_today = now >= config.digest_due(today)
    return BuyerAttention(buyer=buyer, day=today, epoch=str(int(now.timestamp())),
                          digest_day=today if due_today else today - timedelta(days=1))


def on_item(state: BuyerAttention, item: Item, now: datetime,
            config: AttentionConfig, *, event_id: str | None = None) -> Decision:
    """An alert for this buyer, as triage routed it. `event_id` (the alert event's id) makes a
    replayed event a no-op."""
    state = _roll_day(state, now, config)
    if state.known(item.alert_id) or (event_id is not None and event_id in state.recent):
        return state, []
    if event_id is not None:
        state = replace(state, recent=(*state.recent, event_id)[-RECENT_EVENTS:])
    if not item.critical or (config.quiet(now) and not item.a_class):
        return replace(state, digest=(*state.digest, item)), []
    if state.sent_today >= config.daily_cap:
        return _past_cap(state, (item,))
    if not state.window_open(now, config):
        return _behind_opener(state, (item,), now)
    free = state.last_sent_at is None or now - state.last_sent_at >= config.gather_window
    if free and not state.gathering:
        state, send = _send(state, SendKind.SINGLE, (item,), now)
        return state, [replace(send, at_once=True)]
    anchor = state.last_sent_at or now
    return replace(state, gathering=(*state.gathering, item),
                   gather_until=state.gather_until or anchor + config.gather_window), []


def on_inbound(state: BuyerAttention, at: datetime, config: AttentionConfig) -> Decision:
    """The buyer wrote: the 24-hour window is open; what waited behind the opener goes out."""
    state = _roll_day(replace(state, last_inbound=at), at, config)
    if not state.awaiting_reply:
        return state, []
    waiting = state.awaiting_reply
    state = replace(state, awaiting_reply=())
    kind = SendKind.SINGLE if len(waiting) == 1 else SendKind.GATHERED
    state, send = _send(state, kind, waiting, at)  # the buyer asked: not held by the cap
    return state, [send]


def on_initial(state: BuyerAttention, at: datetime) -> BuyerAttention:
    """An alert of the first evaluation: it joins the go-live summary, due `golive_quiet`
    after the newest one."""
    return replace(state, golive_at=max(at, state.golive_at or at))


def digest_sent(state: BuyerAttention, now: datetime, config: AttentionConfig
                ) -> BuyerAttention:
    """The morning digest went out by another way (the 07:00 crontab): what it carried is
    said, and its WhatsApp message counts toward the day's cap (once a day: the digest's key is
    per buyer and day, so the sink sends one whichever way it went)."""
    state = _roll_day(state, now, config)
    today = config.local(now).date()
    counted = 0 if state.digest_day == today else 1
    return replace(state, digest=(), awaiting_reply=(), digest_day=today,
                   sent_today=state.sent_today + counted)


def withdraw(state: BuyerAttention, alert_id: str) -> BuyerAttention:
    """An alert resolved before it went out: nothing to say about it any more."""
    def keep(items: tuple[Item, ...]) -> tuple[Item, ...]:
        return tuple(i for i in items if i.alert_id != alert_id)

    gathering = keep(state.gathering)
    return replace(state, gathering=gathering, awaiting_reply=keep(state.awaiting_reply),
                   digest=keep(state.digest),
                   gather_until=state.gather_until if gathering else None)


def tick(state: BuyerAttention, now: datetime, config: AttentionConfig) -> Decision:
    """The clock: the go-live summary, a gathering window that ended, the morning digest
    that is due."""
    state = _roll_day(state, now, config)
    sends: list[Send] = []
    if state.golive_at is not None and now >= state.golive_at + config.golive_quiet:
        state, send = _send(replace(state, golive_at=None), SendKind.GOLIVE, (), now)
        sends.append(send)
    if state.gathering and state.gather_until is not None and now >= state.gather_until:
        items = state.gathering
        state = replace(state, gathering=(), gather_until=None)
        if state.sent_today >= config.daily_cap:
            state, more = _past_cap(state, items)
        elif not state.window_open(now, config):
            state, more = _behind_opener(state, items, now)
        else:
            kind = SendKind.SINGLE if len(items) == 1 else SendKind.GATHERED
            state, one = _send(state, kind, items, now)
            more = [one]
        sends.extend(more)
    today = config.local(now).date()
    if state.digest_day != today and now >= config.digest_due(today):
        items = (*state.digest, *state.awaiting_reply)
        state = replace(state, digest=(), awaiting_reply=(), digest_day=today)
        if items:
            state, send = _send(state, SendKind.DIGEST, items, now)
            sends.append(send)
    return state, sends


def next_wakeup(state: BuyerAttention, now: datetime, config: AttentionConfig) -> datetime:
    """When `tick` has something to do next: the go-live summary, a gathering window's end or
    the next digest."""
    today = config.local(now).date()
    digest = config.digest_due(today if state.digest_day != today else today + timedelta(1))
    due = [digest]
    if state.gather_until is not None:
        due.append(state.gather_until)
    if state.golive_at is not None:
        due.append(state.golive_at + config.golive_quiet)
    return min(due)


LIST_ROWS = 10  # WhatsApp's limit for an interactive list
ROW_TITLE, ROW_DESCRIPTION, SECTION_TITLE = 24, 72, 24


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One critical item as the list shows it; `value` is what its proposal would spend."""

    alert_id: str
    supplier_id: int
    supplier_name: str
    title: str
    detail: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ListPage:
    body: str
    button: str
    sections: tuple[tuple[str, tuple[ListRow, ...]], ...]

    @property
    def rows(self) -> tuple[ListRow, ...]:
        return tuple(r for _, rows in self.sections for r in rows)

    def interactive(self) -> dict[str, Any]:
        """The Cloud API's `interactive` object of a list message."""
        return {"type": "list", "body": {"text": self.body}, "action": {
            "button": self.button, "sections": [
                {"title": title, "rows": [
                    {"id": r.id, "title": r.title, **({"description": r.description}
                                                      if r.description else {})}
                    for r in rows]} for title, rows in self.sections]}}


def gathered_list(entries: Sequence[ListEntry], *, list_key: str, page: int = 0,
                  suppliers_shown: int = 3) -> ListPage:
    """Page `page` of the gathered list (module docstring); raises for a page past the end.

    Row ids: `approve_supplier:<supplier_id>:<list_key>`, `approve:<alert_id>`,
    `more:<list_key>:<next page>`.
    """
    if not entries:
        raise ValueError("a gathered list needs at least one item")
    ranked = sorted(entries, key=lambda e: (-e.value, e.alert_id))
    totals: dict[int, tuple[str, int, Decimal]] = {}
    for e in ranked:
        name, n, total = totals.get(e.supplier_id, (e.supplier_name, 0, Decimal(0)))
        totals[e.supplier_id] = (name, n + 1, total + e.value)
    top = sorted(totals.items(), key=lambda kv: (-kv[1][2], kv[0]))[:suppliers_shown]
    supplier_rows = tuple(
        ListRow(f"approve_supplier:{sid}:{list_key}", _cut(f"Todo {name}", ROW_TITLE),
                _cut(f"{n} producto{'s' if n != 1 else ''} · {fmt_money(total)}",
                     ROW_DESCRIPTION))
        for sid, (name, n, total) in top) if len(ranked) > 1 else ()
    start, capacity = 0, LIST_ROWS - len(supplier_rows)
    for _ in range(page):
        start += capacity - 1  # every page before this one ended with a `Ver más` row
        capacity = LIST_ROWS
    if start >= len(ranked):
        raise ValueError(f"page {page} is past the end of the list")
    rest = len(ranked) - start
    shown = ranked[start:start + (capacity if rest <= capacity else capacity - 1)]
    rows = tuple(ListRow(f"approve:{e.alert_id}", _cut(e.title, ROW_TITLE),
                         _cut(f"{e.supplier_name} · {e.detail}", ROW_DESCRIPTION))
                 for e in shown)
    left = rest - len(shown)
    if left:
        rows += (ListRow(f"more:{list_key}:{page + 1}", _cut(f"Ver {left} más", ROW_TITLE),
                         "Los siguientes productos en crítico"),)
    sections = ((("Aprobar por proveedor", supplier_rows),) if page == 0 and supplier_rows
                else ()) + (("Productos", rows),)
    total = sum((e.value for e in ranked), Decimal(0))
    body = (f"🔴 {len(ranked)} producto{'s' if len(ranked) != 1 else ''} en crítico "
            f"({len(totals)} proveedor{'es' if len(totals) != 1 else ''}, {fmt_money(total)} "
            "por pedir). Toca un producto para aprobar su pedido, o «Todo» de un proveedor "
            "para aprobar los suyos.")
    return ListPage(body=body, button="Ver productos", sections=sections)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _send(state: BuyerAttention, kind: SendKind, items: tuple[Item, ...], now: datetime
          ) -> tuple[BuyerAttention, Send]:
    """A WhatsApp message: counted for the day; an alert message also starts a window."""
    seq = state.seq + 1
    send = Send(kind, items, _key(state, seq, kind))
    stamp = state.last_sent_at if kind in (SendKind.DIGEST, SendKind.GOLIVE) else now
    return replace(state, seq=seq, sent_today=state.sent_today + 1, last_sent_at=stamp), send


def _key(state: BuyerAttention, seq: int, kind: SendKind) -> str:
    epoch = f"{state.epoch}-" if state.epoch else ""
    return f"attention:{state.buyer}:{epoch}{seq}:{kind.value}"


def _behind_opener(state: BuyerAttention, items: tuple[Item, ...], now: datetime) -> Decision:
    """The 24-hour window is closed: items wait for the buyer's answer; the first of them
    sends the opener template, the rest join silently."""
    waiting = (*state.awaiting_reply, *items)
    if state.awaiting_reply:
        return replace(state, awaiting_reply=waiting), []
    state, send = _send(replace(state, awaiting_reply=waiting), SendKind.OPENER, items, now)
    return state, [send]


def _past_cap(state: BuyerAttention, items: tuple[Item, ...]) -> Decision:
    seq = state.seq + 1
    send = Send(SendKind.EMAIL, items, _key(state, seq, SendKind.EMAIL))
    return replace(state, seq=seq, digest=(*state.digest, *items)), [send]


def _roll_day(state: BuyerAttention, now: datetime, config: AttentionConfig) -> BuyerAttention:
    today = config.local(now).date()
    if state.day == today:
        return state
    return replace(state, day=today, sent_today=0)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None

