"""An agent that raises on a record, or on a batch as the sinks take them: the records are
dead-lettered, the agent goes on and its partition commits past them (real broker, a real Faust
worker process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from ops.stack.broker import start_broker
from ops.stack.processes import free_port, stop_pid
from ops.supervisor import Supervisor, wait_for
from tests.integration.kafka_read import read_all
from transport.dlq import DeadLetter

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# tests/integration/crashing_agent.py
IN, OUT, BATCH_IN, BATCH_OUT = "crash.in", "crash.out", "crash.batch.in", "crash.batch.out"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    pid, port = start_broker(0, tmp_path / "broker.log")
    try:
        bootstrap = f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=-1)
                                           for t in (IN, f"{IN}.dlq", OUT, BATCH_IN,
                                                     f"{BATCH_IN}.dlq", BATCH_OUT)]).values():
            future.result(30)
        yield bootstrap
    finally:
        stop_pid(pid, 10)


def test_a_record_an_agent_raises_on_is_dead_lettered_and_the_agent_goes_on(
        broker: str, tmp_path: Path) -> None:
    with Supervisor({}, tmp_path / "logs") as supervisor:
        _start_worker(supervisor, broker, tmp_path)
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

        wait_for(lambda: committed(broker, IN) == 3, 30,
                 "the group's offset past all three records")
        assert "Restarting dead <Agent" in supervisor.log("worker")


def test_a_batch_an_agent_raises_on_is_dead_lettered_and_its_partition_commits(
        broker: str, tmp_path: Path) -> None:
    """The sinks' batch loop (`apply_in_batches`) with a bug met part-way through a batch: the
    records of the batch whose outcome was not out yet go to the dead letters, each record is
    copied or dead-lettered exactly once (the one the agent dead-lettered itself and the ones it
    copied are not dead-lettered again), the agent takes the next batch, and the group's offset
    moves past them all: the batch is not held."""
    values = [b"first", b"a", b"bad", b"boom", b"b", b"after"]
    with Supervisor({}, tmp_path / "logs") as supervisor:
        _start_worker(supervisor, broker, tmp_path)
        producer = Producer({"bootstrap.servers": broker})

        def produce(batch: list[bytes]) -> None:
            for value in batch:
                producer.produce(BATCH_IN, key=b"k", value=value)
            assert producer.flush(10) == 0

        def copied(value: bytes) -> list[bytes] | None:
            out = [r.value for r in read_all(broker, [BATCH_OUT], idle=0.5)]
            return out if value in out else None

        produce(values[:1])
        wait_for(lambda: copied(b"first"), 120, "the agent to copy the first batch")
        produce(values[1:5])  # one batch, or more: the fetch decides
        letters = wait_for(lambda: (lambda ls: ls if any(d.value == b"boom" for d in ls) else None)(
            [DeadLetter.from_record(list(r.headers), r.key, r.value)
             for r in read_all(broker, [f"{BATCH_IN}.dlq"], idle=0.5)]), 60,
            "the raising batch in the dead letters")
        produce(values[5:])
        out = wait_for(lambda: copied(b"after"), 60, "the agent to copy the batch after")
        wait_for(lambda: committed(broker, BATCH_IN) == len(values), 30,
                 "the group's offset past every record")
        log = supervisor.log("worker")
    dead = [d.value for d in letters]
    assert sorted(out + dead) == sorted(values)  # each record once: none lost, none twice
    assert b"boom" in dead and b"bad" in dead
    assert {(d.value, d.error, d.stage) for d in letters if d.value in (b"bad", b"boom")} == {
        (b"bad", "ValueError: bad input", "copy_batches.decode"),
        (b"boom", "RuntimeError: a bug met this batch", "copy_batches: unexpected error")}
    assert "Restarting dead" not in log  # the agent went on; it did not crash


def _start_worker(supervisor: Supervisor, broker: str, tmp_path: Path) -> None:
    env = {"CRASH_BROKER": broker, "CRASH_WEB_PORT": str(free_port()),
           "CRASH_DATADIR": str(tmp_path / "faust")}
    supervisor.start("worker", "-m", "faust", "-A", "tests.integration.crashing_agent",
                     "worker", "-l", "info", env=env)


def committed(broker: str, topic: str) -> int:
    """The test group's committed offset of the topic's one partition."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": "crash-test"})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], 10)
        return int(tp.offset)
    finally:
        consumer.close()
