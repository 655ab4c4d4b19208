"""The Faust app, configured from settings. `faust -A streams.app worker` or `topllantas worker`.

Agents live in their own modules (imported at the bottom) so one file per flow shows what
flows where; all state lives in Faust tables, never in module globals.
"""

from __future__ import annotations

import faust

from schemas.settings import get_settings
from schemas.topics import load_catalogue


def faust_settings() -> dict:
    settings = get_settings()
    options: dict = {
        "broker": f"kafka://{settings.bootstrap_servers()}",
        "store": "memory://",
        "datadir": str(settings.state_dir / "faust"),
        "web_host": settings.faust_web_host,
        "web_bind": settings.faust_web_host,
        "web_port": settings.faust_web_port,
        "topic_partitions": 4,
        "topic_replication_factor": 1,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": 1.0,
        "stream_buffer_maxsize": 4096,
        "table_cleanup_interval": 60.0,
        "producer_acks": -1,
    }
    if settings.embedded_broker:
        # Tansu 0.6 quirks: end offsets are right only with one record per batch (changelog
        # recovery), and a group join waits session.timeout/2.
        options.update(producer_max_batch_size=1, producer_linger=0.0,
                       broker_session_timeout=6.0, broker_heartbeat_interval=1.0,
                       broker_rebalance_timeout=20.0)
    return options


app = faust.App(get_settings().faust_app_id, **faust_settings())
catalogue = load_catalogue()

from streams import forecasting, inventory, sales_agent, sinks  # noqa: E402,F401  (agents)

from streams import buyer_loop, demand, stock_alerts  # noqa: E402,F401  # isort: skip
from streams import routing  # noqa: E402,F401  # isort: skip
from streams import analytics, dashboard  # noqa: E402,F401  # isort: skip
