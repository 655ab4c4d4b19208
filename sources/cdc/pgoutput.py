"""Decoder for PostgreSQL's `pgoutput` logical replication protocol, version 1.

Input: the payload of each XLogData message of a replication stream
(sources/cdc/replication.py). Output: typed messages. Column values arrive as text and are
converted by type OID following the change-event contract (decimals as strings, timestamps as
ISO-8601 UTC). The session TimeZone must be UTC.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_EPOCH_MS = int(PG_EPOCH.timestamp() * 1000)

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_BEGIN = struct.Struct("!qqi")
_COMMIT = struct.Struct("!bqqq")


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


@dataclass(slots=True)
class Truncate:
    relations: list[Relation]


def _ts_ms(micros: int) -> int:
    return PG_EPOCH_MS + micros // 1000


def timestamp_to_iso(text: str, *, assume_utc: bool) -> str:
    """'2026-11-25 03:12:45.12+00' -> '2026-11-25T03:12:45.12Z' (session TimeZone is UTC)."""
    iso = text.replace(" ", "T", 1)
    if iso.endswith("+00"):
        return iso[:-3] + "Z"
    if assume_utc and iso[-1].isdigit():
        return iso + "Z"
    if not assume_utc:
        return iso
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _bool(t: str) -> bool:
    """pgoutput sends 't'/'f'; a `::text` cast (snapshot) gives 'true'/'false'."""
    return t in ("t", "true")


def _tstz(t: str) -> str:
    if t.endswith("+00"):  # the common case, session TimeZone is UTC
        return f"{t[:10]}T{t[11:-3]}Z"
    return timestamp_to_iso(t, assume_utc=True)


_ts = _tstz


CONVERTERS: dict[int, Any] = {
    16: _bool, 20: int, 21: int, 23: int, 26: int, 700: float, 701: float,
    1114: _ts, 1184: _tstz,
}


def convert(type_oid: int, text: str) -> Any:
    fn = CONVERTERS.get(type_oid)
    return fn(text) if fn else text


class PgOutputDecoder:
    """Stateful decoder: remembers Relation messages across calls."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}

    def decode(self, data: bytes) -> Begin | Commit | Change | Truncate | Relation | None:
        kind = data[0:1]
        if kind == b"I":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            if data[5:6] != b"N":
                raise DecodeError("insert without new tuple")
            after, _ = self._tuple(data, 6, rel)
            return Change("c", rel, None, after)
        if kind == b"U":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            pos, before = 5, None
            if data[pos:pos + 1] in (b"K", b"O"):
                before, pos = self._tuple(data, pos + 1, rel)
            if data[pos:pos + 1] != b"N":
                raise DecodeError("update without new tuple")
            after, _ = self._tuple(data, pos + 1, rel)
            if before is not None:  # unchanged TOAST values keep their old content
                for name, value in after.items():
                    if value is _UNCHANGED:
                        after[name] = before.get(name)
            return Change("u", rel, before, _drop_unchanged(after))
        if kind == b"D":
            rel = self._relation(_I32.unpack_from(data, 1)[0])
            if data[5:6] not in (b"K", b"O"):
                raise DecodeError("delete without old tuple")
            before, _ = self._tuple(data, 6, rel)
            return Change("d", rel, _drop_unchanged(before), None)
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

    @staticmethod
    def _tuple(data: bytes, pos: int, rel: Relation) -> tuple[dict[str, Any], int]:
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
                text = data[start:pos].decode()
                row[name] = text if fn is None else fn(text)
            elif kind == 110:  # 'n'
                row[name] = None
                pos += 1
            elif kind == 117:  # 'u': unchanged TOAST value, not sent
                row[name] = _UNCHANGED
                pos += 1
            else:
                raise DecodeError(f"unsupported tuple column kind {chr(kind)!r}")
        return row, pos


class _Unchanged:
    def __repr__(self) -> str:
        return "<unchanged toast>"


_UNCHANGED = _Unchanged()


def _drop_unchanged(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not _UNCHANGED}


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def lsn_to_int(lsn: str) -> int:
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


__all__ = ["Begin", "Change", "Commit", "DecodeError", "PgOutputDecoder", "Relation",
           "Truncate", "convert", "int_to_lsn", "lsn_to_int"]
