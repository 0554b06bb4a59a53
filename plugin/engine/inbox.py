"""Receiving messages from any channel: catalog, classifier and engine in one call (SPEC §3, §4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from plugin.domain.events import MessageEvent
from plugin.domain.optout import opt_change
from plugin.engine.write_path import Recorded, record_messages
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for


def receive(
    conn: Connection,
    workspace_id: int,
    events: Sequence[MessageEvent],
    *,
    now: datetime | None = None,
    catalog_version: int | None = None,
) -> list[Recorded]:
    """Stores the messages of one workspace and applies them; the caller's transaction commits it all.

    An inbound message whose whole body is STOP or START (or that the provider flags) changes the
    customer's opt-out (SPEC §3).
    """
    catalog = load_catalog(conn, workspace_id, catalog_version)
    classify = classifier_for(conn, catalog)
    flagged = [e if e.opt is not None or e.direction != "inbound" else _with_opt(e) for e in events]
    return record_messages(conn, catalog, flagged, classify, now=now)


def _with_opt(event: MessageEvent) -> MessageEvent:
    change = opt_change(event.text)
    if change is None:
        return event
    from dataclasses import replace

    return replace(event, opt=change)
