"""`topllantas chaos`: faults injected one at a time under a steady load, then an audit.

pipeline.py starts the embedded stack and every process of the pipeline; faults.py breaks and
heals one thing at a time; load.py keeps every flow busy and remembers what it asked for, per
fault; audit.py compares that with the ERP, the topics and the sinks' ledgers; run.py ties them
together and writes `ops/bench/results/chaos.json`.
"""
