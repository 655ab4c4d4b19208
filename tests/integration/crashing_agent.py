"""A worker whose one agent raises on the value `boom` (tests/integration/test_agent_errors.py).

Run as `python -m faust -A tests.integration.crashing_agent worker` with CRASH_BROKER set to the
embedded broker's address.
"""

from __future__ import annotations

import os

from streams import transport
from streams.agent_errors import DeadLetteringApp

IN, OUT = "crash.in", "crash.out"

app = DeadLetteringApp(
    "crash-test", dlq_for=lambda topic: f"{topic}.dlq" if topic == IN else None,
    broker=f"{transport.SCHEME}://{os.environ['CRASH_BROKER']}",
    web_port=int(os.environ["CRASH_WEB_PORT"]), datadir=os.environ["CRASH_DATADIR"],
    broker_session_timeout=6.0, broker_heartbeat_interval=1.0, broker_commit_interval=0.5,
    consumer_auto_offset_reset="earliest", topic_partitions=1)
source = app.topic(IN, key_type=bytes, value_type=bytes, key_serializer="raw",
                   value_serializer="raw")
sink = app.topic(OUT, key_type=bytes, value_type=bytes, key_serializer="raw",
                 value_serializer="raw")


@app.agent(source)
async def copy(stream):  # type: ignore[no-untyped-def]
    """Copies every value to crash.out, and raises on `boom` (a bug meeting a record)."""
    async for event in stream.events():
        if event.value == b"boom":
            raise RuntimeError("a bug met this record")
        await sink.send(key=event.key, value=event.value)
