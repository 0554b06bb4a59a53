"""What a Chatwoot write-back needs from the hub, and what `statushub chatwoot status` shows (SPEC §11).

The Chatwoot adapter sends (its REST calls live there); this module reads, in one read-only unit of
work, where a write-back goes and what it writes: the customer's latest conversation the hub has seen
and their current statuses. A write-back writes the statuses the customer holds when it is sent, so
items sent late or out of order still leave Chatwoot showing the latest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, func, select

from plugin.automation.outbox import Job, Undeliverable
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.engine import CHATWOOT_KIND, CHATWOOT_TRACKS, load_states
from plugin.store.db import reading
from plugin.store.schema import ChatwootContact, Delivery, OutboxItem, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.chatwoot import ChatwootAccount, connection_of

KIND = CHATWOOT_KIND
TRACKS = CHATWOOT_TRACKS
ATTRIBUTE_PREFIX = "statushub_"
SCOPE = "chatwoot"  # the de-dup scope of Chatwoot deliveries (X-Chatwoot-Delivery)
SETUP_KEY = "statushub_chatwoot_setup"  # app.extensions: the adapter's ChatwootSetup

CC, OUT, D = table_of(ChatwootContact), table_of(OutboxItem), table_of(Delivery)


class ChatwootSetup(Protocol):
    """The adapter's calls that `statushub chatwoot connect` makes (the core makes no Chatwoot call)."""

    def register_webhook(self, account: ChatwootAccount, url: str) -> tuple[int, str]:
        """Creates the account webhook for `url`; returns its id and the secret Chatwoot gave it."""
        ...

    def create_labels(self, account: ChatwootAccount, labels: list[tuple[str, str, str]]) -> list[str]:
        """Creates the (title, description, color) labels the account lacks; returns those created."""
        ...


def label_for(track: str, key: str) -> str:
    """The conversation label of a status: `<track>-<status key with _ as ->` (SPEC §11)."""
    return f"{track}-{key.replace('_', '-')}"


def labels_of(catalog: Catalog) -> list[tuple[str, str, str]]:
    """Every label the hub may write in this workspace: (title, description, color)."""
    out = []
    for track in TRACKS:
        info = catalog.tracks.get(track)
        for status in info.active if info else ():
            out.append(
                (label_for(track, status.key), f"statushub {track}: {status.label}"[:255], status.color)
            )
    return out


@dataclass(frozen=True)
class WriteBack:
    """One write-back: where (account, contact, conversation) and what (the track's label, the
    attributes of every written track)."""

    account: ChatwootAccount
    contact_id: int
    conversation_id: int | None
    track: str
    label: str
    track_labels: frozenset[str]  # every label of that track the hub may have written before
    attributes: dict[str, str]


def writeback_of(engine: Engine, job: Job) -> WriteBack:
    """Undeliverable when the workspace is no longer connected or the customer has no Chatwoot
    contact (merged away, deleted): retrying cannot help."""
    with reading(engine) as conn:
        account = connection_of(conn, job.workspace_id)
        if account is None:
            raise Undeliverable("the workspace is no longer connected to Chatwoot")
        contact = conn.execute(
            select(CC.c.contact_id, CC.c.conversation_id)
            .where(CC.c.workspace_id == job.workspace_id, CC.c.customer_id == job.customer_id)
            .order_by(CC.c.conversation_at.desc().nulls_last(), CC.c.contact_id.desc())
            .limit(1)
        ).first()
        if contact is None or job.customer_id is None:
            raise Undeliverable("the customer has no Chatwoot contact")
        catalog = load_catalog(conn, job.workspace_id)
        state = load_states(conn, catalog, [job.customer_id], lock=False).get(job.customer_id)
        if state is None:
            raise Undeliverable("the customer no longer exists")
        held = state.keys()
    track = job.payload.get("track")
    if track not in TRACKS:
        raise Undeliverable(f"track {track!r} is not written back")
    info = catalog.tracks.get(track)
    every = frozenset(label_for(track, s.key) for s in info.statuses) if info else frozenset()
    return WriteBack(
        account=account,
        contact_id=contact.contact_id,
        conversation_id=contact.conversation_id,
        track=track,
        label=label_for(track, held[track]),
        track_labels=every | {label_for(track, held[track])},
        attributes={ATTRIBUTE_PREFIX + t: held[t] for t in TRACKS if t in held},
    )


def merged_labels(current: list[str], wb: WriteBack) -> list[str]:
    """Read, merge, write: the conversation's labels with this track's other labels removed and its
    current one added, every other label kept in its order (Chatwoot's POST replaces the list)."""
    # Only labels naming one of the track's statuses go: an agent's own `stage-review` label stays.
    gone = wb.track_labels - {wb.label}
    kept = [label for label in current if label not in gone]
    return kept if wb.label in kept else [*kept, wb.label]


def queue_counts(conn: Connection, workspace_id: int) -> dict[str, int]:
    """The write-back queue: items waiting (or being retried) and dead-lettered ones."""
    pending = conn.execute(
        select(func.count()).where(
            OUT.c.workspace_id == workspace_id,
            OUT.c.kind == KIND,
            OUT.c.sent_at.is_(None),
            OUT.c.dead_at.is_(None),
        )
    ).scalar_one()
    dead = conn.execute(
        select(func.count()).where(
            OUT.c.workspace_id == workspace_id, OUT.c.kind == KIND, OUT.c.dead_at.is_not(None)
        )
    ).scalar_one()
    return {"pending": int(pending), "dead": int(dead)}


def last_event(conn: Connection, workspace_id: int) -> dict | None:
    """The last Chatwoot delivery the hub acted on: its time and event name."""
    row = conn.execute(
        select(D.c.body, D.c.created_at)
        .where(D.c.workspace_id == workspace_id, D.c.scope == SCOPE)
        .order_by(D.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    try:
        event = json.loads(row.body).get("event")
    except (ValueError, AttributeError):
        event = None
    return {"at": aware(row.created_at).isoformat(), "event": event}


def last_errors(conn: Connection, workspace_id: int, limit: int = 5) -> list[dict]:
    """The latest dead-lettered write-backs, with the reason, for admins."""
    rows = conn.execute(
        select(OUT.c.id, OUT.c.customer_id, OUT.c.last_error, OUT.c.dead_at)
        .where(OUT.c.workspace_id == workspace_id, OUT.c.kind == KIND, OUT.c.dead_at.is_not(None))
        .order_by(OUT.c.dead_at.desc(), OUT.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {"id": r.id, "customer": r.customer_id, "reason": r.last_error, "at": _iso(r.dead_at)} for r in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None
