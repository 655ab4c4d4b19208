"""The Faust app, configured from settings. `faust -A streams.app worker` or `topllantas worker`.

Agents live in their own modules (imported at the bottom, those of the flows this worker runs:
`WORKER_FLOWS`, streams/flows.py) so one file per flow shows what flows where; all state lives in
Faust tables, never in module globals.
"""

from __future__ import annotations

import importlib

from schemas.settings import get_settings
from schemas.topics import load_catalogue
from streams.dead_letters import DeadLetteringApp
from streams.faust_options import faust_settings
from streams.flow_control import keep_fetched_on_resume
from streams.flows import app_id, modules, parse_flows

flows = parse_flows(get_settings().worker_flows)
catalogue = load_catalogue()
app = DeadLetteringApp(app_id(get_settings().faust_app_id, flows), dlq_for=catalogue.dlq_of,
                       **faust_settings())
keep_fetched_on_resume(app)  # a rebalance repeats events rather than losing some

# Every worker's /metrics and message counts, then the agents of its flows (streams/flows.py).
for _module in ["streams.telemetry", *modules(flows)]:
    importlib.import_module(_module)
