"""The one normalized event shape every adapter builds and the engine consumes (STYLE §1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
