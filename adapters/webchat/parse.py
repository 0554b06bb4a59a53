"""A web chat event body in, the core's event out: pure translation, no I/O (STYLE §1, §12)."""

from __future__ import annotations

from adapters.webchat.schema import load_event
from plugin.domain.errors import StatushubError
from plugin.domain.events import Media, MessageEvent


def workspace_slug(document: dict) -> str:
    """The slug of the workspace the event names (its secret verifies the signature)."""
    slug = document.get("workspace")
    if not isinstance(slug, str) or not slug:
        raise StatushubError("workspace: a workspace slug is required", field="workspace")
    return slug


def parse_event(document: dict, workspace_id: int) -> MessageEvent:
    """The validated event as a MessageEvent; StatushubError names the first bad field."""
    data = load_event(document)
    visitor = data["visitor"]
    return MessageEvent(
        workspace_id=workspace_id,
        channel="webchat",
        identity="webchat:" + visitor["id"].strip(),
        direction=data["direction"],
        sender=data["sender"],
        text=data["text"],
        provider_id=data["event_id"],
        provider_at=data["timestamp"],
        name=(visitor.get("name") or "").strip() or None,
        media=tuple(Media(m["url"], m["content_type"]) for m in data["media"]),
    )
