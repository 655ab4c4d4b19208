"""Create the catalogue's topics on the broker and report drift (confluent-kafka admin)."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from schemas.settings import Settings
from schemas.topics import Catalogue, load_catalogue


@dataclass
class TopicReport:
    topic: str
    status: str  # created | exists | drift
    detail: str = ""


def apply_catalogue(settings: Settings, catalogue: Catalogue | None = None,
                    timeout: float = 20.0) -> list[TopicReport]:
    catalogue = catalogue or load_catalogue()
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers(),
                         **settings.kafka_confluent_auth()})
    existing = admin.list_topics(timeout=timeout).topics
    missing = [s for s in catalogue.all_specs() if s.name not in existing]
    reports: list[TopicReport] = []
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, num_partitions=s.partitions, replication_factor=-1,
                      config=s.kafka_config()) for s in missing], request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result(timeout)
                reports.append(TopicReport(name, "created"))
            except Exception as exc:  # a racing creator is fine
                if "TOPIC_ALREADY_EXISTS" in str(exc):
                    reports.append(TopicReport(name, "exists"))
                else:
                    raise
    for spec in catalogue.all_specs():
        if spec.name in existing:
            actual = len(existing[spec.name].partitions)
            if actual != spec.partitions:
                reports.append(TopicReport(
                    spec.name, "drift", f"{actual} partitions, catalogue says {spec.partitions}"))
            else:
                reports.append(TopicReport(spec.name, "exists"))
    return reports
