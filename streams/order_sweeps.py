"""Bounded per-order state: a daily sweep, run by the owner of each partition.

The sales-order joins (streams.demand, streams.analytics) keep one record per order in tables
partitioned like `erp.public.sales_orders`. At 03:40 Mexico City the leader sends a request to
every partition of `orders.sweeps` (co-partitioned with the orders); each agent reading it
drops, in that partition only, what its flow no longer needs. Deleting while handling a record
of partition P puts every table tombstone in changelog partition P, where the key lives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust
from confluent_kafka import murmur2

from processors.analytics.calendar import MX
from schemas.events import OrderSweep
from streams.app import app, catalogue
from streams.dead_letters import decoded
from streams.topics import raw_topic

SWEEPS = "orders.sweeps"
CHUNK = 100  # deletes between waits for Faust's changelog buffer to drain

order_sweeps = raw_topic(SWEEPS)


def order_partition(key: str, partitions: int) -> int:
    """The partition of an order's CDC key (`{"id": N}`), as the CDC producer and Faust put it."""
    return murmur2(key.encode(), partitions)


async def read_request(event: faust.EventT, reader: str) -> OrderSweep | None:
    """The sweep request of `event`; None (and a dead letter) when it is malformed."""
    return await decoded(event, reader, OrderSweep.model_validate_json)


async def sweep(table: faust.Table, owns: Callable[[str], bool],
                drop: Callable[[Any], bool]) -> int:
    """Delete the keys of `table` in the current record's partition (`owns`) whose value
    `drop` says to; returns how many. Call only while handling a record of that partition."""
    gone = 0
    for key in [k for k in list(table.keys()) if owns(k)]:
        if drop(table.get(key)):
            table.pop(key, None)
            gone += 1
            if gone % CHUNK == 0:
                await app.producer.buffer.wait_until_ebb()
    return gone


async def request_order_sweep(reason: str) -> None:
    """Ask every partition's owner to sweep its orders as of now."""
    value = OrderSweep(at=datetime.now(UTC), reason=reason).model_dump_json().encode()
    for partition in range(catalogue[SWEEPS].partitions):
        await order_sweeps.send(value=value, partition=partition)


@app.crontab("40 3 * * *", timezone=MX, on_leader=True)
async def daily_order_sweep() -> None:
    """Drop the sales orders the joins no longer need (03:40 America/Mexico_City)."""
    await request_order_sweep("diaria")
