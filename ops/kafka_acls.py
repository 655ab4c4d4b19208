"""Users and ACLs of the pipeline on Apache Kafka with SASL/SCRAM (docker-compose.kafka.yml).

    python -m ops.kafka_acls    # as the super user (KAFKA_SASL_USERNAME=admin); idempotent

Who may do what, derived from topics.yaml (so a new topic needs no edit here):
- `cdc` writes the ERP's change events and their dead letters (`erp.public.*`), nothing else;
- `webhook` writes `whatsapp.inbound`, `whatsapp.status` and their dead-letter topics;
- `worker` reads every catalogue topic and writes every one but the change events
  (`erp.public.<table>`), the webhook's two topics and `fleet.positions` (the trucks'
  telematics feed), plus its own consumer groups and internal topics (changelogs, the leader
  topic) under `FAUST_APP_ID`. So only workers write `erp.commands`, which the ERP sink applies;
- `admin` (a super user in the broker's configuration): topics apply, dlq replay, this script.

Each user's password comes from `KAFKA_<USER>_PASSWORD`; a missing one stops the script.
"""

from __future__ import annotations

import os
import sys

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from schemas.settings import Settings, get_settings
from schemas.topics import Catalogue, load_catalogue

USERS = ("cdc", "webhook", "worker")
CDC_PREFIX = "erp.public."
WEBHOOK_TOPICS = ("whatsapp.inbound", "whatsapp.status")
EXTERNAL_TOPICS = ("fleet.positions",)  # written by the telematics integration, not by us
SCRAM_ITERATIONS = 8192

Allow = tuple[str, str, ResourcePatternType, AclOperation]
"""(user, resource name, pattern type, operation), allowed from any host."""


def _is_change_topic(name: str) -> bool:
    return name.startswith(CDC_PREFIX) and not name.endswith(".dlq")


def allowed(catalogue: Catalogue, app_id: str) -> list[Allow]:
    """What each pipeline user may do (topics unless the operation says otherwise)."""
    lit, pre = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    rules: list[Allow] = [("cdc", CDC_PREFIX, pre, AclOperation.WRITE)]
    for topic in WEBHOOK_TOPICS:
        rules += [("webhook", topic, lit, AclOperation.WRITE),
                  ("webhook", f"{topic}.dlq", lit, AclOperation.WRITE)]
    not_ours = set(WEBHOOK_TOPICS) | set(EXTERNAL_TOPICS)
    for spec in catalogue.all_specs():
        rules.append(("worker", spec.name, lit, AclOperation.READ))
        rules.append(("worker", spec.name, lit, AclOperation.DESCRIBE_CONFIGS))
        if not _is_change_topic(spec.name) and spec.name not in not_ours:
            rules.append(("worker", spec.name, lit, AclOperation.WRITE))
    rules.append(("worker", app_id, pre, AclOperation.ALL))  # changelogs, leader topic
    return rules


def bindings(rules: list[Allow], app_id: str) -> list[AclBinding]:
    out = []
    for user, name, pattern, operation in rules:
        out.append(AclBinding(ResourceType.TOPIC, name, pattern, f"User:{user}", "*", operation,
                              AclPermissionType.ALLOW))
    out.append(AclBinding(ResourceType.GROUP, app_id, ResourcePatternType.PREFIXED,
                          "User:worker", "*", AclOperation.READ, AclPermissionType.ALLOW))
    return out


def apply(settings: Settings) -> None:
    passwords = {user: os.environ.get(f"KAFKA_{user.upper()}_PASSWORD", "") for user in USERS}
    missing = [f"KAFKA_{user.upper()}_PASSWORD" for user, pw in passwords.items() if not pw]
    if missing:
        sys.exit(f"kafka_acls: set {', '.join(missing)}")
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers(),
                         **settings.kafka_confluent_auth()})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts = [UserScramCredentialUpsertion(user, info, pw.encode())
               for user, pw in passwords.items()]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result()
    acls = bindings(allowed(load_catalogue(), settings.faust_app_id), settings.faust_app_id)
    for future in admin.create_acls(acls).values():
        future.result()
    print(f"kafka_acls: {len(USERS)} users, {len(acls)} ACLs")


if __name__ == "__main__":
    apply(get_settings())
