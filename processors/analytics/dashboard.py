"""The status dashboard's numbers, from counters and probe results (pure; JSON-ready output).

Inputs are what the worker knows: `counters` summed over partitions and workers (see
`processors.analytics.counters.combine`), the probe results of this worker, and the scheduled
jobs. Money is MXN as float (display only: exact amounts are on `analytics.sales_enriched`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from processors.analytics.calendar import MX, utc_hour
from processors.analytics.counters import Bucket

ALERT_LEVELS = ("critico", "alto", "medio", "oportunidad", "sin_movimiento", "sobrestock")
TARGET_WEEKS = 4
INSIGHTS_SHOWN = 8


@dataclass(frozen=True)
class Integration:
    """One probed dependency: `up` None = not configured."""

    target: str
    label: str
    up: bool | None
    latency_ms: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    schedule: str
    next_run: datetime | None


def default_sales_target(sales_by_day: Mapping[date, float], today: date) -> float | None:
    """Mean sales of the same weekday over the previous four weeks (days with sales only)."""
    past = [sales_by_day.get(today - timedelta(weeks=w), 0.0) for w in range(1, TARGET_WEEKS + 1)]
    past = [v for v in past if v > 0]
    return round(sum(past) / len(past), 2) if past else None


def summarize(counters: Mapping[tuple[str, str], Bucket], now: datetime, *,
              sales_target: float | None, integrations: Sequence[Integration],
              consumer_lag: Mapping[str, int], dead_letters_24h: Mapping[str, int],
              events_today: Mapping[str, int], jobs: Sequence[Job],
              worker: Mapping[str, Any],
              insights: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`insights`: the newest forecast run's insights (`forecasts.insights`), any order."""
    today = now.astimezone(MX).date()
    day = today.isoformat()

    def bucket(domain: str, period: str = day) -> Bucket:
        return counters.get((domain, period), {})

    messages = bucket("messages")
    open_alerts = bucket("alerts_open", "-")
    return {
        "generated_at": now.astimezone(UTC).isoformat(),
        "local_date": day,
        "worker": dict(worker),
        "executive": {
            "sales": _sales(counters, today, sales_target),
            "stock": {
                "open_by_level": {lvl: int(open_alerts.get(lvl, 0)) for lvl in ALERT_LEVELS},
                "critical": int(open_alerts.get("critico", 0)),
            },
            "deliveries": _deliveries(bucket("deliveries")),
            "agent": {
                "conversations": int(bucket("agent").get("conversations", 0)),
                "sales_closed": int(bucket("agent").get("sales_closed", 0)),
            },
            "forecast": _forecast(insights),
        },
        "alerts_today": {lvl: int(bucket("alerts").get(lvl, 0)) for lvl in ALERT_LEVELS},
        "messages_today": {
            "sent": {k: int(v) for k, v in sorted(messages.get("sent", {}).items())},
            "failed": {k: int(v) for k, v in sorted(messages.get("failed", {}).items())},
        },
        "errors_24h": _errors_24h(counters, now, dead_letters_24h),
        "integrations": [asdict(i) for i in integrations],
        "consumer_lag": [{"topic": t, "lag": n} for t, n in sorted(consumer_lag.items())],
        "events_today": [{"topic": t, "count": n} for t, n in
                         sorted(events_today.items(), key=lambda kv: (-kv[1], kv[0])) if n],
        "jobs": [{"name": j.name, "description": j.description, "schedule": j.schedule,
                  "next_run": j.next_run.astimezone(UTC).isoformat() if j.next_run else None}
                 for j in sorted(jobs, key=lambda j: j.next_run or datetime.max.replace(
                     tzinfo=UTC))],
    }


def _sales(counters: Mapping[tuple[str, str], Bucket], today: date,
           sales_target: float | None) -> dict[str, Any]:
    """Today's revenue, margin and lines against the target (the configured one, or one from
    the kept days' sales), by hour and by branch."""
    sales = counters.get(("sales", today.isoformat()), {})
    sales_by_day = {date.fromisoformat(p): float(b.get("revenue", 0))
                    for (d, p), b in counters.items() if d == "sales"}
    target = sales_target if sales_target is not None else default_sales_target(
        sales_by_day, today)
    revenue = float(sales.get("revenue", 0))
    return {
        "revenue": round(revenue, 2),
        "margin": round(float(sales.get("margin", 0)), 2),
        "lines": int(sales.get("lines", 0)),
        "target": target,
        "progress": round(revenue / target, 4) if target else None,
        "by_hour": [round(float(sales.get("by_hour", {}).get(str(h), 0)), 2)
                    for h in range(24)],
        "by_branch": sorted(
            ({"branch": k, "revenue": round(float(v), 2)}
             for k, v in sales.get("by_branch", {}).items() if v),
            key=lambda r: -r["revenue"]),
    }


def _deliveries(deliveries: Bucket) -> dict[str, Any]:
    judged = deliveries.get("on_time", 0) + deliveries.get("late", 0)
    return {
        "delivered": int(deliveries.get("delivered", 0)),
        "on_time": int(deliveries.get("on_time", 0)),
        "late": int(deliveries.get("late", 0)),
        "failed": int(deliveries.get("failed", 0)),
        "on_time_pct": round(deliveries.get("on_time", 0) / judged, 4) if judged else None,
    }


def _errors_24h(counters: Mapping[tuple[str, str], Bucket], now: datetime,
                dead_letters_24h: Mapping[str, int]) -> dict[str, Any]:
    """The last 24 hours' errors by kind and by UTC hour (oldest first), and dead letters."""
    hours = [utc_hour(now - timedelta(hours=h)) for h in range(23, -1, -1)]
    errors_24h: dict[str, int] = {}
    for h in hours:
        for name, n in counters.get(("errors", h), {}).items():
            errors_24h[name] = errors_24h.get(name, 0) + int(n)
    return {
        "by_kind": errors_24h,
        "by_hour": [sum(counters.get(("errors", h), {}).values()) for h in hours],
        "dead_letters": {t: n for t, n in sorted(dead_letters_24h.items()) if n},
        "dead_letters_total": sum(dead_letters_24h.values()),
    }


def _forecast(insights: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ranked = sorted(insights, key=lambda i: -abs(float(i["score"])))
    counts: dict[str, int] = {}
    for item in insights:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    return {"available": bool(insights), "counts": counts,
            "items": [{k: item.get(k) for k in ("kind", "product", "sku", "branch", "detail",
                                                 "score", "generated_at")}
                      for item in ranked[:INSIGHTS_SHOWN]]}
