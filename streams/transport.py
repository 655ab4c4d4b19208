"""Faust's aiokafka transport for the embedded broker (`tansu://`): shorter fetch waits.

A Kafka broker answers a fetch as soon as any of its partitions has data. Tansu 0.6 answers a
fetch of several partitions only when the wait runs out (measured here: a record produced to one
of 8 partitions reached an aiokafka consumer after ~480 ms with a 1,500 ms wait), and Faust
hard-codes a 1,500 ms wait, so each Faust hop added up to half a second.

The wait is a trade, measured with one consumer of 80 partitions on an idle Tansu
(`EMBEDDED_FETCH_MAX_WAIT_MS`): a record reaches the consumer after p50 / p99 13.6 / 26.8 ms at
20 ms, 26.1 / 56.7 ms at 100 ms, 69.8 / 134 ms at 250 ms; but Tansu burns CPU for as long as a
fetch waits (0.31 of a core per idle consumer at 20 ms, 0.14 at 100 ms, 0.04 at 500 ms) and the
consumer re-fetches 50 times a second at 20 ms. On two cores that CPU came out of the workers: a
`--flows stock` worker ran 219 stock events/s at 20 ms and 316/s at 100 ms (medians of three,
ratio 1.44; 309/s at 250 ms). Hence 100 ms by default. On Apache Kafka Faust's own transport is
used.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

from schemas.settings import get_settings

SCHEME = "tansu"


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # read by its fetcher at start()
        consumer._fetch_max_wait_ms = get_settings().embedded_fetch_max_wait_ms
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
