"""Receiving messages from any channel: catalog, classifier and engine in one call (SPEC §3, §4)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.domain.optout import opt_change
from plugin.engine.write_path import Recorded, record_messages
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

log = logging.getLogger("statushub.engine")
# A provider clock may run a little ahead of ours; further ahead it would date a message after every
# later one and freeze its customer's reply track, so the receipt time stands in (SPEC §12).
FUTURE_TOLERANCE = timedelta(seconds=300)


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
    customer's opt-out (SPEC §3). A provider time more than 300 s ahead of `now` becomes `now`.
    """
    now = now or utcnow()
    catalog = load_catalog(conn, workspace_id, catalog_version)
    classify = classifier_for(conn, catalog)
    events = [_in_time(e, now) for e in events]
    flagged = [e if e.opt is not None or e.direction != "inbound" else _with_opt(e) for e in events]
    return record_messages(conn, catalog, flagged, classify, now=now)


def _in_time(event: MessageEvent, now: datetime) -> MessageEvent:
    if event.provider_at - now <= FUTURE_TOLERANCE:
        return event
    log.warning(
        "provider time in the future; the receipt time stands in",
        extra={
            "workspace_id": event.workspace_id,
            "channel": event.channel,
            "provider_at": event.provider_at.isoformat(),
            "received_at": now.isoformat(),
        },
    )
    return replace(event, provider_at=now)


def _with_opt(event: MessageEvent) -> MessageEvent:
    change = opt_change(event.text)
    if change is None:
        return event
    return replace(event, opt=change)
