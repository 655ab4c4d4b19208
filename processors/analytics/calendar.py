"""Business time: days and hours in America/Mexico_City (no daylight saving since 2022)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas.timezones import MEXICO_CITY as MX


def parse_utc(value: str | datetime) -> datetime:
    """An ISO-8601 time from a CDC row (or a datetime) as an aware UTC datetime."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def local_day(when: datetime) -> date:
    return when.astimezone(MX).date()


def local_hour(when: datetime) -> int:
    return when.astimezone(MX).hour


def utc_hour(when: datetime) -> str:
    """The UTC hour bucket of `when`, e.g. `2026-11-25T17` (for rolling 24-hour windows)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H")
