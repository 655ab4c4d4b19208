"""The flows a worker can run, and which `streams/` modules (agents, tables, timers) make each.

`topllantas worker` runs every flow in one process (the Faust app `FAUST_APP_ID`). A deployment
that wants one flow not to slow another (the sales agent's replies behind a burst of ERP
history, say) runs a worker per flow group, `topllantas worker --flows stock`: each group is its
own Faust app, `<FAUST_APP_ID>-<flows>`, so its own consumer group and tables, and scales out
with more workers of the same group. Flows meet only through topics, never through memory.
"""

from __future__ import annotations

FLOWS: dict[str, tuple[str, ...]] = {
    "stock": ("inventory", "demand", "stock_alerts", "buyer_loop"),
    "agent": ("sales_agent",),
    "sinks": ("sink_agents",),
    "forecasts": ("forecasting",),
    "routes": ("routing",),
    "analytics": ("analytics", "dashboard"),
}


class UnknownFlow(ValueError):
    """A flow name that streams/flows.py does not know."""


def parse_flows(spec: str) -> list[str]:
    """The flows of `spec` ("all" or "stock,agent") in FLOWS order, without repeats."""
    names = {name.strip() for name in spec.split(",") if name.strip()}
    if not names or names == {"all"}:
        return list(FLOWS)
    unknown = sorted(names - set(FLOWS))
    if unknown:
        raise UnknownFlow(f"unknown flow(s) {', '.join(unknown)}; known: all, {', '.join(FLOWS)}")
    return [name for name in FLOWS if name in names]


def app_id(base: str, flows: list[str]) -> str:
    """Every flow: `base` (as before flows existed); a subset: `base-flow1-flow2`."""
    return base if flows == list(FLOWS) else "-".join([base, *flows])


def modules(flows: list[str]) -> list[str]:
    return [f"streams.{module}" for flow in flows for module in FLOWS[flow]]
