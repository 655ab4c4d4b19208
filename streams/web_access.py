"""Who may read the worker's web server: one guard in front of every route.

Every request but those to `PUBLIC_PATHS` needs `settings.dashboard_token`, as
`Authorization: Bearer <token>` or `?token=<token>` (the query form survives the 307 a table-key
page answers with: clients drop the header on a redirect to another worker); anything else gets
a 401 (the dashboard's login page when a browser asks). An empty token lets nothing through.

The guard is an aiohttp middleware of the web application itself (Faust's
`web_application_options`), so it covers the app's pages, Faust's built-in blueprints, and any
page added later, including paths no route matches. Faust's built-in pages (`/table/…` reads
any table key: whole WhatsApp conversations, buyers' phones; `/router/…` the cluster's
workers; `/graph/`, `/stats/`, `/performance/`) are turned off as well (`BUILTIN_PAGES_OFF`).

`/metrics` is public, as Prometheus scrapers expect: counters per topic, agent and outcome,
nothing about a customer.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from aiohttp import web

from schemas.settings import get_settings

PUBLIC_PATHS = frozenset({"/metrics"})
BUILTIN_PAGES_OFF = {"web_tables_enabled": False, "web_router_enabled": False,
                     "web_stats_enabled": False, "web_graph_enabled": False,
                     "web_metrics_enabled": False}
LOGIN_PAGE = Path(__file__).resolve().parent.parent / "ops" / "dashboard" / "unauthorized.html"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authorized(headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """The request carries the dashboard token (never true while the token is empty)."""
    expected = get_settings().dashboard_token.get_secret_value().encode()
    header = headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else query.get("token", "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or authorized(request.headers, request.query):
        return await handler(request)
    if "text/html" in request.headers.get("Accept", ""):
        return web.Response(text=LOGIN_PAGE.read_text(), status=401, content_type="text/html")
    return web.json_response({"error": "Authorization: Bearer <DASHBOARD_TOKEN> required"},
                             status=401)


def web_options() -> dict:
    """The Faust app options that put the guard in front of every route."""
    return {"web_application_options": {"middlewares": [require_token]}, **BUILTIN_PAGES_OFF}
