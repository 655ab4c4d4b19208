"""The one dead-letter helper: what goes to `<topic>.dlq` and how to read it back.

A dead letter keeps the original key and value bytes untouched; the reason and the source
coordinates travel in headers, so the record can be inspected and replayed after a fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from schemas.topics import DLQ_SUFFIX

H_ERROR = "dlq.error"
H_TOPIC = "dlq.source.topic"
H_PARTITION = "dlq.source.partition"
H_OFFSET = "dlq.source.offset"
H_AT = "dlq.at_ms"
H_STAGE = "dlq.stage"

MAX_ERROR_LEN = 2000


def dlq_topic(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


def dead_letter_headers(error: str | BaseException, topic: str, partition: int | None,
                        offset: int | None, stage: str) -> list[tuple[str, bytes]]:
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return [
        (H_ERROR, reason[:MAX_ERROR_LEN].encode()),
        (H_TOPIC, topic.encode()),
        (H_PARTITION, str(-1 if partition is None else partition).encode()),
        (H_OFFSET, str(-1 if offset is None else offset).encode()),
        (H_AT, str(int(time.time() * 1000)).encode()),
        (H_STAGE, stage.encode()),
    ]


@dataclass(frozen=True)
class DeadLetter:
    error: str
    source_topic: str
    source_partition: int
    source_offset: int
    at_ms: int
    stage: str
    key: bytes | None
    value: bytes | None

    @classmethod
    def from_record(cls, headers: list[tuple[str, bytes]] | None, key: bytes | None,
                    value: bytes | None) -> DeadLetter:
        h = {k: v.decode(errors="replace") for k, v in (headers or [])}
        return cls(
            error=h.get(H_ERROR, "?"), source_topic=h.get(H_TOPIC, "?"),
            source_partition=int(h.get(H_PARTITION, -1)), source_offset=int(h.get(H_OFFSET, -1)),
            at_ms=int(h.get(H_AT, 0)), stage=h.get(H_STAGE, "?"), key=key, value=value)
