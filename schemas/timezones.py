"""The business's time zone: every local day, cron and customer-facing clock time is Mexico
City's. A ZoneInfo, not a fixed offset: Mexico dropped daylight saving in 2022 and may change
its rules again; the tz database follows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

MEXICO_CITY = ZoneInfo("America/Mexico_City")
