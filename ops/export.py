"""Export a topic to Parquet or CSV: read it from the beginning, keep records since a time.

Columns are the fields of the topic's value model (topics.yaml `value`), typed for Arrow:
integers, floats, booleans, text, decimals (decimal128(20, 4)), UTC timestamps, dates; nested
values as JSON text. CDC topics (`erp.public.<table>`) are flattened to the row's columns plus
`op`, `lsn` and `commit_ts`; deletes keep the before-image with op "d". Every row also carries
`kafka_key`, `kafka_partition`, `kafka_offset` and `kafka_timestamp`. Tombstones are skipped.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import BaseModel

from schemas.cdc import ChangeEvent
from schemas.erp import ROW_MODELS
from schemas.topics import Catalogue

DECIMAL = pa.decimal128(20, 4)
QUANTUM = Decimal("0.0001")
KAFKA_COLUMNS = [pa.field("kafka_key", pa.string()), pa.field("kafka_partition", pa.int32()),
                 pa.field("kafka_offset", pa.int64()),
                 pa.field("kafka_timestamp", pa.timestamp("ms", tz="UTC"))]
CDC_COLUMNS = [pa.field("op", pa.string()), pa.field("lsn", pa.int64()),
               pa.field("commit_ts", pa.timestamp("ms", tz="UTC"))]

Progress = Callable[[int, int], None]
"""(records read so far, records expected) -> None."""


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def read_topic(bootstrap: str, topic: str, since_ms: int = 0, *, idle_s: float = 1.0,
               progress: Progress | None = None) -> Iterator[Record]:
    """Every record of `topic` with a timestamp >= `since_ms`, from the first offset.

    Stops once every partition reached the high watermark seen at the start and nothing new
    came for `idle_s` (the embedded broker under-reports watermarks of batched producers).
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "topllantas-export",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise ValueError(f"topic {topic!r}: {metadata.error.str()}")
        parts = sorted(metadata.partitions)
        highs = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                 for p in parts}
        expected = sum(high - low for low, high in highs.values())
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        position = {p: low for p, (low, _) in highs.items()}
        read = 0
        last = time.monotonic()
        while True:
            batch = consumer.consume(5000, timeout=0.2)
            for msg in batch:
                if msg.error():
                    continue
                position[msg.partition()] = msg.offset() + 1
                read += 1
                stamp = msg.timestamp()[1]
                if stamp >= since_ms:
                    yield Record(msg.partition(), msg.offset(), stamp, msg.key(), msg.value())
            if batch:
                last = time.monotonic()
                if progress:
                    progress(read, max(expected, read))
            caught_up = all(position[p] >= high for p, (_, high) in highs.items())
            if caught_up and time.monotonic() - last >= idle_s:
                return
    finally:
        consumer.close()


def value_model(catalogue: Catalogue, topic: str) -> type[BaseModel] | None:
    """The pydantic model of a topic's values, or None when it cannot be imported."""
    dotted = catalogue[topic].value
    module, _, name = dotted.rpartition(".")
    if module.startswith("streams."):
        return None  # importing it would build the Faust app
    try:
        model = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def arrow_type(annotation: Any) -> pa.DataType:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        return arrow_type(args[0]) if len(args) == 1 else pa.string()
    if origin is Literal:
        return pa.string()
    simple: list[tuple[type, pa.DataType]] = [
        (bool, pa.bool_()), (int, pa.int64()), (float, pa.float64()), (Decimal, DECIMAL),
        (datetime, pa.timestamp("us", tz="UTC")), (date, pa.date32()),
        (clock, pa.time64("us")), (Enum, pa.string()), (str, pa.string())]
    if isinstance(annotation, type):
        for python, arrow in simple:
            if issubclass(annotation, python):
                return arrow
    return pa.string()  # nested models, dicts, lists: JSON text


def model_fields(model: type[BaseModel]) -> list[pa.Field]:
    return [pa.field(name, arrow_type(info.annotation)) for name, info in
            model.model_fields.items()]


def _cell(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(kind) and not isinstance(value, str):
        if isinstance(value, Enum):
            return str(value.value)
        return json.dumps(value, default=str, ensure_ascii=False)
    if pa.types.is_decimal(kind):
        return Decimal(value).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
    if pa.types.is_timestamp(kind) and isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


class TopicTable:
    """Accumulates records of one topic as typed columns."""

    def __init__(self, catalogue: Catalogue, topic: str) -> None:
        spec = catalogue[topic]
        self.table_name = spec.table
        if self.table_name:
            self.model: type[BaseModel] | None = ROW_MODELS[self.table_name]
            fields = CDC_COLUMNS + model_fields(self.model)
        else:
            self.model = value_model(catalogue, topic)
            fields = model_fields(self.model) if self.model else [
                pa.field("value_json", pa.string())]
        self.schema = pa.schema(KAFKA_COLUMNS + fields)
        self.columns: dict[str, list[Any]] = {f.name: [] for f in self.schema}

    def add(self, record: Record) -> bool:
        """False for a tombstone (skipped)."""
        if record.value is None:
            return False
        values = self._values(record.value)
        values.update(kafka_key=record.key.decode(errors="replace") if record.key else None,
                      kafka_partition=record.partition, kafka_offset=record.offset,
                      kafka_timestamp=datetime.fromtimestamp(record.timestamp_ms / 1000, UTC))
        for field in self.schema:
            self.columns[field.name].append(_cell(values.get(field.name), field.type))
        return True

    def _values(self, raw: bytes) -> dict[str, Any]:
        if self.table_name:
            change = ChangeEvent.model_validate_json(raw)
            # A truncate carries no row: it is exported as its op, LSN and time alone.
            row = (self.model.model_validate(change.row)
                   if self.model and change.op != "t" else None)
            return {**(row.model_dump() if row else {}), "op": change.op,
                    "lsn": change.source.lsn,
                    "commit_ts": datetime.fromtimestamp(change.source.ts_ms / 1000, UTC)}
        if self.model is None:
            return {"value_json": raw.decode(errors="replace")}
        return self.model.model_validate_json(raw).model_dump()

    def to_arrow(self) -> pa.Table:
        return pa.table({name: pa.array(values, type=self.schema.field(name).type)
                         for name, values in self.columns.items()}, schema=self.schema)


def write_table(table: pa.Table, path: Path) -> None:
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        raise ValueError(f"unknown format {suffix!r}: use .parquet or .csv")


def export_topic(bootstrap: str, catalogue: Catalogue, topic: str, since: datetime | None,
                 path: Path, progress: Progress | None = None) -> int:
    """Write the records of `topic` since `since` to `path`; returns the number of rows."""
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"unknown format {path.suffix!r}: use .parquet or .csv")
    table = TopicTable(catalogue, topic)
    since_ms = int(since.timestamp() * 1000) if since else 0
    rows = sum(table.add(r) for r in read_topic(bootstrap, topic, since_ms, progress=progress))
    write_table(table.to_arrow(), path)
    return rows
