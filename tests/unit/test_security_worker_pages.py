"""Issue #27, defect 2: the worker's built-in Faust pages leaked customer data without a token.

Every route the worker's web application serves (all flows loaded, the very aiohttp app
`topllantas worker` serves) is asked without a token and with a wrong one: only the public
allow-list answers; every other route, and Faust's own pages (`/table/…`, `/router/…`, …), gets a
401. A new page that answers without the token fails here until it is added to `PUBLIC`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

TOKEN = "pages-test-token-7f3a"
PUBLIC = {("GET", "/metrics"), ("HEAD", "/metrics")}
# Faust 0.15.3's built-in pages, with the keys the probe found data under.
BUILTIN = ["/table/", "/table/conversations/", "/table/conversations/5215512345678/",
           "/table/dim_buyers/1/", "/router/", "/router/conversations/", "/graph/", "/stats/",
           "/assignment/", "/performance/"]

PROBE = r"""
import asyncio, json, os, re, sys
from schemas.settings import get_settings
from aiohttp.test_utils import TestClient, TestServer
from streams.app import app

def concrete(path):
    return re.sub(r"\{[^}]+\}", "1", path)

async def serve(web, routes, builtin, token):
    out = {"routes": [], "builtin": []}
    async with TestClient(TestServer(web.web_app)) as client:
        for method, path in routes:
            url = concrete(path)
            anonymous = await client.request(method, url)
            wrong = await client.request(method, url, headers={"Authorization": "Bearer nope"})
            empty = await client.request(method, url, headers={"Authorization": "Bearer "})
            out["routes"].append([method, path, anonymous.status, wrong.status, empty.status,
                                  await anonymous.text() if anonymous.status == 200 else ""])
        for path in builtin:
            anonymous = await client.get(path)
            allowed = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            out["builtin"].append([path, anonymous.status, allowed.status])
    return out

async def main():
    web = app.web
    web.init_server()
    routes = sorted({(r.method, r.resource.canonical) for r in web.web_app.router.routes()
                     if r.resource is not None})
    builtin, token = json.loads(sys.argv[1]), sys.argv[2]
    result = {"token": await serve(web, routes, builtin, token)}
    os.environ["DASHBOARD_TOKEN"] = ""  # the same worker, its token left empty
    get_settings.cache_clear()
    result["empty"] = await serve(web, routes, builtin, "")
    print(json.dumps(result))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def probed() -> dict:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "WORKER_FLOWS": "all",
           "ERP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "DASHBOARD_TOKEN": TOKEN}
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(BUILTIN), TOKEN],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pages(probed: dict) -> dict:
    return probed["token"]


def test_defect_2_every_worker_route_but_the_public_ones_needs_the_token(pages: dict) -> None:
    routes = {(method, path): statuses for method, path, *statuses in pages["routes"]}
    assert len(routes) >= 6 and ("GET", "/dashboard/") in routes  # every flow's pages loaded
    assert ("POST", "/agent/release/{phone}/") in routes
    for route, (anonymous, wrong, empty, _) in routes.items():
        if route in PUBLIC:
            assert anonymous == 200, route
        else:
            assert (anonymous, wrong, empty) == (401, 401, 401), route
    assert set(routes) >= PUBLIC


def test_defect_2_faust_builtin_table_and_router_pages_are_off(pages: dict) -> None:
    for path, anonymous, with_token in pages["builtin"]:
        assert anonymous == 401, path
        assert with_token == 404, path  # not served at all, even with the token


def test_defect_2_metrics_carry_nothing_personal(pages: dict) -> None:
    metrics = next(body for method, path, *_, body in pages["routes"] if path == "/metrics")
    assert "topllantas_" in metrics
    assert not re.search(r"\b52\d{10}\b|@[a-z0-9-]+\.[a-z]{2,}", metrics)  # phones, e-mails


def test_defect_6_an_empty_dashboard_token_lets_no_page_through(probed: dict) -> None:
    empty = probed["empty"]
    release = [r for r in empty["routes"] if r[:2] == ["POST", "/agent/release/{phone}/"]]
    assert release and release[0][2:5] == [401, 401, 401]
    for method, path, anonymous, wrong, blank, _ in empty["routes"]:
        assert (method, path) in PUBLIC or (anonymous, wrong, blank) == (401, 401, 401), path
