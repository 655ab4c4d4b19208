"""Earliest pickup and delivery times, in Mexico City time (branches open Mon-Sat, 9:00-19:00)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays

from processors.routing.delivery_day import REPLAN_CUTOFF
from schemas.timezones import MEXICO_CITY as MX

BRANCH_OPEN = time(9)
BRANCH_CLOSE = time(19)
PICKUP_PREP = timedelta(hours=2)


def is_business_day(day: date) -> bool:
    return day.weekday() != 6 and day not in holidays.country_holidays("MX", years=day.year)


def next_business_day(after: date) -> date:
    day = after + timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def pickup_slot(now: datetime) -> tuple[date, time, time]:
    """Ready two hours after now (or after opening), on the hour, if the branch is still open
    then; otherwise two hours after the next business day's opening."""
    local = now.astimezone(MX)
    day = local.date()
    if is_business_day(day):
        ready = _on_the_hour(max(local, datetime.combine(day, BRANCH_OPEN, MX)) + PICKUP_PREP)
        if ready.date() == day and ready.time() < BRANCH_CLOSE:
            return day, ready.time(), BRANCH_CLOSE
    following = next_business_day(day)
    return following, (datetime.combine(following, BRANCH_OPEN) + PICKUP_PREP).time(), BRANCH_CLOSE


def _on_the_hour(moment: datetime) -> datetime:
    whole = moment.replace(minute=0, second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(hours=1)


def delivery_slot(now: datetime, window_start: time, window_end: time) -> tuple[date, time, time]:
    """Home delivery on the next business day, inside the customer's delivery window."""
    return next_business_day(now.astimezone(MX).date()), window_start, window_end


def reschedule_days(now: datetime, current: date | None, count: int = 3,
                    horizon_days: int = 10) -> list[date]:
    """The next business days a delivery can move to: from tomorrow (today's routes are out
    already; a day is re-planned only until `REPLAN_CUTOFF` that morning), never the day it is
    on now, at most `horizon_days` ahead."""
    local = now.astimezone(MX)
    days: list[date] = []
    day = local.date()
    while len(days) < count and (day - local.date()).days < horizon_days:
        day = next_business_day(day)
        cutoff = datetime.combine(day, REPLAN_CUTOFF, MX)
        if day != current and local < cutoff:
            days.append(day)
    return days


def local_date(moment: datetime) -> date:
    return moment.astimezone(MX).date()
