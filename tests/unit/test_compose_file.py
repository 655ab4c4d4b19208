"""docker-compose.kafka.yml cannot run here; check it parses and speaks our settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.kafka.yml"


def test_compose_parses_and_names_the_services() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    assert {"kafka", "postgres", "kafka-ui", "topics-init", "cdc", "worker"} <= set(
        compose["services"])
    kafka_config = compose["services"]["kafka"]["command"][-1]
    assert "process.roles=broker,controller" in kafka_config  # KRaft, no ZooKeeper
    assert "wal_level=logical" in compose["services"]["postgres"]["command"]
    assert "topics apply" in compose["services"]["topics-init"]["command"][-1]


def test_compose_environment_uses_only_known_settings() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    known = {field.alias for field in Settings.model_fields.values()} | {"TOPIC_PARTITIONS"}
    env = compose["services"]["worker"]["environment"]
    unknown = set(env) - known
    assert not unknown, f"compose sets variables Settings does not read: {unknown}"
    assert env["BROKER_PROFILE"] == "kafka"  # Tansu quirks stay off on Apache Kafka
