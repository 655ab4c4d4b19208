"""Capped exponential backoff with jitter, shared by the sinks that retry transient failures."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (1-based): base * factor**(attempt-1), capped, jittered.

    `give_up_after_s` bounds the total time spent retrying; None retries for as long as it takes
    (the caller stays blocked, which is the back-pressure a partition needs while a sink is down).
    """

    base_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 5.0
    jitter: float = 0.2
    give_up_after_s: float | None = None

    def delay(self, attempt: int, floor_s: float = 0.0) -> float:
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1))
        spread = raw * self.jitter
        return max(floor_s, raw + random.uniform(-spread, spread))

    def exhausted(self, elapsed_s: float) -> bool:
        return self.give_up_after_s is not None and elapsed_s >= self.give_up_after_s
