"""Faust's aiokafka transport for the embedded broker (`tansu://`): short fetch waits.

A Kafka broker answers a fetch as soon as any of its partitions has data. Tansu 0.6 answers a
fetch of several partitions only when the wait runs out (measured here: a record produced to one
of 8 partitions reached an aiokafka consumer after ~480 ms with a 1,500 ms wait, ~16 ms with
50 ms), and Faust hard-codes a 1,500 ms wait. Each Faust hop then added up to half a second: an
ERP stock change took over a second to become a WhatsApp message. The embedded profile's worker
consumer waits `FETCH_MAX_WAIT_MS` instead. On Apache Kafka Faust's own transport is used.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 20
SCHEME = "tansu"


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by its fetcher at start()
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
