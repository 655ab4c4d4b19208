"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>`."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"


def sign(app_secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def signature_valid(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of the header against the body; a missing header is invalid."""
    if not header:
        return False
    return hmac.compare_digest(sign(app_secret, body).encode(), header.strip().encode())
