"""Decoder for PostgreSQL's `pgoutput` logical replication protocol, version 1.

Input: the payload of each XLogData message of a replication stream
(sources/cdc/replication.py). Output: typed messages. Column values arrive as text and are
converted by type OID following the change-event contract (decimals as strings, timestamps as
ISO-8601 UTC). The session TimeZone must be UTC.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.cdc import UNAVAILABLE_VALUE

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_EPOCH_MS = int(PG_EPOCH.timestamp() * 1000)

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_BEGIN = struct.Struct("!qqi")
_COMMIT = struct.Struct("!bqqq")


# An unchanged TOAST value the server did not send (a table without REPLICA IDENTITY FULL)
UNAVAILABLE = UNAVAILABLE_VALUE


class DecodeError(ValueError):
    """A pgoutput message this decoder cannot read."""


@dataclass(slots=True)
class Column:
    name: str
    type_oid: int
    key: bool


@dataclass(slots=True)
class Relation:
    rel_id: int
    schema: str
    table: str
    replica_identity: str
    columns: list[Column]
    # (name, converter or None) per column, looked up once per relation, not once per value
    readers: list[tuple[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.readers = [(c.name, CONVERTERS.get(c.type_oid)) for c in self.columns]


@dataclass(slots=True)
class Begin:
    final_lsn: int
    commit_ts_ms: int
    xid: int


@dataclass(slots=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_ts_ms: int


@dataclass(slots=True)
class Change:
    op: str  # c, u, d
    relation: Relation
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # why a value could not be converted (it is then kept as PostgreSQL's text): the change
    # belongs in the table's dead-letter topic, not on its topic
    error: str | None = None


@dataclass(slots=True)
class Truncate:
    relations: list[Relation]


def _ts_ms(micros: int) -> int:
    return PG_EPOCH_MS + micros // 1000


def _iso_year(year: int) -> str:
    """ISO-8601 years, as Java's ISO formatters (Debezium) write them: 4 digits, a sign beyond
    9999, astronomical numbering before year 1 (1 BC is 0000, 44 BC is -0043)."""
    if 0 <= year <= 9999:
        return f"{year:04d}"
    return f"+{year}" if year > 0 else f"-{-year:04d}"


def _iso_date(text: str) -> str:
    """PostgreSQL's ISO date output ('2026-11-25', '12345-01-01', '0044-03-15 BC') as ISO-8601
    ('+12345-01-01', '-0043-03-15')."""
    bc = text.endswith(" BC")
    if bc:
        text = text[:-3]
    year, _, month_day = text.partition("-")
    return f"{_iso_year(1 - int(year) if bc else int(year))}-{month_day}"


def timestamp_to_iso(text: str) -> str:
    """Any `timestamp`/`timestamptz` output under DateStyle ISO and TimeZone UTC as ISO-8601 UTC,
    Debezium's way: '2026-11-25 03:12:45.12+00' -> '2026-11-25T03:12:45.12Z'; 'infinity' and
    '-infinity' unchanged; years beyond 9999 or BC with a sign ('+12345-01-01T00:00:00Z',
    '-0043-03-15T12:00:00Z'). A timestamp without time zone is read as UTC."""
    if text in ("infinity", "-infinity"):
        return text
    bc = text.endswith(" BC")
    if bc:
        text = text[:-3]
    day, _, clock = text.partition(" ")
    match = _OFFSET.search(clock)
    offset = match.group(0) if match else ""
    clock = clock[:len(clock) - len(offset)]
    if bc:
        day += " BC"
    if offset in ("", "+00", "+00:00"):
        return f"{_iso_date(day)}T{clock}Z"
    if not bc and len(day) == 10:  # another session TimeZone: convert to UTC
        stamp = datetime.fromisoformat(f"{day}T{clock}{offset}").astimezone(UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    hours, _, minutes = offset.partition(":")  # out of datetime's range: keep the offset
    return f"{_iso_date(day)}T{clock}{hours}:{minutes or '00'}"


_OFFSET = re.compile(r"[+-]\d\d(:\d\d(:\d\d)?)?$")


def _bool(t: str) -> bool:
    """pgoutput sends 't'/'f'; a `::text` cast (snapshot) gives 'true'/'false'."""
    return t in ("t", "true")


def _tstz(t: str) -> str:
    if t[4:5] == "-" and t[-3:] == "+00":  # the common case: years 1-9999, TimeZone UTC
        return f"{t[:10]}T{t[11:-3]}Z"
    return timestamp_to_iso(t)


def _ts(t: str) -> str:
    if t[4:5] == "-" and t[-1].isdigit():  # the common case: years 1-9999
        return f"{t[:10]}T{t[11:]}Z"
    return timestamp_to_iso(t)


def _date(t: str) -> str:
    return t if len(t) == 10 or t[-1] == "y" else _iso_date(t)  # 'infinity' stays


def _float(t: str) -> float | str:
    """NaN and infinities as the strings 'NaN', 'Infinity', '-Infinity' (JSON has no such
    numbers: Debezium's JsonConverter writes these strings too)."""
    return float(t) if t[-1].isdigit() else t


CONVERTERS: dict[int, Any] = {
    16: _bool, 20: int, 21: int, 23: int, 26: int, 700: _float, 701: _float,
    1082: _date, 1114: _ts, 1184: _tstz,
}


def convert(type_oid: int, text: str) -> Any:
    fn = CONVERTERS.get(type_oid)
    return fn(text) if fn else text


class PgOutputDecoder:
    """Stateful decoder: remembers Relation messages across calls."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self.problems: list[str] = []  # values of the current message no converter could read
        self.unchanged = False  # the last tuple read had an unchanged TOAST value

    def decode(self, data: bytes) -> Begin | Commit | Change | Truncate | Relation | None:
        kind = data[0:1]
        if kind == b"I":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            if data[5:6] != b"N":
                raise DecodeError("insert without new tuple")
            after, _ = self._tuple(data, 6, rel)
            return self._change("c", rel, None, after)
        if kind == b"U":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            pos, before, old = 5, None, data[5:6]
            if old in (b"K", b"O"):
                before, pos = self._tuple(data, pos + 1, rel)
            if data[pos:pos + 1] != b"N":
                raise DecodeError("update without new tuple")
            self.unchanged = False
            after, _ = self._tuple(data, pos + 1, rel)
            if self.unchanged and old == b"O":  # the whole old row holds the TOAST values
                assert before is not None
                for name, value in after.items():
                    if value is UNAVAILABLE:
                        after[name] = before[name]
            return self._change("u", rel, before, after)
        if kind == b"D":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            if data[5:6] not in (b"K", b"O"):
                raise DecodeError("delete without old tuple")
            before, _ = self._tuple(data, 6, rel)
            return self._change("d", rel, before, None)
        if kind == b"B":
            final_lsn, ts, xid = _BEGIN.unpack_from(data, 1)
            return Begin(final_lsn, _ts_ms(ts), xid)
        if kind == b"C":
            _flags, commit_lsn, end_lsn, ts = _COMMIT.unpack_from(data, 1)
            return Commit(commit_lsn, end_lsn, _ts_ms(ts))
        if kind == b"R":
            return self._read_relation(data)
        if kind == b"T":
            (n,) = _I32.unpack_from(data, 1)
            ids = struct.unpack_from(f"!{n}i", data, 6)
            return Truncate([self._relation(i) for i in ids])
        if kind in (b"Y", b"O", b"M"):
            return None  # type, origin and logical messages carry nothing we publish
        raise DecodeError(f"unknown pgoutput message {kind!r}")

    def _change(self, op: str, rel: Relation, before: dict[str, Any] | None,
                after: dict[str, Any] | None) -> Change:
        if not self.problems:
            return Change(op, rel, before, after)
        error = "; ".join(self.problems)
        self.problems = []
        return Change(op, rel, before, after, error)

    def _relation(self, rel_id: int) -> Relation:
        try:
            return self.relations[rel_id]
        except KeyError:
            raise DecodeError(f"change for unknown relation id {rel_id}") from None

    def _read_relation(self, data: bytes) -> Relation:
        (rel_id,) = _I32.unpack_from(data, 1)
        pos = 5
        schema, pos = _cstring(data, pos)
        table, pos = _cstring(data, pos)
        identity = chr(data[pos])
        (ncols,) = _I16.unpack_from(data, pos + 1)
        pos += 3
        columns = []
        for _ in range(ncols):
            flags = data[pos]
            name, pos = _cstring(data, pos + 1)
            (oid,) = _I32.unpack_from(data, pos)
            pos += 8  # type oid + typmod
            columns.append(Column(name, oid, bool(flags & 1)))
        rel = Relation(rel_id, schema, table, identity, columns)
        self.relations[rel_id] = rel
        return rel

    def _tuple(self, data: bytes, pos: int, rel: Relation) -> tuple[dict[str, Any], int]:
        (ncols,) = _I16.unpack_from(data, pos)
        pos += 2
        row: dict[str, Any] = {}
        unpack = _I32.unpack_from
        for name, fn in rel.readers[:ncols]:
            kind = data[pos]
            if kind == 116:  # 't'
                (length,) = unpack(data, pos + 1)
                start = pos + 5
                pos = start + length
                try:
                    text = data[start:pos].decode()
                    row[name] = text if fn is None else fn(text)
                except (ValueError, IndexError) as exc:  # kept as text, the change dead-lettered
                    row[name] = data[start:pos].decode(errors="replace")
                    self.problems.append(f"column {name!r} value {row[name]!r}: {exc}")
            elif kind == 110:  # 'n'
                row[name] = None
                pos += 1
            elif kind == 117:  # 'u': unchanged TOAST value, not sent
                row[name] = UNAVAILABLE
                self.unchanged = True
                pos += 1
            else:
                raise DecodeError(f"unsupported tuple column kind {chr(kind)!r}")
        return row, pos


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def lsn_to_int(lsn: str) -> int:
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


__all__ = ["UNAVAILABLE", "Begin", "Change", "Commit", "DecodeError", "PgOutputDecoder", "Relation",
           "Truncate", "convert", "int_to_lsn", "lsn_to_int"]
