"""A bare Faust app with the sales enrichment's topology: what Faust itself costs per order line.

erp.public.sales_orders, erp.public.sales_order_lines (co-partitioned by order)
    ─> join (one table row per order) ─> bench.enrich_floor.lines

The same hop, table and records as `streams/analytics/sales.py`'s `enrich_sales`, without the
enrichment itself: a line is emitted, keyed by its id, once its order's header is known. The
app's options come from streams/faust_options.py; `topllantas bench enrich` runs it on the same
records as the analytics worker and reports the ratio.

`python -m ops.bench.enrich_floor worker -l warn` (settings from the environment).
"""

from __future__ import annotations

import faust
import orjson

from ops.bench import enrich as bench
from streams.faust_options import faust_settings

ORDERS, LINES = "erp.public.sales_orders", "erp.public.sales_order_lines"
PARTITIONS = 4
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}

app = faust.App("topllantas-bench-enrich-floor", **faust_settings())
source = app.topic(ORDERS, LINES, **RAW)
out = app.topic(bench.FLOOR_OUT, **RAW)  # only sent to: the broker creates it on the first send
orders = app.Table("bench_enrich_floor", default=None, partitions=PARTITIONS)


@app.agent(source)
async def join(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        row = orjson.loads(event.value)["after"] if event.value else None
        if row is None:
            continue  # a tombstone or a delete: the real agent has nothing to join either
        is_line = event.message.topic == LINES
        key = orjson.dumps({"id": row["order_id"] if is_line else row["id"]}).decode()
        state = orders.get(key) or {"header": False, "waiting": []}
        if is_line:
            state["waiting"].append(row["id"])
        else:
            state["header"] = True
        ready, state["waiting"] = ((state["waiting"], []) if state["header"]
                                   else ([], state["waiting"]))
        orders[key] = state
        for line in ready:
            await out.send(key=str(line).encode(), value=event.value)


if __name__ == "__main__":
    app.main()
