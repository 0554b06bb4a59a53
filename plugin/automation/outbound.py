"""Messages to customers, per channel: the core's registry of senders, filled by the wiring with each
adapter's sender, so neither the core nor the API imports an adapter (STYLE §1: one `send` per channel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from plugin.domain.errors import StatushubError


@dataclass(frozen=True)
class Sent:
    """A sent message as stored: its message id, the provider's id and the customer's statuses after it."""

    message_id: int
    provider_id: str
    customer_id: int
    statuses: dict[str, str]
    delivery_status: str | None


class Sender(Protocol):
    def __call__(
        self,
        workspace_id: int,
        customer_id: int,
        text: str,
        sender: str = "agent",
        *,
        content_sid: str | None = None,
    ) -> Sent: ...


class Senders:
    """{channel: sender}; a channel without an installed adapter answers what can be sent."""

    def __init__(self) -> None:
        self._by_channel: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self._by_channel[channel] = sender

    @property
    def channels(self) -> list[str]:
        """The channels a message can be sent on, as registered."""
        return sorted(self._by_channel)

    def __call__(self, channel: str) -> Sender:
        try:
            return self._by_channel[channel]
        except KeyError:
            raise StatushubError(
                f"this hub cannot send {channel} messages", field="channel", choices=sorted(self._by_channel)
            ) from None
