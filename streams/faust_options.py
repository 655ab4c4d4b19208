"""The Faust app's options, from settings: shared by the app (streams/app.py) and by the
benchmark's bare Faust app (ops/bench/faust_floor.py), which measures Faust's own cost per event
on the same broker with the same options."""

from __future__ import annotations

import socket
import ssl

import faust

from schemas.settings import get_settings
from streams import transport
from streams.web_access import web_options


def canonical_url(configured: str | None, web_host: str, web_port: int) -> str:
    """How others reach this worker's web server: the configured URL, else its host and port
    (this machine's name when the server binds every interface, which is no address to call)."""
    if configured:
        return configured
    host = socket.gethostname() if web_host in ("0.0.0.0", "::", "") else web_host
    return f"http://{host}:{web_port}"


def faust_settings() -> dict:
    settings = get_settings()
    settings.check_worker_bind()  # beyond loopback only with a real DASHBOARD_TOKEN
    options: dict = {
        "broker": f"kafka://{settings.bootstrap_servers()}",
        "store": "memory://",
        "datadir": str(settings.state_dir / "faust"),
        "web_host": settings.faust_web_host,
        "web_bind": settings.faust_web_host,
        "web_port": settings.faust_web_port,
        "canonical_url": canonical_url(settings.faust_canonical_url, settings.faust_web_host,
                                       settings.faust_web_port),
        "topic_partitions": 4,
        "topic_replication_factor": 1,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": 1.0,
        "stream_buffer_maxsize": 4096,
        "table_cleanup_interval": 60.0,
        "producer_acks": -1,
        # 20 ms: a `--flows stock` worker on the embedded broker ran 391 stock events/s against
        # 311/s at 5 ms (medians of three back to back, ratio 1.26), since every produce request
        # costs the broker and the worker's sender; Faust's default is 0 (a request per record).
        "producer_linger": settings.faust_producer_linger_ms / 1000,
        "Worker": "streams.worker:QuietWorker",
        **web_options(),  # every page but /metrics needs the token; Faust's own pages off
    }
    if settings.kafka_sasl_username:  # SASL/SCRAM on Apache Kafka, as every other client
        password = settings.kafka_sasl_password
        options["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else "",
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=(ssl.create_default_context()
                         if settings.kafka_security_protocol == "SASL_SSL" else None))
    if settings.embedded_broker:
        # Tansu 0.6 quirks: a partition's end offset is the first offset of its last batch + 1,
        # so table recovery reads the last batch to find the true end (streams/recovery.py); a
        # fetch of several partitions waits its whole max wait (streams/transport.py); a group
        # join waits session.timeout/2.
        options.update(broker=f"{transport.SCHEME}://{settings.bootstrap_servers()}",
                       TableManager="streams.recovery:TrueEndTableManager",
                       broker_session_timeout=6.0, broker_heartbeat_interval=1.0,
                       broker_rebalance_timeout=20.0)
    return options
