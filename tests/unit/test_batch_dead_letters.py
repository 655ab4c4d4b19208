"""`dead_letter_until_sent`, the dead-lettering of what a bug met in an agent, when the broker
refuses the
dead-letter writes for a while: every record still reaches the dead letters, once and in order,
after retries that back off, unless the worker is stopping (the broker itself is tested in
tests/integration/test_agent_errors.py).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from streams import dead_letters
from streams.dead_letters import dead_letter_until_sent


class FlakyDeadLetters:
    """Stands in for the app's `dead_letter`: the first `failures` writes raise, as an aiokafka
    send does when the broker is unreachable."""

    def __init__(self, failures: int, *, stopping: bool = False) -> None:
        self.failures = failures
        self.should_stop = stopping
        self.written: list[int] = []

    async def dead_letter(self, event: Any, exc: BaseException, stage: str,
                          acknowledged: bool = False) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        assert stage == "sink: unexpected error" and str(exc) == "bug" and acknowledged
        self.written.append(event.message.offset)


def _events(n: int) -> list[Any]:
    return [SimpleNamespace(message=SimpleNamespace(topic="t", partition=0, offset=i))
            for i in range(n)]


def test_failed_dead_letter_writes_are_retried_with_backoff_until_every_record_is_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(dead_letters.asyncio, "sleep", no_wait)
    app = FlakyDeadLetters(failures=7)
    asyncio.run(dead_letter_until_sent(app, _events(3), RuntimeError("bug"), "sink"))  # type: ignore[arg-type]
    assert app.written == [0, 1, 2]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_worker_that_is_stopping_gets_the_error_instead_of_retries() -> None:
    app = FlakyDeadLetters(failures=1, stopping=True)
    with pytest.raises(ConnectionError):
        asyncio.run(dead_letter_until_sent(app, _events(2), RuntimeError("bug"), "sink"))  # type: ignore[arg-type]
    assert app.written == []


def test_a_stop_while_waiting_to_retry_ends_the_retries() -> None:
    async def stop_during_retry() -> list[int]:
        app = FlakyDeadLetters(failures=1_000)
        task = asyncio.create_task(
            dead_letter_until_sent(app, _events(2), RuntimeError("bug"), "sink"))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return app.written

    assert asyncio.run(stop_during_retry()) == []


def test_decoded_returns_the_value_or_dead_letters_the_record() -> None:
    from streams.dead_letters import decoded

    class App:
        def __init__(self) -> None:
            self.dead: list[str] = []

        async def dead_letter(self, event: Any, error: BaseException, stage: str) -> None:
            self.dead.append(f"{stage}: {error}")

    app = App()

    def event(value: bytes) -> Any:
        return SimpleNamespace(app=app, value=value)

    def parse(value: bytes, base: int) -> int:
        return int(value, base)

    assert asyncio.run(decoded(event(b"ff"), "hex", parse, 16)) == 255
    assert asyncio.run(decoded(event(b"zz"), "hex", parse, 16)) is None
    assert app.dead == ["hex: invalid literal for int() with base 16: b'zz'"]
