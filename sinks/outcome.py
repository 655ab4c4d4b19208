"""Where a sink's result goes: the results topic, plus the dead-letter topic when it failed.

Pure: the stream glue hands in the consumed record and the sink's result and produces what
comes back. A failed command or message goes to `<topic>.dlq` with its original key, value and
headers untouched (so `topllantas dlq replay` can re-produce it after the cause is fixed), and
its "failed" result still goes to the results topic so the processor that asked can react.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.commands import CommandEnvelope, CommandResult, ErpCommand, MessageResult
from transport.dlq import dead_letter_headers, dlq_topic


@dataclass(frozen=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def route_result(result: CommandResult | MessageResult, source: ConsumedRecord,
                 results_topic: str, stage: str) -> list[Outgoing]:
    """The records to produce for one sink result (results topic keyed by idempotency key)."""
    out = [Outgoing(results_topic, result.idempotency_key.encode(),
                    result.model_dump_json().encode())]
    if result.status == "failed":
        headers = [*source.headers, *dead_letter_headers(
            result.error or "failed", source.topic, source.partition, source.offset, stage)]
        out.insert(0, Outgoing(dlq_topic(source.topic), source.key, source.value, headers))
    return out


def decode_command(value: bytes) -> ErpCommand:
    """An `erp.commands` value (a `CommandEnvelope`); raises pydantic.ValidationError if bad."""
    return CommandEnvelope.model_validate_json(value).command
