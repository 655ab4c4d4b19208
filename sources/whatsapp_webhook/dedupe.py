"""A bounded, time-limited set of recently seen ids: Meta redelivers webhooks it thinks failed."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RecentIds:
    """Remembers ids for `ttl_s`, at most `max_size` of them (oldest forgotten first).

    In-process only; the key-based idempotency downstream catches what this cache forgets.
    """

    def __init__(self, ttl_s: float = 24 * 3600, max_size: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember `key`; False when it was already remembered (a redelivery)."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now + self._ttl_s
        while len(self._seen) > self._max_size:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: str) -> None:
        """Undo `add` (the enqueue failed, so Meta's retry must get through)."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[key]
