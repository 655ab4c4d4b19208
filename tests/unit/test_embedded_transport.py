"""Worker transport settings: the embedded fetch wait, the producer linger (bounded, from
settings; streams/transport.py and streams/app.py say why) and the canonical URL."""

from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError

from schemas.settings import Settings


def test_the_fetch_wait_defaults_to_100_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDDED_FETCH_MAX_WAIT_MS", raising=False)
    assert Settings(_env_file=None).embedded_fetch_max_wait_ms == 100


def test_the_fetch_wait_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDED_FETCH_MAX_WAIT_MS", "20")
    assert Settings(_env_file=None).embedded_fetch_max_wait_ms == 20


@pytest.mark.parametrize("wait", ["0", "5000"])
def test_a_fetch_wait_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, wait: str) -> None:
    monkeypatch.setenv("EMBEDDED_FETCH_MAX_WAIT_MS", wait)
    with pytest.raises(ValidationError, match="EMBEDDED_FETCH_MAX_WAIT_MS"):
        Settings(_env_file=None)


def test_the_workers_producer_linger_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # no broker is contacted
    monkeypatch.setenv("FAUST_PRODUCER_LINGER_MS", "35")
    from streams.faust_options import faust_settings

    assert faust_settings()["producer_linger"] == pytest.approx(0.035)


def test_the_canonical_url_is_an_address_others_can_call() -> None:
    from streams.faust_options import canonical_url

    assert canonical_url(None, "127.0.0.1", 6066) == "http://127.0.0.1:6066"
    assert canonical_url(None, "0.0.0.0", 6067) == f"http://{socket.gethostname()}:6067"
    assert canonical_url("http://worker-2.internal:6066", "0.0.0.0", 6066) == (
        "http://worker-2.internal:6066")
