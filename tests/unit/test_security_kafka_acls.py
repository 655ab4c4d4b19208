"""Issue #27, defect 9: the production compose ran Kafka with no authentication, so whoever
reached the broker could write `erp.commands` and have the ERP sink apply it.

docker-compose.kafka.yml cannot run here: these tests hold the file to SASL/SCRAM on every
listener with ACLs enforced, check who ops/kafka_acls.py lets write what, and that the
credentials in the settings reach every kind of Kafka client the pipeline builds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import AclOperation, ResourcePatternType

from ops.kafka_acls import allowed, bindings
from schemas.settings import Settings, get_settings
from schemas.topics import load_catalogue
from transport.clients import aiokafka_consumer, aiokafka_producer, confluent_producer_config

COMPOSE = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "docker-compose.kafka.yml").read_text())
SERVICES = COMPOSE["services"]
PROCESSES = {"cdc": "cdc", "worker": "worker", "webhook": "webhook"}


def _broker_config() -> dict[str, str]:
    script = SERVICES["kafka"]["command"][-1]
    body = script.split("<<EOF\n", 1)[1].split("\nEOF\n", 1)[0]
    return dict(line.split("=", 1) for line in body.splitlines())


def test_defect_9_every_listener_authenticates_and_acls_are_enforced() -> None:
    config = _broker_config()
    protocols = dict(p.split(":") for p in config["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, protocols  # no PLAINTEXT listener
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["authorizer.class.name"].endswith("StandardAuthorizer")
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["super.users"] == "User:admin;User:controller"
    assert "--add-scram" in SERVICES["kafka"]["command"][-1]


def test_defect_9_each_process_is_its_own_kafka_user_and_restarts() -> None:
    for service, user in PROCESSES.items():
        env = SERVICES[service]["environment"]
        assert env["KAFKA_SASL_USERNAME"] == user
        assert env["KAFKA_SASL_PASSWORD"].startswith(f"${{KAFKA_{user.upper()}_PASSWORD:?")
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert SERVICES[service]["restart"] == "unless-stopped"
    for service in ("kafka", "postgres"):
        assert SERVICES[service]["restart"] == "unless-stopped"
    assert SERVICES["topics-init"]["environment"]["KAFKA_SASL_USERNAME"] == "admin"


def test_defect_9_no_secret_defaults_and_ports_on_loopback_only() -> None:
    worker = SERVICES["worker"]["environment"]
    for name in ("DASHBOARD_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_WEBHOOK_VERIFY_TOKEN"):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", worker[name]), worker[name]
    assert worker["ERP_SINK_DATABASE_URL"].startswith("postgresql://topllantas_sink:${")
    assert worker["ERP_READER_DATABASE_URL"].startswith("postgresql://topllantas_reader:${")
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def _writers(topic: str) -> set[str]:
    rules = allowed(load_catalogue(), "topllantas")
    return {user for user, name, pattern, op in rules if op == AclOperation.WRITE and (
        name == topic if pattern == ResourcePatternType.LITERAL else topic.startswith(name))}


def test_defect_9_only_workers_write_erp_commands() -> None:
    assert _writers("erp.commands") == {"worker"}
    assert _writers("erp.public.products") == {"cdc"}
    assert _writers("erp.public.products.dlq") == {"cdc", "worker"}  # workers dead-letter too
    assert _writers("whatsapp.inbound") == {"webhook"}
    assert _writers("fleet.positions") == set()
    assert _writers("messages.outbound") == {"worker"}
    acls = bindings(allowed(load_catalogue(), "topllantas"), "topllantas")
    assert all(a.permission_type.name == "ALLOW" and a.host == "*" for a in acls)


@pytest.fixture
def sasl_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "KAFKA_SASL_USERNAME": "worker",
           "KAFKA_SASL_PASSWORD": "w0rker-pw", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


async def test_defect_9_the_credentials_reach_every_kafka_client(sasl_settings: Settings) -> None:
    from streams.faust_options import faust_settings

    confluent = confluent_producer_config(sasl_settings)
    assert (confluent["security.protocol"], confluent["sasl.mechanisms"],
            confluent["sasl.username"], confluent["sasl.password"]) == (
        "SASL_PLAINTEXT", "SCRAM-SHA-512", "worker", "w0rker-pw")
    producer, consumer = aiokafka_producer(sasl_settings), aiokafka_consumer(sasl_settings, "t")
    for kafka in (producer.client, consumer._client):  # noqa: SLF001
        assert (kafka._security_protocol, kafka._sasl_mechanism,  # noqa: SLF001
                kafka._sasl_plain_username) == ("SASL_PLAINTEXT", "SCRAM-SHA-512", "worker")  # noqa: SLF001
    credentials = faust_settings()["broker_credentials"]
    assert (credentials.username, credentials.password, credentials.mechanism.value) == (
        "worker", "w0rker-pw", "SCRAM-SHA-512")
    assert "w0rker-pw" not in repr(sasl_settings)  # a secret, never in logs or reprs
