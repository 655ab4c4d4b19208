"""The change-event contract: a Debezium-compatible envelope, one topic per table.

Topic `erp.<schema>.<table>`; key = the row's primary key as a JSON object in key-column order;
value = `ChangeEvent` as JSON; a delete is followed by a tombstone (same key, null value).
Decimals travel as strings, timestamps as ISO-8601 UTC, dates as YYYY-MM-DD.
Values outside the everyday range follow Debezium (sources/cdc/pgoutput.py): timestamps and
dates 'infinity'/'-infinity' as those strings; years beyond 9999 or before year 1 in ISO-8601's
expanded form ('+12345-01-01T00:00:00Z'; 44 BC is '-0043-03-15', 1 BC is '0000');
floats NaN and ±Infinity as the strings 'NaN', 'Infinity', '-Infinity' (JSON has no such
numbers). A change with a value no converter can read goes to the table's dead-letter topic
(`erp.<schema>.<table>.dlq`) with the reason; CDC never stops on data.
A real Debezium PostgreSQL connector (JsonConverter, schemas.enable=false,
topic.prefix=erp, decimal.handling.mode=string, time.precision.mode=connect) fits this contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Op = Literal["c", "u", "d", "r", "t"]

# The value of a column the server did not send: a large (TOASTed) value an update left
# unchanged, on a table without REPLICA IDENTITY FULL (CDC sets FULL at start, so this is rare).
# Debezium's default `unavailable.value.placeholder`; consumers take the column's value from
# their previous image of the row (processors.change_events.decode_change `previous`).
UNAVAILABLE_VALUE = "__debezium_unavailable_value"


class Source(BaseModel):
    """Where and when the change happened (Debezium's `source` block)."""

    model_config = ConfigDict(populate_by_name=True)

    version: str = "topllantas-cdc/1"
    connector: str = "postgresql"
    name: str = Field("erp", description="Logical server name, the topic prefix.")
    ts_ms: int = Field(description="Commit time of the transaction, epoch milliseconds.")
    snapshot: Literal["true", "first", "last", "false", "incremental"] = "false"
    db: str
    schema_: str = Field(alias="schema")
    table: str
    txId: int | None = None
    lsn: int | None = Field(None, description="LSN of the change's COMMIT (pgoutput).")


class ChangeEvent(BaseModel):
    """One row change. `before` is the old row (UPDATE/DELETE, REPLICA IDENTITY FULL)."""

    model_config = ConfigDict(populate_by_name=True)

    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    source: Source
    op: Op
    ts_ms: int = Field(description="When the capture process emitted the event.")

    @property
    def row(self) -> dict[str, Any]:
        """The row as it is now (after), or as it was before a delete."""
        row = self.after if self.after is not None else self.before
        if row is None:
            raise ValueError("change event carries neither before nor after")
        return row


def topic_for(prefix: str, schema: str, table: str) -> str:
    return f"{prefix}.{schema}.{table}"
