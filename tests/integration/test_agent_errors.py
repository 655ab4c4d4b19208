"""An agent that raises on a record: the record is dead-lettered, the agent goes on (real broker,
a real Faust worker process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from ops.stack.broker import start_broker
from ops.stack.processes import free_port, stop_pid
from ops.supervisor import Supervisor, wait_for
from sinks.dlq import DeadLetter
from tests.integration.kafka_read import read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

IN, OUT = "crash.in", "crash.out"  # tests/integration/crashing_agent.py


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    pid, port = start_broker(0, tmp_path / "broker.log")
    try:
        bootstrap = f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=-1)
                                           for t in (IN, f"{IN}.dlq", OUT)]).values():
            future.result(30)
        yield bootstrap
    finally:
        stop_pid(pid, 10)


def test_a_record_an_agent_raises_on_is_dead_lettered_and_the_agent_goes_on(
        broker: str, tmp_path: Path) -> None:
    env = {"CRASH_BROKER": broker, "CRASH_WEB_PORT": str(free_port()),
           "CRASH_DATADIR": str(tmp_path / "faust")}
    with Supervisor({}, tmp_path / "logs") as supervisor:
        supervisor.start("worker", "-m", "faust", "-A", "tests.integration.crashing_agent",
                         "worker", "-l", "info", env=env)
        producer = Producer({"bootstrap.servers": broker})
        for value in (b"first", b"boom", b"after"):
            producer.produce(IN, key=b"k", value=value)
        assert producer.flush(10) == 0

        copied = wait_for(lambda: (lambda vs: vs if b"after" in vs else None)(
            [r.value for r in read_all(broker, [OUT], idle=0.5)]), 120,
            "the agent to copy the record after the crash")
        assert copied == [b"first", b"after"]
        (record,) = read_all(broker, [f"{IN}.dlq"], idle=0.5)
        letter = DeadLetter.from_record(list(record.headers), record.key, record.value)
        assert (letter.value, letter.key) == (b"boom", b"k")
        assert (letter.source_topic, letter.source_partition, letter.source_offset) == (IN, 0, 1)
        assert letter.error == "RuntimeError: a bug met this record"
        assert "crashing_agent.copy" in letter.stage and "unexpected error" in letter.stage

        def committed() -> int:
            consumer = Consumer({"bootstrap.servers": broker, "group.id": "crash-test"})
            try:
                (tp,) = consumer.committed([TopicPartition(IN, 0)], 10)
                return int(tp.offset)
            finally:
                consumer.close()

        wait_for(lambda: committed() == 3, 30, "the group's offset past all three records")
        assert "Restarting dead <Agent" in supervisor.log("worker")
