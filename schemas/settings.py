"""The one settings object. Values come from environment variables or `.env`.

Safe defaults target the embedded stack that `topllantas dev up` starts: when
`KAFKA_BOOTSTRAP_SERVERS` / `ERP_DATABASE_URL` are unset, the endpoints are read from the
stack's state file. Secrets are `SecretStr`, so they never show up in logs or reprs.
"""

from __future__ import annotations

import json
import ssl
from datetime import time as dt_time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StackNotRunning(RuntimeError):
    """No explicit endpoint is configured and the embedded stack is not up."""


class InsecureSettings(RuntimeError):
    """A process would listen beyond loopback with an empty or development secret."""


# The development defaults below: fine on loopback, refused on any other address.
DEV_SECRETS = frozenset({"dev-app-secret", "dev-verify-token", "dev-dashboard-token", "change-me"})
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def weak_secrets(host: str, secrets: dict[str, SecretStr | None]) -> None:
    """Raise `InsecureSettings` naming the secrets (variables) that are empty or a development
    default, when `host` is not a loopback address (`0.0.0.0`, a LAN address, a host name)."""
    if host in LOOPBACK or host.startswith("127."):
        return
    weak = [name for name, value in secrets.items()
            if value is None or value.get_secret_value() in DEV_SECRETS | {""}]
    if weak:
        raise InsecureSettings(
            f"refusing to listen on {host}: {', '.join(weak)} empty or a development default; "
            "set a strong secret, or bind 127.0.0.1")


SINK_ROLE, READER_ROLE = "topllantas_sink", "topllantas_reader"


def _user(dsn: str) -> str:
    return unquote(urlsplit(dsn).username or "")


def _with_user(dsn: str, user: str) -> str:
    """`dsn` connecting as `user`, without a password."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}@{host}"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_prefix="")

    # --- where things live
    state_dir: Path = Field(Path(".state"), alias="TOPLLANTAS_STATE_DIR")

    # --- broker
    kafka_bootstrap_servers: str | None = Field(None, alias="KAFKA_BOOTSTRAP_SERVERS")
    broker_profile: Literal["auto", "embedded", "kafka"] = Field("auto", alias="BROKER_PROFILE")
    embedded_broker_port: int = Field(0, alias="EMBEDDED_BROKER_PORT")
    # The embedded broker answers a fetch of several partitions only when its wait runs out, and
    # spends CPU for as long as a fetch waits (streams/transport.py): per-hop latency vs. CPU.
    embedded_fetch_max_wait_ms: int = Field(100, alias="EMBEDDED_FETCH_MAX_WAIT_MS", ge=1,
                                            le=1500)
    # SASL/SCRAM on Apache Kafka (docker-compose.kafka.yml): every client of this process
    # authenticates as this user, whose ACLs say what it may read and write. Unset: PLAINTEXT
    # (the embedded broker, open on loopback only).
    kafka_sasl_username: str | None = Field(None, alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, alias="KAFKA_SASL_PASSWORD")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", alias="KAFKA_SASL_MECHANISM")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL")

    # --- ERP database
    erp_database_url: SecretStr | None = Field(None, alias="ERP_DATABASE_URL")
    erp_sink_database_url: SecretStr | None = Field(None, alias="ERP_SINK_DATABASE_URL")
    erp_reader_database_url: SecretStr | None = Field(None, alias="ERP_READER_DATABASE_URL")
    embedded_pg_port: int = Field(0, alias="EMBEDDED_PG_PORT")

    # --- CDC
    cdc_slot: str = Field("topllantas_cdc", alias="CDC_SLOT")
    cdc_publication: str = Field("topllantas_pub", alias="CDC_PUBLICATION")
    cdc_schema: str = Field("public", alias="CDC_SCHEMA")
    # longest wait for a replication message before checking for shutdown / idle confirmation
    cdc_poll_interval_ms: int = Field(20, alias="CDC_POLL_INTERVAL_MS")
    # The most messages per batch (cut at a COMMIT; a batch ends sooner when no more are
    # waiting, so it only fills when CDC is behind). Each batch waits for the broker's
    # acknowledgement, so CDC keeps up with at most this many rows per acknowledgement: at 10k,
    # the embedded broker's 5-10 s acknowledgements under a saturated soak capped CDC below the
    # ERP's ~1.5k rows/s, and it fell minutes behind.
    cdc_batch_rows: int = Field(50_000, alias="CDC_BATCH_ROWS", ge=1)
    # Snapshot only this many days of history tables (topics.yaml `snapshot_where`); unset =
    # every row, as Debezium does by default. Streamed changes are never filtered.
    cdc_snapshot_days: int | None = Field(None, alias="CDC_SNAPSHOT_DAYS", ge=1)

    # --- Faust
    faust_app_id: str = Field("topllantas", alias="FAUST_APP_ID")
    faust_web_port: int = Field(6066, alias="FAUST_WEB_PORT")
    faust_web_host: str = Field("127.0.0.1", alias="FAUST_WEB_HOST")
    # How the other workers and clients reach this worker's web server (pages that read a table
    # key redirect to the worker owning it: streams/table_pages.py). Unset: http://<web host>:
    # <web port>, with this machine's host name when the web server binds every interface.
    faust_canonical_url: str | None = Field(None, alias="FAUST_CANONICAL_URL")
    topic_partitions: int | None = Field(None, alias="TOPIC_PARTITIONS")
    # How long a worker's producer waits to fill a batch: fewer, bigger produce requests for a
    # little latency per hop (streams/app.py has the measurements).
    faust_producer_linger_ms: int = Field(20, alias="FAUST_PRODUCER_LINGER_MS", ge=0, le=1000)
    # Which flows a worker runs: "all", or a comma list of streams/flows.py's names. Each
    # distinct list is its own Faust app (consumer group, tables); workers with the same list
    # share its partitions.
    worker_flows: str = Field("all", alias="WORKER_FLOWS")
    # Where the per-order tables (analytics_orders, sales_order_state: one record per open order,
    # swept after ANALYTICS_RETENTION_DAYS) keep their records: "rocksdb" on local disk (a
    # worker's memory stays bounded however many orders the window holds; streams/table_stores.py)
    # or "memory" (every record on the heap). Either way the changelog topic is the truth: the
    # local store starts empty in each worker process and is rebuilt from it.
    order_table_store: Literal["rocksdb", "memory"] = Field("rocksdb", alias="ORDER_TABLE_STORE")
    # Per RocksDB database (one per table partition): block cache and write buffer, in MB.
    rocksdb_cache_mb: int = Field(8, alias="ROCKSDB_CACHE_MB", ge=1, le=4096)
    rocksdb_write_buffer_mb: int = Field(4, alias="ROCKSDB_WRITE_BUFFER_MB", ge=1, le=1024)

    # --- WhatsApp Cloud API (defaults point at the loopback double)
    whatsapp_base_url: str = Field("http://127.0.0.1:8765", alias="WHATSAPP_BASE_URL")
    whatsapp_api_version: str = Field("v21.0", alias="WHATSAPP_API_VERSION")
    whatsapp_access_token: SecretStr = Field(SecretStr("dev-token"), alias="WHATSAPP_ACCESS_TOKEN")
    whatsapp_phone_number_id: str = Field("100000000000001", alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_app_secret: SecretStr = Field(SecretStr("dev-app-secret"), alias="WHATSAPP_APP_SECRET")
    whatsapp_verify_token: SecretStr = Field(
        SecretStr("dev-verify-token"), alias="WHATSAPP_WEBHOOK_VERIFY_TOKEN"
    )

    # --- LLM (any OpenAI-compatible endpoint); no key means the deterministic path
    llm_base_url: str | None = Field(None, alias="LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(None, alias="LLM_API_KEY")
    llm_model: str = Field("gpt-4o-mini", alias="LLM_MODEL")
    llm_timeout_s: float = Field(8.0, alias="LLM_TIMEOUT_S")
    llm_max_retries: int = Field(1, alias="LLM_MAX_RETRIES")
    # After a turn whose LLM calls failed (timeouts, 5xx), the LLM rests this long: the turns
    # in between get the deterministic agent at once instead of waiting out the timeout too.
    llm_cooldown_s: float = Field(30.0, alias="LLM_COOLDOWN_S", ge=0)
    # Customers' voice notes and photos: transcribed / read on the same OpenAI-compatible
    # endpoint when a model is named (unset: the agent asks the customer to type instead).
    llm_transcribe_model: str | None = Field(None, alias="LLM_TRANSCRIBE_MODEL")
    llm_vision_model: str | None = Field(None, alias="LLM_VISION_MODEL")

    # --- the sales agent's worker: customers' turns at once (each customer's in order), and the
    # inbound records read but not yet committed before the stream waits (a turn waiting on the
    # model holds its partition's commits, not the other customers)
    agent_concurrency: int = Field(200, ge=1, alias="AGENT_CONCURRENCY")
    agent_max_pending: int = Field(2000, ge=1, alias="AGENT_MAX_PENDING")

    # --- humans behind the bot
    sales_team_email: str = Field("ventas@topllantas.mx", alias="SALES_TEAM_EMAIL")

    # --- e-mail
    smtp_host: str = Field("127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(8025, alias="SMTP_PORT")
    smtp_user: str | None = Field(None, alias="SMTP_USER")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_from: str = Field("alertas@topllantas.mx", alias="SMTP_FROM")

    # --- dashboard
    dashboard_token: SecretStr = Field(SecretStr("dev-dashboard-token"), alias="DASHBOARD_TOKEN")
    # Days of sales the dashboard counters follow: an order idle this long leaves the
    # enrichment's state, and a day's sales counters are final once it is this old. At least
    # 29: the sales target compares with the same weekday of the four weeks before.
    analytics_retention_days: int = Field(35, alias="ANALYTICS_RETENTION_DAYS", ge=29)

    # --- the stock flow's first evaluation (streams/stock_alerts.py): snapshot inputs are only
    # recorded, and evaluated once no snapshot input came for this long (or, when no snapshot
    # demand came at all, once the snapshot positions were quiet for the second)
    stock_settle_s: float = Field(15.0, alias="STOCK_SETTLE_S", gt=0)
    stock_settle_without_demand_s: float = Field(60.0, alias="STOCK_SETTLE_WITHOUT_DEMAND_S", gt=0)

    # --- the buyer's attention budget (processors/inventory/attention.py; times Mexico City)
    attention_gather_window_s: float = Field(600.0, alias="ATTENTION_GATHER_WINDOW_S", gt=0)
    attention_daily_cap: int = Field(12, alias="ATTENTION_DAILY_CAP", ge=1)
    attention_digest_at: dt_time = Field(dt_time(7, 0), alias="ATTENTION_DIGEST_AT")
    # Equal start and end: no quiet hours.
    attention_quiet_start: dt_time = Field(dt_time(21, 0), alias="ATTENTION_QUIET_START")
    attention_quiet_end: dt_time = Field(dt_time(7, 0), alias="ATTENTION_QUIET_END")
    # The first evaluation's alerts of a buyer go out as one summary once none came for this long.
    attention_golive_quiet_s: float = Field(10.0, alias="ATTENTION_GOLIVE_QUIET_S", gt=0)

    # ------------------------------------------------------------------ derived
    def kafka_confluent_auth(self) -> dict[str, str]:
        """confluent-kafka settings that authenticate this process (empty: PLAINTEXT)."""
        if not self.kafka_sasl_username:
            return {}
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        return {"security.protocol": self.kafka_security_protocol,
                "sasl.mechanisms": self.kafka_sasl_mechanism,
                "sasl.username": self.kafka_sasl_username, "sasl.password": password}

    def kafka_aiokafka_auth(self) -> dict[str, Any]:
        """aiokafka keyword arguments that authenticate this process (empty: PLAINTEXT)."""
        if not self.kafka_sasl_username:
            return {}
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        auth: dict[str, Any] = {"security_protocol": self.kafka_security_protocol,
                                "sasl_mechanism": self.kafka_sasl_mechanism,
                                "sasl_plain_username": self.kafka_sasl_username,
                                "sasl_plain_password": password}
        if self.kafka_security_protocol == "SASL_SSL":
            auth["ssl_context"] = ssl.create_default_context()
        return auth

    def check_worker_bind(self) -> None:
        """A worker's web server beyond loopback needs a real DASHBOARD_TOKEN."""
        weak_secrets(self.faust_web_host, {"DASHBOARD_TOKEN": self.dashboard_token})

    def check_webhook_bind(self, host: str) -> None:
        """The webhook beyond loopback needs a real app secret and verify token."""
        weak_secrets(host, {"WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
                            "WHATSAPP_WEBHOOK_VERIFY_TOKEN": self.whatsapp_verify_token})

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def embedded_broker(self) -> bool:
        """Tansu quirks apply only to the embedded broker."""
        if self.broker_profile != "auto":
            return self.broker_profile == "embedded"
        return self.kafka_bootstrap_servers is None

    def _stack(self) -> dict:
        try:
            return json.loads(self.stack_file.read_text())
        except FileNotFoundError:
            raise StackNotRunning(
                "no KAFKA_BOOTSTRAP_SERVERS / ERP_DATABASE_URL set and the embedded stack is not "
                f"up (no {self.stack_file}); run `topllantas dev up` first"
            ) from None

    def bootstrap_servers(self) -> str:
        if self.kafka_bootstrap_servers:
            return self.kafka_bootstrap_servers
        return f"127.0.0.1:{self._stack()['broker']['port']}"

    def erp_dsn(self) -> str:
        """DSN of the ERP as its owner (CDC, seeding, read-only tools)."""
        if self.erp_database_url:
            return self.erp_database_url.get_secret_value()
        pg = self._stack()["postgres"]
        return f"postgresql://erp@127.0.0.1:{pg['port']}/erp"

    def erp_reader_dsn(self) -> str:
        """DSN of the read-only role the sales agent's tools use (never the owner's)."""
        return self._role_dsn(self.erp_reader_database_url, READER_ROLE)

    def erp_sink_dsn(self) -> str:
        """DSN of the least-privilege role the ERP sink writes as (never the owner's)."""
        return self._role_dsn(self.erp_sink_database_url, SINK_ROLE)

    def _role_dsn(self, configured: SecretStr | None, role: str) -> str:
        """The configured URL of `role`; else the ERP's URL with `role` as the user and no
        password (the owner's password is never reused); refused when it names the owner."""
        owner = self.erp_dsn()
        dsn = configured.get_secret_value() if configured else _with_user(owner, role)
        if _user(dsn) in (_user(owner), ""):
            raise InsecureSettings(
                f"the {role} URL connects as the ERP owner ({_user(owner) or 'default user'}); "
                f"point it at the {role} role (ops/erp/roles.sql)")
        return dsn


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
