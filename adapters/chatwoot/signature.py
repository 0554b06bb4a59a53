"""Chatwoot's webhook signature: `X-Chatwoot-Signature: sha256=<hex>`, the HMAC-SHA256 of
"<X-Chatwoot-Timestamp>.<raw body>" with the webhook's secret (chatwoot lib/webhooks/trigger.rb
`request_headers`, v4.11.2+; tests/fixtures/recorded/chatwoot/SIGNING.md). Pure.

Chatwoot itself enforces no tolerance; the hub accepts 300 s either way of its clock (SPEC §11), as
PR #13573 advises receivers to."""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE = 300  # seconds, either side of our clock
PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The header value Chatwoot sends for `body` at `timestamp` (its decimal string, as sent)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return PREFIX + mac


def parse_timestamp(value: str | None) -> int | None:
    """The timestamp header as Unix seconds, or None when it is missing or not a plain number of at
    most 12 ASCII digits (`Time.now.to_i.to_s`)."""
    if not value or len(value) > 12 or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def is_fresh(timestamp: int, now: float) -> bool:
    return abs(now - timestamp) <= TOLERANCE


def matches(secret: str, timestamp: str, signature: str | None, body: bytes) -> bool:
    """Constant-time comparison with what Chatwoot would send; a header of another shape never matches."""
    if not signature or len(signature) != len(PREFIX) + 64 or not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.lower())
