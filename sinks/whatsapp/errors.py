"""Cloud API failures, classified: retry later, fall back to a template, or fail the message."""

from __future__ import annotations

from typing import Any

REENGAGEMENT = 131047  # more than 24 h since the customer's last message: template only
# Throughput: 130429 (number's rate), 131056 (pair rate: same recipient), 4 / 80007 (app).
# Meta-side trouble: 1 / 2 (unknown / service), 131000 (something went wrong),
# 131016 (service unavailable), 133004 (server temporarily unavailable).
RETRYABLE_CODES = frozenset({130429, 131056, 4, 80007, 1, 2, 131000, 131016, 133004})


class WhatsAppApiError(Exception):
    """The API answered with an error: the message was not accepted."""

    def __init__(self, http_status: int, code: int | None, message: str,
                 fbtrace_id: str | None = None, retry_after_s: float | None = None,
                 details: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.fbtrace_id = fbtrace_id
        self.retry_after_s = retry_after_s
        self.details = details

    @property
    def retryable(self) -> bool:
        return (self.http_status == 429 or self.http_status >= 500
                or self.code in RETRYABLE_CODES)

    @property
    def reengagement(self) -> bool:
        return self.code == REENGAGEMENT

    def describe(self) -> str:
        extra = f" ({self.details})" if self.details else ""
        return f"WhatsApp API HTTP {self.http_status} code {self.code}: {self.message}{extra}"

    @classmethod
    def from_response(cls, http_status: int, payload: Any,
                      retry_after: str | None) -> WhatsAppApiError:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        data = error.get("error_data") or {}
        code = error.get("code")
        return cls(http_status, code if isinstance(code, int) else None,
                   str(error.get("message") or f"HTTP {http_status}"),
                   error.get("fbtrace_id"), _seconds(retry_after),
                   data.get("details") if isinstance(data, dict) else None)


class DeliveryUnknown(Exception):
    """The request may have reached the API but no answer came back (timeout, reset)."""


class NotSent(Exception):
    """The request never left (connection refused, connect timeout): safe to retry."""


def _seconds(retry_after: str | None) -> float | None:
    try:
        return float(retry_after) if retry_after else None
    except ValueError:
        return None
