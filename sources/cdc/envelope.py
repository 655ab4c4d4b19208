"""Build Debezium-compatible change events (key bytes, value bytes) from decoded changes."""

from __future__ import annotations

import time
from typing import Any

import orjson
from confluent_kafka import murmur2

from schemas.topics import Catalogue, TopicSpec


class EnvelopeBuilder:
    """Knows the topic, key columns and `source` block for every captured table."""

    def __init__(self, catalogue: Catalogue, db: str, server_name: str = "erp") -> None:
        self.catalogue = catalogue
        self.db = db
        self.server_name = server_name
        self.tables = catalogue.cdc_tables
        self._sources: dict[str, tuple[tuple[Any, ...], orjson.Fragment]] = {}

    def topic(self, table: str) -> str | None:
        spec = self.tables.get(table)
        return spec.name if spec else None

    def key(self, table: str, row: dict[str, Any]) -> bytes:
        columns = self.tables[table].key_columns
        return orjson.dumps({c: row[c] for c in columns})

    def key_changed(self, table: str, before: dict[str, Any] | None,
                    after: dict[str, Any] | None) -> bool:
        """An update that moved the row to another primary key."""
        if before is None or after is None:
            return False
        return any(before.get(c) != after.get(c) for c in self.tables[table].key_columns)

    def partition(self, table: str, row: dict[str, Any]) -> int | None:
        """The partition of a record of `row`, when its table is partitioned by another key
        (topics.yaml `partition_by`); None: the producer's partitioner hashes its key."""
        return routed_partition(self.tables[table], row)

    def value(self, *, op: str, table: str, schema: str, before: dict[str, Any] | None,
              after: dict[str, Any] | None, commit_ts_ms: int, xid: int | None,
              lsn: int | None, snapshot: str = "false") -> bytes:
        return orjson.dumps({
            "before": before,
            "after": after,
            "source": self._source(table, schema, commit_ts_ms, xid, lsn, snapshot),
            "op": op,
            "ts_ms": int(time.time() * 1000),
        })

    def _source(self, table: str, schema: str, commit_ts_ms: int, xid: int | None,
                lsn: int | None, snapshot: str) -> orjson.Fragment:
        """The `source` block, serialized once per table and transaction (every change of a
        transaction shares it) and spliced into each value."""
        ident = (schema, commit_ts_ms, xid, lsn, snapshot)
        cached = self._sources.get(table)
        if cached is not None and cached[0] == ident:
            return cached[1]
        block = orjson.Fragment(orjson.dumps({
            "version": "topllantas-cdc/1", "connector": "postgresql",
            "name": self.server_name, "ts_ms": commit_ts_ms, "snapshot": snapshot,
            "db": self.db, "schema": schema, "table": table, "txId": xid, "lsn": lsn,
        }))
        self._sources[table] = (ident, block)
        return block


def routed_partition(spec: TopicSpec, row: dict[str, Any]) -> int | None:
    """Kafka's default partitioner (murmur2, as the Java client, Faust and our producers) over
    the key the table is partitioned by; None for tables partitioned by their own key."""
    key = spec.partition_key(row)
    return None if key is None else murmur2(key, spec.partitions)
