"""A WhatsApp Cloud API double: a real HTTP server on loopback that answers like the Graph API.

It checks what Meta checks (bearer token, `/{version}/{phone_number_id}/messages`, body shape and
limits, the 24-hour rule with error 131047), answers with Meta's response and error shapes, can
be told to fail the next N requests (HTTP 429 / 130429, 131056, 500) or to enforce the pair rate
limit per recipient (131056), keeps a log of accepted messages (`GET /_double/messages`,
`/_double/` as a page) and calls our webhook back, signed with the app secret, with status events
(sent, delivered, read) and simulated customer replies.

    python -m ops.doubles.whatsapp_double --port 8765 --webhook-url http://127.0.0.1:8080/webhook/whatsapp
"""

from __future__ import annotations

import argparse
import asyncio
import html
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

from schemas.settings import Settings
from sources.whatsapp_webhook.signature import HEADER, sign

log = logging.getLogger(__name__)

FailureKind = Literal["429", "130429", "131056", "500"]
SERVICE_WINDOW = timedelta(hours=24)
VERSION = re.compile(r"^v\d+\.\d+$")
PHONE = re.compile(r"^\+?\d{8,15}$")
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
                 response_delay_s: float = 0.0, pair_interval_s: float = 0.0) -> None:
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
        # Meta's pair rate limit: a message to a recipient sooner than this after the last one
        # accepted for it is refused with 131056 (0: no limit).
        self.pair_interval_s = pair_interval_s
        self._last_accepted: dict[str, float] = {}
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
                               name: str = "Cliente") -> str:
        """A customer writes (text) or taps a reply button; returns the inbound message id."""
        wa_id = _wa_id(phone)
        self._last_inbound[wa_id] = datetime.now(UTC)
        message: dict[str, Any] = {"from": wa_id, "id": _wamid(), "timestamp": _epoch()}
        if button_id is not None:
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
        def invalid(details: str) -> GraphError:
            return GraphError(400, 100, "(#100) Invalid parameter", details)

        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            raise invalid("messaging_product must be 'whatsapp'")
        to = body.get("to")
        if not isinstance(to, str) or not PHONE.match(to):
            raise invalid("'to' must be a phone number")
        kind = body.get("type")
        if kind == "text":
            text = (body.get("text") or {}).get("body")
            if not isinstance(text, str) or not 1 <= len(text) <= 4096:
                raise invalid("text.body must have 1..4096 characters")
        elif kind == "template":
            template = body.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                raise invalid("template needs name and language.code")
        elif kind == "interactive":
            _check_interactive(body.get("interactive"), invalid)
        else:
            raise invalid(f"unsupported message type {kind!r}")
        context = body.get("context")
        if context is not None and not (isinstance(context, dict) and isinstance(
                context.get("message_id"), str) and context["message_id"]):
            raise invalid("context.message_id must be a message id")
        wa_id = _wa_id(to)
        if kind != "template":
            last = self._last_inbound.get(wa_id)
            if last is None or datetime.now(UTC) - last >= SERVICE_WINDOW:
                raise GraphError(400, 131047, "Re-engagement message",
                                 "Message failed to send because more than 24 hours have passed "
                                 "since the customer last replied to this number.")
        if self.pair_interval_s:
            now, last = time.monotonic(), self._last_accepted.get(wa_id)
            if last is not None and now - last < self.pair_interval_s:
                raise GraphError(*FAILURES["131056"])
            self._last_accepted[wa_id] = now
        return LoggedMessage(_wamid(), wa_id, kind, body, datetime.now(UTC).isoformat())

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
            button_title=body.get("button_title"))
        return web.json_response({"id": message_id})

    async def _reset(self, request: web.Request) -> web.Response:
        self._log.clear()
        self._failures.clear()
        self._last_inbound.clear()
        self.requests = 0
        return web.json_response({"ok": True})

    async def _page(self, request: web.Request) -> web.Response:
        rows = "\n".join(
            f"<tr><td>{html.escape(m.at[11:19])}</td><td>{html.escape(m.to)}</td>"
            f"<td class='{m.type}'>{m.type}</td><td>{html.escape(m.summary())}</td>"
            f"<td>{html.escape(' → '.join(m.statuses))}</td>"
            f"<td><code>{html.escape(m.wamid[:22])}…</code></td></tr>"
            for m in reversed(self._log))
        return web.Response(content_type="text/html", text=PAGE.format(
            count=len(self._log), requests=self.requests, pending=len(self._failures),
            rows=rows or "<tr><td colspan=6>no messages yet</td></tr>"))


def _check_interactive(interactive: Any, invalid: Any) -> None:
    if not isinstance(interactive, dict) or interactive.get("type") != "button":
        raise invalid("interactive.type must be 'button'")
    text = (interactive.get("body") or {}).get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 1024:
        raise invalid("interactive.body.text must have 1..1024 characters")
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise invalid("interactive buttons must be 1..3")
    ids: set[str] = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if (not isinstance(reply, dict) or button.get("type") != "reply"
                or not reply.get("id") or not reply.get("title")):
            raise invalid("each button needs type 'reply' with reply.id and reply.title")
        if len(reply["title"]) > 20:
            raise invalid(f"button title {reply['title']!r} longer than 20 characters")
        ids.add(reply["id"])
    if len(ids) != len(buttons):
        raise invalid("button ids must be unique")


def _wa_id(phone: str) -> str:
    return phone.lstrip("+")


def _wamid() -> str:
    return "wamid.HBgM" + secrets.token_urlsafe(30)


def _epoch() -> str:
    return str(int(time.time()))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>WhatsApp double · TopLlantas</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #f0f2f5; color: #111; }}
 h1 {{ color: #075e54; margin-bottom: .2rem; }}
 table {{ border-collapse: collapse; width: 100%; background: #fff; }}
 th, td {{ padding: .45rem .7rem; border-bottom: 1px solid #e4e6eb; text-align: left; }}
 th {{ background: #128c7e; color: #fff; }}
 td.template {{ color: #8e44ad; }} td.interactive {{ color: #d35400; }}
 td.text {{ color: #075e54; }}
 .meta {{ color: #555; margin-bottom: 1rem; }}
</style></head><body>
<h1>WhatsApp Cloud API double</h1>
<div class="meta">{count} messages accepted · {requests} requests ·
 {pending} failures pending</div>
<table><tr><th>time</th><th>to</th><th>type</th><th>content</th><th>statuses</th><th>id</th></tr>
{rows}
</table></body></html>"""


async def _serve(args: argparse.Namespace) -> None:
    double = WhatsAppDouble.from_settings(Settings(), webhook_url=args.webhook_url,
                                          host=args.host, port=args.port)
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
