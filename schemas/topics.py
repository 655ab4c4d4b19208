"""Loads `topics.yaml`, the topic catalogue, into typed specs. Nothing else names topics."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel

CATALOGUE = Path(__file__).resolve().parent.parent / "topics.yaml"
DLQ_SUFFIX = ".dlq"
DLQ_RETENTION_MS = 14 * 24 * 3600 * 1000


class TopicSpec(BaseModel):
    name: str
    partitions: int
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    retention_ms: int
    key: str
    value: str
    dlq: bool = False
    table: str | None = None  # set for CDC topics
    key_columns: list[str] = []
    # CDC history tables: which rows a snapshot limited to CDC_SNAPSHOT_DAYS reads (`:since`
    # stands for the cut-off time), like Debezium's snapshot.select.statement.overrides.
    snapshot_where: str | None = None
    # CDC tables joined with another table's rows: key field -> row column. The table's records
    # go to the partition a record keyed by those fields would go to (sales order lines to
    # their order's), like Debezium's PartitionRouting SMT; the key stays the primary key.
    partition_by: dict[str, str] = {}

    @property
    def dlq_name(self) -> str:
        return self.name + DLQ_SUFFIX

    def partition_key(self, row: dict[str, Any]) -> bytes | None:
        """The key whose partition a CDC record of `row` goes to, if not its own key."""
        if not self.partition_by:
            return None
        return orjson.dumps({field: row[column] for field, column in self.partition_by.items()})

    def kafka_config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


class Catalogue(BaseModel):
    cdc_prefix: str
    cdc_schema: str
    topics: dict[str, TopicSpec]

    def cdc_topic(self, table: str) -> TopicSpec:
        return self.topics[f"{self.cdc_prefix}.{self.cdc_schema}.{table}"]

    @property
    def cdc_tables(self) -> dict[str, TopicSpec]:
        return {t.table: t for t in self.topics.values() if t.table}

    def __getitem__(self, name: str) -> TopicSpec:
        return self.topics[name]

    def dlq_of(self, name: str) -> str | None:
        """The dead-letter topic of `name`, if it has one (not changelogs, not DLQs)."""
        spec = self.topics.get(name)
        return spec.dlq_name if spec is not None and spec.dlq else None

    def all_specs(self) -> list[TopicSpec]:
        """Every topic, dead-letter topics included."""
        specs: list[TopicSpec] = []
        for spec in self.topics.values():
            specs.append(spec)
            if spec.dlq:
                specs.append(TopicSpec(
                    name=spec.dlq_name, partitions=spec.partitions, cleanup_policy="delete",
                    retention_ms=DLQ_RETENTION_MS, key=spec.key,
                    value="dead letter: original bytes; error, source topic/partition/offset "
                          "in headers"))
        return specs


def _load(raw: dict[str, Any], partitions_override: int | None) -> Catalogue:
    defaults = raw.get("defaults", {})

    def partitions(entry: dict[str, Any]) -> int:
        if partitions_override:
            return partitions_override
        return int(entry.get("partitions", defaults.get("partitions", 1)))

    topics: dict[str, TopicSpec] = {}
    cdc = raw["cdc"]
    for table, entry in cdc["tables"].items():
        name = f"{cdc['prefix']}.{cdc['schema']}.{table}"
        topics[name] = TopicSpec(
            name=name, partitions=partitions(entry),
            cleanup_policy=entry.get("cleanup_policy", defaults.get("cleanup_policy", "delete")),
            retention_ms=int(entry.get("retention_ms", defaults.get("retention_ms", -1))),
            key="primary key " + ",".join(entry["key"]), value=cdc["value"], dlq=True,
            table=table, key_columns=list(entry["key"]),
            snapshot_where=entry.get("snapshot_where"),
            partition_by=dict(entry.get("partition_by", {})))
    for name, entry in raw.get("topics", {}).items():
        topics[name] = TopicSpec(
            name=name, partitions=partitions(entry),
            cleanup_policy=entry.get("cleanup_policy", defaults.get("cleanup_policy", "delete")),
            retention_ms=int(entry.get("retention_ms", defaults.get("retention_ms", -1))),
            key=str(entry["key"]), value=entry["value"], dlq=bool(entry.get("dlq", False)))
    return Catalogue(cdc_prefix=cdc["prefix"], cdc_schema=cdc["schema"], topics=topics)


@lru_cache(maxsize=4)
def load_catalogue(path: Path = CATALOGUE, partitions_override: int | None = None) -> Catalogue:
    if partitions_override is None and os.environ.get("TOPIC_PARTITIONS"):
        partitions_override = int(os.environ["TOPIC_PARTITIONS"])
    return _load(yaml.safe_load(path.read_text()), partitions_override)
