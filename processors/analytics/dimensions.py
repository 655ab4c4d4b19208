"""Dimension rows as versioned, compact records, and the as-of lookup used by the joins.

A dimension is one row of `products`, `brands`, `categories`, `customers` or `warehouses`,
keyed `kind:id` (e.g. `product:17`). Each change becomes a version stamped with its commit LSN
(snapshot rows have no LSN: 0, before every streamed change); the last `MAX_VERSIONS` versions
are kept so a line is joined with the version current at its own commit, even when a newer
version was processed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from processors.change_events import Change

KIND_OF_TABLE = {"products": "product", "brands": "brand", "categories": "category",
                 "customers": "customer", "warehouses": "warehouse"}
KEPT_COLUMNS: dict[str, tuple[str, ...]] = {
    "product": ("sku", "model", "tire_size", "brand_id", "category_id", "supplier_id", "cost",
                "list_price", "abc_class", "active"),
    "brand": ("name", "tier"),
    "category": ("name",),
    "customer": ("name", "tier", "city", "state", "home_warehouse_id"),
    "warehouse": ("code", "name", "city", "state", "is_branch"),
}
MAX_VERSIONS = 8

Version = dict[str, Any]  # {"lsn": int, "ts_ms": int, "attrs": dict | None}, see DimensionVersion


def dimension_key(kind: str, ident: int) -> str:
    return f"{kind}:{ident}"


def version_of(change: Change) -> tuple[str, Version]:
    """The dimension key and version a CDC change of a dimension table carries."""
    kind = KIND_OF_TABLE[change.table]
    row = change.row
    attrs = None if change.op == "d" else {c: row.get(c) for c in KEPT_COLUMNS[kind]}
    return dimension_key(kind, row["id"]), {"lsn": change.lsn or 0,
                                            "ts_ms": change.commit_ts_ms, "attrs": attrs}


def add_version(history: Sequence[Version] | None, version: Version) -> list[Version]:
    """History sorted by LSN with `version` in it; a redelivered version replaces itself."""
    kept = [v for v in history or () if v["lsn"] != version["lsn"]]
    kept.append(version)
    kept.sort(key=lambda v: v["lsn"])
    return kept[-MAX_VERSIONS:]


def as_of(history: Sequence[Version] | None, lsn: int) -> Version | None:
    """The version current at commit `lsn`: the last one with an LSN <= `lsn`.

    When every known version is newer (older ones were pruned), the oldest known stands in.
    None when nothing is known or the row was deleted as of `lsn`: the caller waits.
    """
    if not history:
        return None
    chosen = history[0]
    for version in history:
        if version["lsn"] > lsn:
            break
        chosen = version
    return chosen if chosen["attrs"] is not None else None
