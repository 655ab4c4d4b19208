"""The true end of a partition on the real broker, which table recovery relies on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.recovery import last_batch_ends
from tests import stack_fixture
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    with stack_fixture.test_stack() as running:
        yield running


def _produce_batches(bootstrap: str, topic: str, sizes: list[int]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
    for batch, size in enumerate(sizes):
        for i in range(size):
            producer.produce(topic, value=b"%d:%d" % (batch, i), partition=0)
        producer.flush(10)  # one flush, one batch


def test_last_batch_end_counts_every_record_of_the_last_batch(stack: TestStack) -> None:
    bootstrap = stack.bootstrap_servers
    _produce_batches(bootstrap, "recovery.probe", [10, 7])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
    _, reported = consumer.get_watermark_offsets(TopicPartition("recovery.probe", 0), timeout=10)
    consumer.close()
    assert 11 <= reported <= 17  # Tansu says 11 (first of the last batch + 1); Kafka says 17

    ends = last_batch_ends(bootstrap, {("recovery.probe", 0): reported,
                                       ("recovery.probe", 1): 0})

    assert ends == {("recovery.probe", 0): 17, ("recovery.probe", 1): 0}
