"""A WhatsApp Cloud API double: a real HTTP server on loopback that answers like the Graph API.

It checks what Meta checks (bearer token, `/{version}/{phone_number_id}/messages`, body shape and
limits of text, template, reply-button and list messages, the 24-hour rule with error 131047:
free-form only within 24 h of the user's last message, templates always), enforces Meta's pair
rate limit per recipient by default (about one message per 6 s, a short burst tolerated; 131056),
answers with Meta's response and error shapes, can be told to fail the next N requests (HTTP 429
/ 130429, 131056, 500), keeps a log of accepted messages (`GET /_double/messages`, `/_double/` as
a page) and calls our webhook back, signed with the app secret, with status events (sent,
delivered, read) and simulated customer replies (text, button taps, list picks).

    python -m ops.doubles.whatsapp_double --port 8765 --webhook-url http://127.0.0.1:8080/webhook/whatsapp
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import secrets
import signal
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

from ops.doubles.whatsapp_page import render_page
from ops.doubles.whatsapp_rules import InvalidBody, check_body
from schemas.settings import Settings
from sources.whatsapp_webhook.signature import HEADER, sign

log = logging.getLogger(__name__)

FailureKind = Literal["429", "130429", "131056", "500"]
SERVICE_WINDOW = timedelta(hours=24)
PAIR_INTERVAL_S = 6.0  # Meta: about one message every 6 s from a business number to one user
PAIR_BURST = 3  # messages a recipient may get at once before the interval applies
VERSION = re.compile(r"^v\d+\.\d+$")
# HTTP status, code, message, details of each failure the double can be told to produce.
FAILURES: dict[str, tuple[int, int, str, str]] = {
    "429": (429, 130429, "(#130429) Rate limit hit",
            "Cloud API message throughput has been reached."),
    "130429": (400, 130429, "(#130429) Rate limit hit",
               "Cloud API message throughput has been reached."),
    "131056": (400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
               "Message failed to send because there were too many messages sent from this "
               "phone number to the same phone number in a short period of time."),
    "500": (500, 131000, "Something went wrong",
            "Message failed to send due to an unknown error."),
}


@dataclass
class LoggedMessage:
    wamid: str
    to: str
    type: str
    body: dict[str, Any]
    at: str
    statuses: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "template":
            params = [p.get("text", "") for c in self.body["template"].get("components", [])
                      for p in c.get("parameters", [])]
            return f"[{self.body['template']['name']}] " + " | ".join(params)
        interactive = self.body["interactive"]
        if interactive["type"] == "list":
            rows = [r["title"] for sec in interactive["action"]["sections"] for r in sec["rows"]]
            return (f"{interactive['body']['text']}  [{interactive['action']['button']}: "
                    + " · ".join(rows) + "]")
        titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
        return f"{interactive['body']['text']}  " + " ".join(f"[{t}]" for t in titles)


class GraphError(Exception):
    def __init__(self, http_status: int, code: int, message: str, details: str,
                 kind: str = "OAuthException") -> None:
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message
        self.details, self.kind = details, kind

    def response(self) -> web.Response:
        error: dict[str, Any] = {
            "message": self.message, "type": self.kind, "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
            "fbtrace_id": "A" + secrets.token_urlsafe(16)}
        headers = {"Retry-After": "1"} if self.http_status == 429 else None
        return web.json_response({"error": error}, status=self.http_status, headers=headers)


class WhatsAppDouble:
    """Start with `await double.start()` (or `async with`); `base_url` is what the sink targets."""

    def __init__(self, *, access_token: str = "dev-token",
                 phone_number_id: str = "100000000000001", app_secret: str = "dev-app-secret",
                 webhook_url: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 auto_status: bool = True, status_delay_s: float = 0.05,
                 webhook_retry_s: float = 600.0, webhook_first_retry_s: float = 1.0,
                 response_delay_s: float = 0.0, pair_interval_s: float = PAIR_INTERVAL_S,
                 pair_burst: int = PAIR_BURST) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret.encode()
        self.webhook_url = webhook_url
        self.host, self.port = host, port
        self.auto_status = auto_status
        self.status_delay_s = status_delay_s
        # Meta retries a webhook call that fails (no answer, or not 200) with growing delays for
        # up to seven days; the double does the same for `webhook_retry_s`.
        self.webhook_retry_s = webhook_retry_s
        self.webhook_first_retry_s = webhook_first_retry_s
        # Meta answers a send in a few hundred milliseconds, after it accepted the message: a
        # sender stopped meanwhile does not know the message went out.
        self.response_delay_s = response_delay_s
        # Meta's pair rate limit, as a token bucket per recipient: `pair_burst` messages at once,
        # then one per `pair_interval_s`; a message beyond it is refused with 131056 (0: no limit).
        if pair_interval_s < 0 or pair_burst < 1:
            raise ValueError("pair_interval_s must be >= 0 and pair_burst >= 1")
        self.pair_interval_s = pair_interval_s
        self.pair_burst = pair_burst
        self._pair_tokens: dict[str, tuple[float, float]] = {}  # wa_id -> (tokens, at)
        self.requests = 0
        self.webhook_calls: list[tuple[str, int]] = []  # (event summary, HTTP status)
        self._log: list[LoggedMessage] = []
        self._last_inbound: dict[str, datetime] = {}
        self._failures: deque[str] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WhatsAppDouble:
        return cls(access_token=settings.whatsapp_access_token.get_secret_value(),
                   phone_number_id=settings.whatsapp_phone_number_id,
                   app_secret=settings.whatsapp_app_secret.get_secret_value(), **kwargs)

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_post("/{version}/{phone_number_id}/messages", self._send)
        app.router.add_get("/_double/", self._page)
        app.router.add_get("/_double/messages", self._messages)
        app.router.add_post("/_double/fail", self._fail)
        app.router.add_post("/_double/inbound", self._inbound)
        app.router.add_post("/_double/reset", self._reset)
        return app

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound socket tells the real port when port=0
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WhatsAppDouble:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # ------------------------------------------------------------------ Python API
    def fail_next(self, count: int, kind: FailureKind) -> None:
        """The next `count` send requests fail with `kind`, then the double answers normally."""
        if kind not in FAILURES:
            raise ValueError(f"unknown failure kind {kind!r}; one of {sorted(FAILURES)}")
        self._failures.extend([kind] * count)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [{**asdict(m), "summary": m.summary()} for m in self._log]

    def arrivals(self) -> list[tuple[str, str]]:
        """(recipient wa_id, ISO arrival time) of every accepted message: cheap to poll."""
        return [(m.to, m.at) for m in self._log]

    def open_window(self, phone: str, at: datetime | None = None) -> None:
        """As if `phone` had written at `at` (default now), without calling the webhook."""
        self._last_inbound[_wa_id(phone)] = at or datetime.now(UTC)

    async def simulate_inbound(self, phone: str, text: str | None = None,
                               button_id: str | None = None, button_title: str | None = None,
                               name: str = "Cliente", list_row_id: str | None = None) -> str:
        """A customer writes (text), taps a reply button or picks a list row; returns the
        inbound message id."""
        wa_id = _wa_id(phone)
        self._last_inbound[wa_id] = datetime.now(UTC)
        message: dict[str, Any] = {"from": wa_id, "id": _wamid(), "timestamp": _epoch()}
        if list_row_id is not None:
            message.update(type="interactive", interactive={
                "type": "list_reply",
                "list_reply": {"id": list_row_id, "title": button_title or list_row_id}})
        elif button_id is not None:
            message.update(type="interactive", interactive={
                "type": "button_reply",
                "button_reply": {"id": button_id, "title": button_title or button_id}})
        else:
            message.update(type="text", text={"body": text or ""})
        await self._post_webhook({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                                  "messages": [message]}, f"inbound {message['id']}")
        return str(message["id"])

    async def send_status(self, wamid: str, status: str) -> None:
        logged = next((m for m in self._log if m.wamid == wamid), None)
        if logged is None:
            raise KeyError(f"no message {wamid}")
        logged.statuses.append(status)
        await self._post_webhook({"statuses": [{
            "id": wamid, "status": status, "timestamp": _epoch(), "recipient_id": logged.to,
            "conversation": {"id": secrets.token_hex(16), "origin": {"type": "service"}},
            "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}]},
            f"{status} {wamid}")

    # ------------------------------------------------------------------ Graph API
    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        try:
            self._check_auth(request)
            self._check_path(request)
            if self._failures:
                status, code, message, details = FAILURES[self._failures.popleft()]
                raise GraphError(status, code, message, details)
            try:
                body = await request.json()
            except ValueError:
                raise GraphError(400, 100, "(#100) Invalid parameter", "body is not JSON") from None
            logged = self._accept(body)
        except GraphError as error:
            return error.response()
        self._log.append(logged)
        if self.auto_status and self.webhook_url:
            self._spawn(self._lifecycle(logged.wamid))
        if self.response_delay_s:
            await asyncio.sleep(self.response_delay_s)
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": body["to"], "wa_id": logged.to}],
                                  "messages": [{"id": logged.wamid}]})

    def _check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not secrets.compare_digest(header.encode(), f"Bearer {self.access_token}".encode()):
            raise GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token",
                             "bearer token missing or wrong")

    def _check_path(self, request: web.Request) -> None:
        if not VERSION.match(request.match_info["version"]):
            raise GraphError(400, 2500, "Unknown path components", "bad API version",
                             "OAuthException")
        if request.match_info["phone_number_id"] != self.phone_number_id:
            raise GraphError(400, 100, "Unsupported post request. Object with ID "
                             f"'{request.match_info['phone_number_id']}' does not exist",
                             "unknown phone number id", "GraphMethodException")

    def _accept(self, body: Any) -> LoggedMessage:
        try:
            to, kind = check_body(body)
        except InvalidBody as exc:
            raise GraphError(400, 100, "(#100) Invalid parameter", str(exc)) from None
        wa_id = _wa_id(to)
        if kind != "template":
            last = self._last_inbound.get(wa_id)
            if last is None or datetime.now(UTC) - last >= SERVICE_WINDOW:
                raise GraphError(400, 131047, "Re-engagement message",
                                 "Message failed to send because more than 24 hours have passed "
                                 "since the customer last replied to this number.")
        self._take_pair_token(wa_id)
        return LoggedMessage(_wamid(), wa_id, kind, body, datetime.now(UTC).isoformat())

    def _take_pair_token(self, wa_id: str) -> None:
        if not self.pair_interval_s:
            return
        now = time.monotonic()
        tokens, at = self._pair_tokens.get(wa_id, (float(self.pair_burst), now))
        tokens = min(float(self.pair_burst), tokens + (now - at) / self.pair_interval_s)
        if tokens < 1.0:
            raise GraphError(*FAILURES["131056"])
        self._pair_tokens[wa_id] = (tokens - 1.0, now)

    # ------------------------------------------------------------------ webhook calls
    async def _lifecycle(self, wamid: str) -> None:
        for status in ("sent", "delivered", "read"):
            await asyncio.sleep(self.status_delay_s)
            await self.send_status(wamid, status)

    async def _post_webhook(self, value: dict[str, Any], what: str) -> None:
        if not self.webhook_url or self._session is None:
            return
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "5215550000000",
                              "phone_number_id": self.phone_number_id}, **value}
        payload = {"object": "whatsapp_business_account", "entry": [
            {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}
        raw = json.dumps(payload).encode()
        if not await self._deliver(raw, what):
            self._spawn(self._redeliver(raw, what))

    async def _deliver(self, raw: bytes, what: str) -> bool:
        """One webhook call; True when the app answered 200."""
        assert self._session is not None and self.webhook_url is not None
        headers = {"Content-Type": "application/json", HEADER: sign(self.app_secret, raw)}
        try:
            async with self._session.post(self.webhook_url, data=raw, headers=headers) as resp:
                self.webhook_calls.append((what, resp.status))
                if resp.status == 200:
                    return True
                log.warning("webhook call %s answered %s", what, resp.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("webhook call %s failed: %s", what, exc)
            self.webhook_calls.append((what, 0))
        return False

    async def _redeliver(self, raw: bytes, what: str) -> None:
        """Retries with doubling delays (at most 30 s apart) for `webhook_retry_s`, as Meta does."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.webhook_retry_s
        delay = self.webhook_first_retry_s
        while loop.time() + delay <= give_up:
            await asyncio.sleep(delay)
            if await self._deliver(raw, what):
                log.info("webhook call %s delivered on a retry", what)
                return
            delay = min(delay * 2, 30.0)
        log.warning("webhook call %s dropped after %.0f s of retries", what, self.webhook_retry_s)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ control endpoints
    async def _messages(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": self.messages, "requests": self.requests})

    async def _fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            self.fail_next(int(body.get("count", 1)), body.get("kind", "500"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"pending_failures": len(self._failures)})

    async def _inbound(self, request: web.Request) -> web.Response:
        body = await request.json()
        message_id = await self.simulate_inbound(
            body["phone"], text=body.get("text"), button_id=body.get("button_id"),
            button_title=body.get("button_title"), list_row_id=body.get("list_row_id"))
        return web.json_response({"id": message_id})

    async def _reset(self, request: web.Request) -> web.Response:
        self._log.clear()
        self._failures.clear()
        self._last_inbound.clear()
        self._pair_tokens.clear()
        self.requests = 0
        return web.json_response({"ok": True})

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(content_type="text/html",
                            text=render_page(self._log, self.requests, len(self._failures)))


def _wa_id(phone: str) -> str:
    return phone.lstrip("+")


def _wamid() -> str:
    return "wamid.HBgM" + secrets.token_urlsafe(30)


def _epoch() -> str:
    return str(int(time.time()))




async def _serve(args: argparse.Namespace) -> None:
    double = WhatsAppDouble.from_settings(Settings(), webhook_url=args.webhook_url,
                                          host=args.host, port=args.port,
                                          pair_interval_s=args.pair_interval,
                                          pair_burst=args.pair_burst)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with double:
        print(f"WhatsApp double on {double.base_url} (log: {double.base_url}/_double/)",
              flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="WhatsApp Cloud API double on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--webhook-url", default=None,
                        help="our webhook, called back with statuses and customer replies")
    parser.add_argument("--pair-interval", type=float, default=PAIR_INTERVAL_S,
                        help="Meta's pair rate limit: seconds per message to one recipient "
                             "(0 = no limit)")
    parser.add_argument("--pair-burst", type=int, default=PAIR_BURST,
                        help="messages a recipient may get at once before the interval applies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
