"""The hub's one signature, `t=<unix>,v1=<hex>`: HMAC-SHA256 of "<t>.<raw body>". Web chat requests
carry it in `X-Statushub-Signature`; outgoing webhooks are signed with it the same way.

The timestamp is signed too, so a captured request cannot be replayed outside the tolerance.
Several `v1=` values may be given (a platform rotating its secret); any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

TOLERANCE = 300  # seconds, either side of our clock


@dataclass(frozen=True)
class SignatureHeader:
    timestamp: int
    signatures: tuple[str, ...]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" with the secret."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def parse_header(value: str | None) -> SignatureHeader | None:
    """The header's parts, or None when it is missing or malformed."""
    if not value:
        return None
    timestamp, signatures = None, []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            return None
        if name == "t":
            timestamp = item
        elif name == "v1":
            signatures.append(item.strip().lower())
    # Unix seconds have 10 digits until 2286; a longer (or non-ASCII) number is no timestamp of ours.
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return None
    if not signatures:
        return None
    return SignatureHeader(int(timestamp), tuple(signatures))


def is_fresh(parsed: SignatureHeader, now: float) -> bool:
    return abs(now - parsed.timestamp) <= TOLERANCE


def matches(secret: str, parsed: SignatureHeader, body: bytes) -> bool:
    expected = sign(secret, parsed.timestamp, body)
    # Compare every candidate, so the time taken does not tell which one (or whether any) was close.
    return any([hmac.compare_digest(expected, candidate) for candidate in parsed.signatures])
