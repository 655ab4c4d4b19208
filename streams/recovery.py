"""Faust table recovery that reads the embedded broker's true end offsets.

Tansu 0.6 reports a partition's end offset (ListOffsets latest, the fetch high watermark) as the
first offset of the partition's last record batch + 1, not the last offset + 1. Faust's recovery
reads a changelog up to that end and then stops, so with batched producers it would drop the
rest of the last batch. Rather than giving up batching everywhere (one record per produce
request costs the worker most of its throughput), the embedded profile swaps in this recovery:
it reads the last batch of each changelog partition once and takes its last offset as the end.

On Apache Kafka the reported end is right and Faust's own recovery is used unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping, Set

from confluent_kafka import Consumer, TopicPartition
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP, ConsumerT

from schemas.settings import get_settings

log = logging.getLogger("topllantas.recovery")


def last_batch_ends(
    bootstrap: str, reported: Mapping[tuple[str, int], int], timeout_s: float = 10.0
) -> dict[tuple[str, int], int]:
    """The true end offset (last offset + 1) of each partition whose reported end is given.

    The record at `reported - 1` opens the partition's last batch, and a fetch from there
    returns that batch whole, so its highest offset is the partition's last. A partition that
    does not answer within `timeout_s` keeps its reported end.
    """
    ends = {tp: end for tp, end in reported.items() if end > 0}
    if not ends:
        return dict(reported)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "topllantas-recovery-probe",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "fetch.wait.max.ms": 50})
    try:
        consumer.assign([TopicPartition(t, p, end - 1) for (t, p), end in ends.items()])
        pending = set(ends)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=10_000, timeout=0.2):
                tp = (message.topic(), message.partition())
                if message.error() is not None:  # partition EOF: the batch has been read
                    pending.discard(tp)
                elif message.offset() + 1 > ends[tp]:
                    ends[tp] = message.offset() + 1
        if pending:
            log.warning("no last batch read for %s; recovery uses the reported end", pending)
    finally:
        consumer.close()
    return {**reported, **ends}


class TrueEndRecovery(Recovery):
    """Faust's recovery with highwaters corrected for the embedded broker (see module doc)."""

    async def _build_highwaters(
        self, consumer: ConsumerT, tps: Set[TP], destination: Counter[TP], title: str
    ) -> None:
        reported = await consumer.highwaters(*tps)
        ends = await asyncio.to_thread(
            last_batch_ends,
            get_settings().bootstrap_servers(),
            {(tp.topic, tp.partition): end or 0 for tp, end in reported.items()},
        )
        # Faust's highwater is the last offset (end - 1), -1 for an empty partition.
        highwaters = {tp: ends[(tp.topic, tp.partition)] - 1 for tp in reported}
        self.log.info("Highwater for %s changelog partitions:\n%s", title,
                      self._highwater_logtable(highwaters, title=title))
        destination.clear()
        destination.update(highwaters)


class TrueEndTableManager(TableManager):
    """Faust's table manager with `TrueEndRecovery`; set as `TableManager` by the app."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = TrueEndRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
