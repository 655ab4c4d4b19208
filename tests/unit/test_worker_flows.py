"""Which flows a worker runs, and the Faust app each flow group becomes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.flows import FLOWS, UnknownFlow, app_id, modules, parse_flows


def test_all_is_every_flow_in_one_app_named_as_before() -> None:
    assert parse_flows("all") == list(FLOWS) == parse_flows("") == parse_flows(" , ")
    assert app_id("topllantas", parse_flows("all")) == "topllantas"


def test_a_subset_is_its_own_app_whatever_the_order_it_was_named_in() -> None:
    assert parse_flows("sinks, agent,agent") == ["agent", "sinks"]
    assert app_id("topllantas", parse_flows("sinks,agent")) == "topllantas-agent-sinks"
    assert modules(["stock"]) == ["streams.inventory", "streams.demand", "streams.stock_alerts",
                                  "streams.buyer_loop"]


def test_every_module_of_every_flow_exists() -> None:
    from importlib.util import find_spec

    assert all(find_spec(module) for module in modules(list(FLOWS)))


def test_an_unknown_flow_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownFlow, match="unknown flow.*stok.*known: all, stock"):
        parse_flows("stok")


def test_the_worker_command_refuses_an_unknown_flow() -> None:
    result = subprocess.run([sys.executable, "-m", "ops.cli.main", "worker", "--flows", "stok"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unknown flow(s) stok" in result.stderr


def test_every_topic_an_agent_reads_has_a_dead_letter_topic() -> None:
    """A record an agent rejects or raises on is dead-lettered (streams/dead_letters.py), never
    only logged: every source topic of every flow's agents is declared `dlq: true`."""
    script = (
        "from streams.app import app, catalogue\n"
        "for agent in app.agents.values():\n"
        "    for topic in agent.channel.topics:\n"
        "        print(topic, catalogue.dlq_of(topic))\n"
    )
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "WORKER_FLOWS": "all",
           "ERP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    sources = dict(line.split(" ") for line in result.stdout.splitlines())
    assert len(sources) > 30  # every flow's agents were loaded
    assert {topic for topic, dlq in sources.items() if dlq == "None"} == set()
