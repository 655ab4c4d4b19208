"""Dashboard counters: nested dicts of numbers per domain, period and source partition.

A counter record is keyed `domain|period|owner` (e.g. `sales|2026-11-25|p2`) so that exactly
one writer ever writes it: `p<n>` is the worker owning partition n of the source topics,
`w<id>` one worker process (its own per-process counts); readers add them up with `combine`.
Periods are local days (`YYYY-MM-DD`, America/Mexico_City), UTC hours (`YYYY-MM-DDTHH`) for
rolling 24-hour windows, or `-` for a level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

Bucket = dict[str, Any]


def counter_key(domain: str, period: str, owner: str) -> str:
    return f"{domain}|{period}|{owner}"


def partition_owner(partition: int) -> str:
    return f"p{partition}"


def split_key(key: str) -> tuple[str, str, str]:
    domain, period, owner = key.split("|")
    return domain, period, owner


def expired(key: str, cutoff: date) -> bool:
    """True for the counter of a day or hour before `cutoff`; levels (period `-`) never
    expire."""
    _, period, _ = split_key(key)
    return period != "-" and date.fromisoformat(period[:10]) < cutoff


def bump(bucket: Bucket | None, path: tuple[str, ...], amount: float) -> Bucket:
    """A copy of `bucket` with the number at `path` increased by `amount`."""
    out: Bucket = dict(bucket or {})
    node = out
    for step in path[:-1]:
        child = dict(node.get(step) or {})
        node[step] = child
        node = child
    node[path[-1]] = node.get(path[-1], 0) + amount
    return out


def merge(into: Bucket, other: Mapping[str, Any]) -> Bucket:
    """Add `other` into `into` (nested dicts are added key by key)."""
    for name, value in other.items():
        if isinstance(value, Mapping):
            merge(into.setdefault(name, {}), value)
        else:
            into[name] = into.get(name, 0) + value
    return into


def combine(items: Iterable[tuple[str, Bucket]]) -> dict[tuple[str, str], Bucket]:
    """Sum the owners (partitions, workers) of every (domain, period)."""
    out: dict[tuple[str, str], Bucket] = {}
    for key, bucket in items:
        if not bucket:
            continue
        domain, period, _ = split_key(key)
        merge(out.setdefault((domain, period), {}), bucket)
    return out
