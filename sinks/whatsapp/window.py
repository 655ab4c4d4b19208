"""The customer's 24-hour service window: free-form messages only within 24 h of their last one.

The sender reads the window through `CustomerWindow`. `MappingCustomerWindow` keeps the last
inbound time per phone (epoch seconds) in any mutable mapping: a plain dict in tests, a Faust
table in the stream app (persistent through its changelog). Key the table by phone and feed it
from `whatsapp.inbound`, which is keyed by phone too, so it is co-partitioned with
`messages.outbound` (keyed by recipient).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

SERVICE_WINDOW = timedelta(hours=24)


def window_open(last_inbound: datetime | None, now: datetime) -> bool:
    return last_inbound is not None and now - last_inbound < SERVICE_WINDOW


class CustomerWindow(Protocol):
    def last_inbound(self, phone: str) -> datetime | None: ...

    def record_inbound(self, phone: str, at: datetime) -> None: ...


class MappingCustomerWindow:
    """`CustomerWindow` over a mapping of phone -> last inbound epoch seconds."""

    def __init__(self, table: MutableMapping[str, float]) -> None:
        self._table = table

    def last_inbound(self, phone: str) -> datetime | None:
        seen = self._table.get(phone)
        return None if seen is None else datetime.fromtimestamp(seen, UTC)

    def record_inbound(self, phone: str, at: datetime) -> None:
        """Keep the latest time: inbound events may arrive out of order."""
        stamp = at.timestamp()
        if stamp > self._table.get(phone, 0.0):
            self._table[phone] = stamp
