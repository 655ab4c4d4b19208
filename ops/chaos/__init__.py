"""`topllantas chaos`: faults injected one at a time under a steady load, then an audit.

pipeline.py starts the embedded stack and every process of the pipeline; faults.py breaks and
heals one thing at a time; load.py keeps every flow busy and remembers what it asked for, per
fault; audit.py compares that with the ERP, the topics, the sinks' ledgers and the WhatsApp
double's log; report.py draws latency and memory over time; run.py ties them together and writes
`ops/bench/results/chaos.json`, the audit's evidence and a PNG beside it.
"""
