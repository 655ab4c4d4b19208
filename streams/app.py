"""The Faust app, configured from settings. `faust -A streams.app worker` or `topllantas worker`.

Agents live in their own modules (imported at the bottom, those of the flows this worker runs:
`WORKER_FLOWS`, streams/flows.py) so one file per flow shows what flows where; all state lives in
Faust tables, never in module globals.
"""

from __future__ import annotations

import importlib

from schemas.settings import get_settings
from schemas.topics import load_catalogue
from streams import transport
from streams.agent_errors import DeadLetteringApp
from streams.flows import app_id, modules, parse_flows


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
        # 20 ms: a `--flows stock` worker on the embedded broker ran 391 stock events/s against
        # 311/s at 5 ms (medians of three back to back, ratio 1.26), since every produce request
        # costs the broker and the worker's sender; Faust's default is 0 (a request per record).
        "producer_linger": settings.faust_producer_linger_ms / 1000,
        "Worker": "streams.worker:QuietWorker",
    }
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


flows = parse_flows(get_settings().worker_flows)
catalogue = load_catalogue()
app = DeadLetteringApp(app_id(get_settings().faust_app_id, flows), dlq_for=catalogue.dlq_of,
                       **faust_settings())

# Every worker's /metrics and message counts, then the agents of its flows (streams/flows.py).
for _module in ["streams.telemetry", *modules(flows)]:
    importlib.import_module(_module)
