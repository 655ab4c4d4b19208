"""The one place that builds Kafka clients for the pipeline's own producers and consumers.

Tansu quirks (see ARCHITECTURE.md) are applied only when the embedded broker is in use.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.settings import Settings


def confluent_producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers(),
        **settings.kafka_confluent_auth(),
        # Java-compatible key hashing, so our partitions match Faust/aiokafka and Debezium.
        "partitioner": "murmur2_random",
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "none",
        "message.max.bytes": 2_000_000,
    }
    if not settings.embedded_broker:
        config["enable.idempotence"] = True
    config.update(extra)
    return config


def aiokafka_producer(settings: Settings, **extra: Any) -> AIOKafkaProducer:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers(),
        **settings.kafka_aiokafka_auth(),
        "acks": "all",
        "linger_ms": 2,
        "max_request_size": 2_000_000,
    }
    if not settings.embedded_broker:
        kwargs["enable_idempotence"] = True
    kwargs.update(extra)
    return AIOKafkaProducer(**kwargs)


def aiokafka_consumer(settings: Settings, *topics: str, **extra: Any) -> AIOKafkaConsumer:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers(),
        **settings.kafka_aiokafka_auth(),
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
    }
    if settings.embedded_broker:
        kwargs.update(session_timeout_ms=6000, heartbeat_interval_ms=1000)
    kwargs.update(extra)
    return AIOKafkaConsumer(*topics, **kwargs)
