"""A bare Faust app: what Faust itself costs per event on this broker with the app's options.

Its one agent reads stock-shaped CDC records from `bench.floor`, decodes each value and writes
one table row per key (the least a keyed, stateful, restart-safe processor does), then sends the
record on `bench.floor_out` `BENCH_FLOOR_SENDS` times (default 0); a record whose value is `end`
is echoed to `bench.floor_done`, so the benchmark knows when a partition is done. The stock
worker does this plus the policy and the alert state machine, producing about 2.7 records per
stock event (the `inventory` changelog, `inventory.position`, and per alert its state, the alert
and the buyer's feed); `topllantas bench stock` runs both on the same records.

`python -m ops.bench.faust_floor worker -l warn` (settings from the environment, as a worker's).
"""

from __future__ import annotations

import os

import faust
import orjson

from ops.bench import stock_throughput as bench
from streams.faust_options import faust_settings

app = faust.App("topllantas-bench-floor", **faust_settings())
source = app.topic(bench.FLOOR_SOURCE, partitions=bench.FLOOR_PARTITIONS, internal=True,
                   key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
# Only sent to: created by the broker on the first send, with its default partition count.
done = app.topic(bench.FLOOR_DONE, key_type=bytes, value_type=bytes, key_serializer="raw",
                 value_serializer="raw")
out = app.topic("bench.floor_out", key_type=bytes, value_type=bytes, key_serializer="raw",
                value_serializer="raw")
rows = app.Table("bench_floor", default=None, partitions=bench.FLOOR_PARTITIONS)
SENDS = int(os.environ.get("BENCH_FLOOR_SENDS", "0"))


@app.agent(source)
async def floor(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        if event.value == bench.FLOOR_END:
            await done.send(key=event.key, value=event.value)
            continue
        change = orjson.loads(event.value)
        rows[event.key.decode()] = {"on_hand": change["after"]["on_hand"]}
        for _ in range(SENDS):
            await out.send(key=event.key, value=event.value)


if __name__ == "__main__":
    app.main()
