"""Issue #27, defect 6: empty or development secrets were accepted on a public address.

Binding beyond loopback with an empty or default secret refuses to start, naming it; an empty
app secret or verify token accepts nothing, even on loopback. (An empty DASHBOARD_TOKEN letting
no page through, `POST /agent/release/…` included: tests/unit/test_security_worker_pages.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aiohttp.test_utils import TestClient, TestServer

from schemas.settings import InsecureSettings, Settings
from sources.whatsapp_webhook import HEADER, WEBHOOK_PATH, build_webhook_app, sign


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli.main", *args], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", **env})


@pytest.mark.parametrize("token", ["", "dev-dashboard-token"])
def test_defect_6_a_worker_on_every_interface_refuses_a_weak_dashboard_token(token: str) -> None:
    result = _cli("worker", FAUST_WEB_HOST="0.0.0.0", DASHBOARD_TOKEN=token)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "refusing to listen on 0.0.0.0: DASHBOARD_TOKEN empty or a development default" \
        in result.stderr


@pytest.mark.parametrize(("secret", "verify", "named"), [
    ("", "a-real-verify-token", "WHATSAPP_APP_SECRET"),
    ("dev-app-secret", "a-real-verify-token", "WHATSAPP_APP_SECRET"),
    ("a-real-app-secret", "", "WHATSAPP_WEBHOOK_VERIFY_TOKEN"),
])
def test_defect_6_the_webhook_on_every_interface_refuses_weak_secrets(
        secret: str, verify: str, named: str) -> None:
    result = _cli("webhook", "--host", "0.0.0.0", "--port", "1",
                  WHATSAPP_APP_SECRET=secret, WHATSAPP_WEBHOOK_VERIFY_TOKEN=verify)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"refusing to listen on 0.0.0.0: {named}" in result.stderr


def test_defect_6_strong_secrets_or_loopback_are_accepted() -> None:
    strong = Settings(FAUST_WEB_HOST="0.0.0.0", DASHBOARD_TOKEN="k3y-of-the-ops-team",
                      WHATSAPP_APP_SECRET="meta-app-secret-1", WHATSAPP_WEBHOOK_VERIFY_TOKEN="v-2")
    strong.check_worker_bind()
    strong.check_webhook_bind("0.0.0.0")
    Settings(DASHBOARD_TOKEN="").check_worker_bind()  # loopback: the developer's choice
    with pytest.raises(InsecureSettings, match="10.0.0.5: DASHBOARD_TOKEN"):
        Settings(FAUST_WEB_HOST="10.0.0.5", DASHBOARD_TOKEN="").check_worker_bind()


async def test_defect_6_an_empty_app_secret_or_verify_token_accepts_nothing() -> None:
    settings = Settings(WHATSAPP_APP_SECRET="", WHATSAPP_WEBHOOK_VERIFY_TOKEN="",
                        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    app = build_webhook_app(settings, producer=None)  # type: ignore[arg-type]  # never reached
    async with TestClient(TestServer(app)) as client:
        body = b'{"entry": []}'
        signed = await client.post(WEBHOOK_PATH, data=body, headers={HEADER: sign(b"", body)})
        assert signed.status == 401
        handshake = await client.get(WEBHOOK_PATH, params={
            "hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"})
        assert handshake.status == 403
