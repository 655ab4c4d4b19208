"""Issue 27, defect 1: every value PostgreSQL can store is published faithfully (Debezium's
conventions), and a change with a value no converter can read is dead-lettered, never stops CDC."""

from __future__ import annotations

import struct
from collections import Counter

import orjson
import psycopg2
import psycopg2.errors
import pytest

from schemas.cdc import UNAVAILABLE_VALUE
from schemas.settings import Settings
from schemas.topics import load_catalogue
from sources.cdc.capture import CdcSource
from sources.cdc.envelope import EnvelopeBuilder
from sources.cdc.pgoutput import Begin, Change, Commit, PgOutputDecoder, convert
from sources.cdc.replication import connection_lost
from sources.cdc.snapshot import row_as_far_as_readable
from transport.dlq import DeadLetter

TIMESTAMPTZ, TIMESTAMP, DATE, FLOAT8, INT4 = 1184, 1114, 1082, 701, 23


@pytest.mark.parametrize(("oid", "text", "published"), [
    (TIMESTAMPTZ, "2026-11-25 03:12:45.12+00", "2026-11-25T03:12:45.12Z"),
    (TIMESTAMPTZ, "infinity", "infinity"),
    (TIMESTAMPTZ, "-infinity", "-infinity"),
    (TIMESTAMPTZ, "0044-03-15 12:00:00+00 BC", "-0043-03-15T12:00:00Z"),
    (TIMESTAMPTZ, "0001-01-01 00:00:00+00 BC", "0000-01-01T00:00:00Z"),
    (TIMESTAMPTZ, "12345-01-01 00:00:00+00", "+12345-01-01T00:00:00Z"),
    (TIMESTAMPTZ, "294276-12-31 23:59:59.999999+00", "+294276-12-31T23:59:59.999999Z"),
    (TIMESTAMPTZ, "2026-11-25 03:12:45+05:30", "2026-11-24T21:42:45Z"),
    (TIMESTAMP, "2026-11-25 03:12:45.5", "2026-11-25T03:12:45.5Z"),
    (TIMESTAMP, "12345-01-01 00:00:00", "+12345-01-01T00:00:00Z"),
    (TIMESTAMP, "4713-01-01 00:00:00 BC", "-4712-01-01T00:00:00Z"),
    (TIMESTAMP, "infinity", "infinity"),
    (DATE, "2026-11-25", "2026-11-25"),
    (DATE, "-infinity", "-infinity"),
    (DATE, "0044-03-15 BC", "-0043-03-15"),
    (DATE, "5874897-12-31", "+5874897-12-31"),
    (FLOAT8, "NaN", "NaN"),
    (FLOAT8, "Infinity", "Infinity"),
    (FLOAT8, "-Infinity", "-Infinity"),
    (FLOAT8, "-1.5e-07", -1.5e-07),
])
def test_defect1_odd_values_are_published_as_debezium_does(oid: int, text: str,
                                                           published: object) -> None:
    value = convert(oid, text)
    assert value == published
    assert orjson.loads(orjson.dumps(value)) == published  # survives JSON (NaN is no null)


def _relation(rel_id: int, table: str, columns: list[tuple[str, int]]) -> bytes:
    body = b"".join(bytes([1 if name == "id" else 0]) + name.encode() + b"\0"
                    + struct.pack("!ii", oid, -1) for name, oid in columns)
    return (b"R" + struct.pack("!i", rel_id) + b"public\0" + table.encode() + b"\0f"
            + struct.pack("!h", len(columns)) + body)


def _insert(rel_id: int, values: list[str]) -> bytes:
    cells = b"".join(b"t" + struct.pack("!i", len(v.encode())) + v.encode() for v in values)
    return b"I" + struct.pack("!i", rel_id) + b"N" + struct.pack("!h", len(values)) + cells


class Writer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, list | None]] = []

    def produce(self, topic: str, key: bytes | None, value: bytes | None,
                partition: int | None = None, headers: list | None = None) -> None:
        self.records.append((topic, key, value, headers))


def test_defect1_an_unreadable_value_is_dead_lettered_and_the_next_change_published() -> None:
    """A value no converter reads (here a timestamp under a DateStyle the decoder does not
    know) is kept as PostgreSQL's text and its change goes to the table's dead-letter topic."""
    decoder = PgOutputDecoder()
    decoder.decode(_relation(7, "brands", [("id", INT4), ("name", 25), ("tier", 25),
                                           ("created", TIMESTAMPTZ)]))
    bad = decoder.decode(_insert(7, ["5", "Marca", "media", "25/11/2026 03:12 CST"]))
    good = decoder.decode(_insert(7, ["6", "Otra", "media", "2026-11-25 03:12:45+00"]))
    assert isinstance(bad, Change) and isinstance(good, Change) and good.error is None
    assert bad.error is not None and "'created'" in bad.error
    assert bad.after is not None and bad.after["created"] == "25/11/2026 03:12 CST"

    source = CdcSource(Settings())
    writer = Writer()
    builder = EnvelopeBuilder(load_catalogue(), "erp")
    n = source._emit([bad, good], Begin(1, 0, 9), Commit(10, 11, 0), builder,
                     writer, Counter())  # type: ignore[arg-type]
    assert n == 1 and source.stats.dead_letters == 1
    (dlq_topic, dlq_key, dlq_value, headers), (topic, key, value, _) = writer.records
    assert topic == "erp.public.brands" and key == b'{"id":6}'
    assert orjson.loads(value or b"")["after"]["created"] == "2026-11-25T03:12:45Z"
    letter = DeadLetter.from_record(headers, dlq_key, dlq_value)
    assert dlq_topic == "erp.public.brands.dlq" and dlq_key == b'{"id":5}'
    assert letter.source_topic == "erp.public.brands" and letter.stage == "cdc"
    assert "created" in letter.error and "25/11/2026 03:12 CST" in letter.error
    assert orjson.loads(dlq_value or b"")["after"]["name"] == "Marca"


def _update(rel_id: int, old: bytes, old_values: list[str | None],
            new_values: list[str | None]) -> bytes:
    """An Update message; `old` b"O" (whole old row), b"K" (its key) or b"" (none)."""
    def cells(values: list[str | None]) -> bytes:
        out = struct.pack("!h", len(values))
        for v in values:  # None: an unchanged TOAST value ('u')
            out += b"u" if v is None else b"t" + struct.pack("!i", len(v)) + v.encode()
        return out
    old_tuple = old + cells(old_values) if old else b""
    return b"U" + struct.pack("!i", rel_id) + old_tuple + b"N" + cells(new_values)


def test_defect5_unchanged_toast_values_are_merged_from_the_old_row_or_marked_unavailable(
        ) -> None:
    decoder = PgOutputDecoder()
    decoder.decode(_relation(8, "brands", [("id", INT4), ("name", 25), ("tier", 25)]))
    full = decoder.decode(_update(8, b"O", ["5", "x" * 3000, "media"], ["5", None, "premium"]))
    assert isinstance(full, Change)
    assert full.after == {"id": 5, "name": "x" * 3000, "tier": "premium"}
    # REPLICA IDENTITY DEFAULT: no old row, or only its key: the value was not sent
    for old, old_values in ((b"", []), (b"K", ["6", "", ""])):
        change = decoder.decode(_update(8, old, old_values, ["5", None, "premium"]))
        assert isinstance(change, Change) and change.after is not None
        assert change.after == {"id": 5, "name": UNAVAILABLE_VALUE, "tier": "premium"}


def test_defect8_connection_errors_resume_request_errors_stop() -> None:
    assert connection_lost(psycopg2.DatabaseError("no COPY in progress"))
    assert connection_lost(psycopg2.errors.AdminShutdown("terminating connection"))
    assert connection_lost(psycopg2.InterfaceError("connection already closed"))
    assert not connection_lost(psycopg2.errors.UndefinedObject("slot does not exist"))


def test_defect1_a_snapshot_row_with_an_unreadable_value_keeps_its_text_and_says_why() -> None:
    row, error = row_as_far_as_readable([("id", INT4), ("at", TIMESTAMPTZ)],
                                         ("7", "25/11/2026 03:12 CST"))
    assert row == {"id": 7, "at": "25/11/2026 03:12 CST"}
    assert error.startswith("column 'at' value '25/11/2026 03:12 CST'")
