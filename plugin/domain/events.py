"""The one normalized event shape every adapter builds and the engine consumes (STYLE §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

# NUL (PostgreSQL text cannot hold it) and lone UTF-16 surrogates (not encodable as UTF-8) (SPEC §12).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD, the rest verbatim: a message is
    never lost for one of its characters."""
    return _UNSTORABLE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One message, as any channel delivers it.

    `identity` is the customer's channel identity (`sms:+15551234567`, `webchat:<visitor>`,
    `slack:<team>/<user>`); `provider_at` the provider's timestamp (its receipt time when the
    provider sends none); `opt` is "out"/"in" when the provider itself flags an opt-out change.
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
    media: tuple[str, ...] = ()
    opt: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Every channel's strings enter the core here, so this is the one place they are made storable.
        for name in ("identity", "text", "provider_id", "name"):
            value = getattr(self, name)
            if value and _UNSTORABLE.search(value):
                object.__setattr__(self, name, storable(value))
        if any(_UNSTORABLE.search(url) for url in self.media):
            object.__setattr__(self, "media", tuple(map(storable, self.media)))
