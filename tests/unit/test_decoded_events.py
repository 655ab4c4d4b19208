"""`decoded` and `decoded_events`, the decode-or-dead-letter step every agent opens with: a
record that decodes is handed on with its value; a CDC truncate a reader of rows cannot apply
and a tombstone are skipped; a malformed record goes to the dead letters with `decode`'s reason
and is not handed on (the broker itself: tests/integration/test_agent_errors.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import orjson

from processors.change_events import decode_change
from streams.dead_letters import decoded_events

SOURCE = {"ts_ms": 0, "db": "erp", "schema": "public", "table": "stock", "lsn": 1}
STOCK = {"product_id": 1, "warehouse_id": 2, "on_hand": 5, "updated_at": "2026-11-24T17:45:00Z"}
GOOD = orjson.dumps({"op": "c", "ts_ms": 0, "source": SOURCE, "after": STOCK})
TRUNCATE = orjson.dumps({"op": "t", "ts_ms": 0, "source": SOURCE})
NUMERIC_TIME = orjson.dumps({"op": "c", "ts_ms": 0, "source": SOURCE,
                             "after": {**STOCK, "updated_at": 1}})


class Recorder:
    """Stands in for the app: keeps what `dead_letter` was given."""

    def __init__(self) -> None:
        self.dead: list[tuple[int, str, str]] = []

    async def dead_letter(self, event: Any, error: BaseException, stage: str) -> None:
        self.dead.append((event.message.offset, str(error), stage))


class Stream:
    def __init__(self, app: Recorder, values: list[bytes | None]) -> None:
        self.records = [SimpleNamespace(app=app, value=value, message=SimpleNamespace(
            topic="erp.public.stock", partition=0, offset=i)) for i, value in enumerate(values)]

    async def events(self) -> AsyncIterator[Any]:
        for record in self.records:
            yield record


def _run(values: list[bytes | None], **kwargs: Any) -> tuple[list[tuple[int, Any]], Recorder]:
    app = Recorder()

    async def collect() -> list[tuple[int, Any]]:
        return [(event.message.offset, change) async for event, change in decoded_events(
            Stream(app, values), "inventory", decode_change, "stock", **kwargs)]

    return asyncio.run(collect()), app


def test_only_decoded_records_are_handed_on_and_a_bad_one_is_dead_lettered_with_its_reason(
        ) -> None:
    handed, app = _run([GOOD, None, TRUNCATE, b"{roto", NUMERIC_TIME, GOOD])
    assert [offset for offset, _ in handed] == [0, 5]
    assert all(change.row["on_hand"] == 5 for _, change in handed)
    assert [(offset, stage) for offset, _, stage in app.dead] == [(3, "inventory"),
                                                                   (4, "inventory")]
    assert "not JSON" in app.dead[0][1]
    assert app.dead[1][1] == ("bad stock row: updated_at: Input should be a valid datetime "
                              "(got int 1)")


def test_a_reader_that_asks_for_truncates_gets_them() -> None:
    handed, app = _run([TRUNCATE], truncates=True)
    assert [(offset, change.op) for offset, change in handed] == [(0, "t")] and not app.dead
