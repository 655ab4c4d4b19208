"""A worker whose two agents raise on the value `boom` (tests/integration/test_agent_errors.py):
one record at a time, and in batches as the sinks take them.

Run as `python -m faust -A tests.integration.crashing_agent worker` with CRASH_BROKER set to the
embedded broker's address.
"""

from __future__ import annotations

import os

from streams import transport
from streams.dead_letters import DeadLetteringApp, apply_in_batches, finished

IN, OUT = "crash.in", "crash.out"
BATCH_IN, BATCH_OUT = "crash.batch.in", "crash.batch.out"

app = DeadLetteringApp(
    "crash-test",
    dlq_for=lambda topic: f"{topic}.dlq" if topic in (IN, BATCH_IN) else None,
    broker=f"{transport.SCHEME}://{os.environ['CRASH_BROKER']}",
    web_port=int(os.environ["CRASH_WEB_PORT"]), datadir=os.environ["CRASH_DATADIR"],
    broker_session_timeout=6.0, broker_heartbeat_interval=1.0, broker_commit_interval=0.5,
    consumer_auto_offset_reset="earliest", topic_partitions=1)
source, sink, batch_source, batch_sink = (
    app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    for name in (IN, OUT, BATCH_IN, BATCH_OUT))


@app.agent(source)
async def copy(stream):  # type: ignore[no-untyped-def]
    """Copies every value to crash.out, and raises on `boom` (a bug meeting a record)."""
    async for event in stream.events():
        if event.value == b"boom":
            raise RuntimeError("a bug met this record")
        await sink.send(key=event.key, value=event.value)


@app.agent(batch_source)
async def copy_batches(stream):  # type: ignore[no-untyped-def]
    """Copies batches of values to crash.batch.out as the sinks apply theirs: dead-letters `bad`
    itself (bad input), marks each copy `finished`, and raises part-way through a batch
    that holds `boom`."""

    async def copy(events):  # type: ignore[no-untyped-def]
        for event in events:
            if event.value == b"boom":
                raise RuntimeError("a bug met this batch")
            if event.value == b"bad":
                await app.dead_letter(event, ValueError("bad input"), "copy_batches.decode")
                continue
            await batch_sink.send(key=event.key, value=event.value)
            finished(event)

    await apply_in_batches(stream, 100, 0.5, copy, "copy_batches")
