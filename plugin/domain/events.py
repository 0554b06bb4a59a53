"""The one normalized event shape every adapter builds and the engine consumes (STYLE §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

# NUL (PostgreSQL text cannot hold it) and lone UTF-16 surrogates (not encodable as UTF-8) (SPEC §12).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD, the rest verbatim: a message is
    never lost for one of its characters."""
    return _UNSTORABLE.sub("\ufffd", text)


class Media(NamedTuple):
    """One attachment of a message: where it is and what it is (`image/jpeg`; None when unknown)."""

    url: str
    content_type: str | None = None

    def as_dict(self) -> dict:
        return {"url": self.url, "content_type": self.content_type}


def sender_mismatch(direction: str | None, sender: str | None) -> str | None:
    """Why `sender` cannot send a message going `direction`, or None when it can (or either is missing):
    inbound messages come from the customer, outbound ones from an agent or a bot."""
    if not sender or (direction == "inbound") == (sender == "customer"):
        return None
    return "inbound messages come from the customer; outbound ones from an agent or a bot"


def media_of(stored: list | None) -> list[dict]:
    """A message's stored media as `[{"url", "content_type"}]` (a bare URL from before 0008 too)."""
    return [
        {"url": m, "content_type": None}
        if isinstance(m, str)
        else {"url": m.get("url"), "content_type": m.get("content_type")}
        for m in stored or []
        if m
    ]


def media_labels(stored: list | None) -> list[str]:
    """How every surface names a message's attachments: `📎 image/jpeg <url>` (SPEC §11)."""
    return [f"📎 {m['content_type'] or 'file'} {m['url']}" for m in media_of(stored)]


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One message, as any channel delivers it.

    `identity` is the customer's channel identity (`sms:+15551234567`, `webchat:<visitor>`,
    `slack:<team>/<user>`); `provider_at` the provider's timestamp (its receipt time when the
    provider sends none); `opt` is "out"/"in" when the provider itself flags an opt-out change;
    `opt_keywords` False where a whole-body STOP/START is not an opt-out (WhatsApp, SPEC §11).
    """

    workspace_id: int
    channel: str
    identity: str
    direction: str
    sender: str
    text: str
    provider_id: str
    provider_at: datetime
    name: str | None = None
    media: tuple[Media, ...] = ()
    opt: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    opt_keywords: bool = True

    def __post_init__(self) -> None:
        # Every channel's strings enter the core here, so this is the one place they are made storable.
        for name in ("identity", "text", "provider_id", "name"):
            value = getattr(self, name)
            if value and _UNSTORABLE.search(value):
                object.__setattr__(self, name, storable(value))
        if any(_UNSTORABLE.search(m.url + (m.content_type or "")) for m in self.media):
            media = tuple(
                Media(storable(m.url), m.content_type and storable(m.content_type)) for m in self.media
            )
            object.__setattr__(self, "media", media)
