"""Decode and validate one CDC record (pure). Bad input raises `BadEvent` with a readable reason.

What a reader gets from `decode_change`:
- a `Change` of one row (op c/r/u/d), its images checked against the table's row model in
  pydantic's strict JSON mode: each value has the JSON type the contract gives it
  (schemas/cdc.py: integers as numbers, decimals as strings or numbers, times as ISO-8601
  strings), so a number where a time belongs is a BadEvent, not a value a later step trips on;
- None for a tombstone;
- for a truncate (op 't', which names no row), what the reader asked for. A reader that keeps
  a table-wide state and clears it asks for it (`truncates=True`) and gets the `Change` with no
  images. Any other reader keeps state per row and cannot apply it: it gets None after a warning
  log, and its rows keep their last state (a Debezium consumer skips a truncate it cannot
  apply the same way). `Change.row` of a truncate raises BadEvent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.cdc import UNAVAILABLE_VALUE, ChangeEvent
from schemas.erp import ROW_MODELS

log = logging.getLogger("topllantas.change_events")


class BadEvent(ValueError):
    """A record that cannot be processed: it belongs in the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class Change:
    table: str
    op: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    lsn: int | None
    commit_ts_ms: int
    snapshot: bool

    @property
    def order_key(self) -> bytes:
        """For a sales order header or line: the key they are joined on, the header's CDC key
        `{"id": N}`. The CDC puts a line in the partition of that key (topics.yaml
        `partition_by`), so an order's header and lines are co-partitioned."""
        row = self.row
        return orjson.dumps({"id": row["id"] if self.table == "sales_orders" else row["order_id"]})

    @property
    def row(self) -> dict[str, Any]:
        row = self.after if self.after is not None else self.before
        if row is None:
            raise BadEvent(f"{self.table} change op {self.op!r} names no row")
        return row


def decode_change(value: bytes | None, expected_table: str | None = None,
                  previous: dict[str, Any] | None = None, *, truncates: bool = False
                  ) -> Change | None:
    """Returns None for a tombstone, and for a truncate unless `truncates` (module docstring);
    raises BadEvent for anything malformed or unknown.

    `previous`: the reader's last image of the row, if it keeps one. An after image with a
    column the server did not send (an unchanged TOAST value, `UNAVAILABLE_VALUE`) takes the
    column's value from it; without one, the event is a BadEvent that says so."""
    if value is None:
        return None
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise BadEvent(f"value is not JSON: {exc}") from None
    try:
        event = ChangeEvent.model_validate(raw)
    except ValidationError as exc:
        raise BadEvent(f"not a change event: {_first_error(exc)}") from None
    table = event.source.table
    model = ROW_MODELS.get(table)
    if model is None:
        raise BadEvent(f"unknown table {event.source.schema_}.{table!r}")
    if expected_table is not None and table != expected_table:
        raise BadEvent(f"event for table {table!r} on the topic of {expected_table!r}")
    if event.op in ("c", "r", "u") and event.after is None:
        raise BadEvent(f"op {event.op!r} without an after image")
    if event.op == "d" and event.before is None:
        raise BadEvent("delete without a before image")
    after = event.after
    if after is not None and UNAVAILABLE_VALUE in after.values():
        after = merge_unavailable(table, after, previous)
    for image in (event.before, after):
        if image is not None:
            try:
                model.model_validate_json(orjson.dumps(image), strict=True)
            except ValidationError as exc:
                raise BadEvent(f"bad {table} row: {_first_error(exc)}") from None
    if event.op == "t" and not truncates:
        log.warning("truncate of %s (lsn %s) skipped by a reader of rows: they keep their last "
                    "state", table, event.source.lsn)
        return None
    return Change(table, event.op, event.before, after, event.source.lsn,
                  event.source.ts_ms, event.source.snapshot != "false")


def merge_unavailable(table: str, image: dict[str, Any], previous: dict[str, Any] | None
                      ) -> dict[str, Any]:
    """`image` with each column the server did not send taken from `previous`; BadEvent when
    there is no earlier value to take."""
    missing = [c for c, v in image.items() if v == UNAVAILABLE_VALUE]
    if previous is None or any(previous.get(c, UNAVAILABLE_VALUE) == UNAVAILABLE_VALUE
                               for c in missing):
        raise BadEvent(
            f"{table} change without the value of {', '.join(missing)}: an unchanged large "
            f"value the server did not send ({UNAVAILABLE_VALUE!r}; the table lacks REPLICA "
            "IDENTITY FULL) and no earlier image of the row to take it from")
    return {**image, **{c: previous[c] for c in missing}}


def _first_error(exc: ValidationError) -> str:
    """The first error, where it is and what was there: `updated_at: Input should be a valid
    datetime (got int 1)`."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    what = f"{where}: {err['msg']}" if where else err["msg"]
    if err["type"].endswith("_type"):  # a value of the wrong JSON type: say which
        got = repr(err["input"])
        what += f" (got {type(err['input']).__name__} {got[:40]}{'…' if len(got) > 40 else ''})"
    return what
