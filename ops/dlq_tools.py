"""Read and replay dead-letter topics (`<topic>.dlq`) with confluent-kafka.

Replay re-produces each dead letter's original key, value and non-dead-letter headers to the
topic it came from (`dlq.source.topic`). A full replay remembers how far it got in the consumer
group `topllantas-dlq-replay`, so running it again only replays what was dead-lettered since.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from schemas.settings import Settings
from schemas.topics import DLQ_SUFFIX
from transport.clients import confluent_producer_config
from transport.dlq import DeadLetter, dlq_topic

REPLAY_GROUP = "topllantas-dlq-replay"
DLQ_HEADER_PREFIX = "dlq."


@dataclass(frozen=True)
class DlqRecord:
    topic: str
    partition: int
    offset: int
    letter: DeadLetter
    headers: list[tuple[str, bytes]]

    @property
    def target_topic(self) -> str:
        source = self.letter.source_topic
        if source and source != "?":
            return source
        return self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def replay_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]


def _consumer(settings: Settings, group: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": settings.bootstrap_servers(), "group.id": group,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "enable.partition.eof": False, **settings.kafka_confluent_auth()})


def read_dead_letters(settings: Settings, topic: str, *, limit: int | None = None,
                      from_replayed: bool = False, idle_s: float = 1.0,
                      timeout_s: float = 30.0) -> list[DlqRecord]:
    """The dead letters of `topic` (or of `topic.dlq`), oldest first per partition.

    Reads until nothing new arrives for `idle_s` (the embedded broker's end offsets are not
    reliable). `from_replayed` starts after what the last full replay already handled.
    """
    name = dlq_topic(topic)
    consumer = _consumer(settings, REPLAY_GROUP)
    try:
        metadata = consumer.list_topics(name, timeout=10)
        info = metadata.topics.get(name)
        if info is None or info.error is not None or not info.partitions:
            return []
        partitions = [TopicPartition(name, p, OFFSET_BEGINNING) for p in sorted(info.partitions)]
        if from_replayed:
            for tp in consumer.committed(partitions, timeout=10):
                if tp.offset >= 0:
                    partitions[tp.partition].offset = tp.offset
        consumer.assign(partitions)
        records: list[DlqRecord] = []
        deadline = time.monotonic() + timeout_s
        last_seen = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last_seen < idle_s:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            last_seen = time.monotonic()
            headers = [(k, v or b"") for k, v in (msg.headers() or [])]
            records.append(DlqRecord(name, msg.partition(), msg.offset(),
                                     DeadLetter.from_record(headers, msg.key(), msg.value()),
                                     headers))
            if limit is not None and len(records) >= limit:
                break
        return records
    finally:
        consumer.close()


def find_dead_letter(settings: Settings, topic: str, partition: int,
                     offset: int) -> DlqRecord | None:
    for record in read_dead_letters(settings, topic):
        if record.partition == partition and record.offset == offset:
            return record
    return None


def replay(settings: Settings, records: list[DlqRecord], *, remember: bool = False) -> int:
    """Re-produce `records` to their source topics; returns how many the broker acknowledged.

    `remember` commits the replay group's position past these records (full replays).
    """
    if not records:
        return 0
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer(confluent_producer_config(settings))
    for record in records:
        producer.produce(record.target_topic, value=record.letter.value, key=record.letter.key,
                         headers=record.replay_headers or None, on_delivery=delivered)
        producer.poll(0)
    if producer.flush(30) > 0:
        failures.append("some records were not acknowledged within 30 s")
    if failures:
        raise KafkaException(f"replay failed: {failures[0]}")
    if remember:
        _remember(settings, records)
    return len(records)


def _remember(settings: Settings, records: list[DlqRecord]) -> None:
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    consumer = _consumer(settings, REPLAY_GROUP)
    try:
        consumer.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
                        asynchronous=False)
    finally:
        consumer.close()
