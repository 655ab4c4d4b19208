"""Web pages that read one key of a partitioned table answer from the worker that owns the key.

Every worker of a consumer group serves the same pages, but a worker holds the current rows only
of the table partitions it actively owns: it keeps in memory the rows of partitions it owned
before a rebalance, and standby copies of others, and neither is kept current. So a page asks
Faust's assignor which worker actively owns the key's partition (by its canonical URL,
`FAUST_CANONICAL_URL`), answers when that is this worker, and otherwise redirects there (307:
same method and body). While the group rebalances or this worker recovers its tables: 503.

A table row lives in the partition of the event that wrote it, so the key's partition is the
murmur2 of its source topic's key bytes (as the CDC producer and Faust place it).
"""

from __future__ import annotations

import faust
from confluent_kafka import murmur2
from faust.web import Request, Response, View
from yarl import URL

from streams.app import app
from streams.telemetry import ready

RETRY_AFTER_S = 5


def _owner(table: faust.Table, partition: int) -> URL | None:
    changelog = table.changelog_topic.get_topic_name()
    for url, topics in app.router.table_metadata(table.name).items():
        if partition in topics.get(changelog, ()):
            return URL(url)
    return None


def elsewhere(web: View, request: Request, table: faust.Table, key: bytes) -> Response | None:
    """None when this worker owns the partition of `key` (source-topic key bytes) in `table`;
    otherwise the response that sends the client to the worker that does."""
    owner = _owner(table, murmur2(key, table.partitions or app.conf.topic_partitions))
    here = app.conf.canonical_url
    if owner is None or not ready():
        return web.json({"error": "this key's partition is moving between workers; try again"},
                        status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    if (owner.host, owner.port) == (here.host, here.port):
        return None
    target = request.url.with_host(owner.host or "").with_port(owner.port)
    return web.json({"owner": str(owner)}, status=307, headers={"Location": str(target)})
