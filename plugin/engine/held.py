"""Held messages: stored and answered now, folded into statuses a moment later, in batches (SPEC §8).

A webhook whose answer does not need the message's new statuses (Twilio without an auto-reply) holds
the verified, normalized event in `held_messages` (one insert, then the commit: its 200 means the
message is durably stored) and answers. `fold` moves a workspace's held messages, oldest first,
through `receive` (the batch path every channel takes) and deletes them, in one transaction: each
message is folded once, and a redelivery while it is held inserts nothing.

One folder at a time per workspace keeps its messages in order: on SQLite the writer lock already
serializes folds; on PostgreSQL a transaction-level advisory lock (PgBouncer-safe) does, and a fold
that finds it taken answers `busy`, to be tried again later. A batch that fails is folded message by
message, and a message that fails alone is set aside with `failed_at` and its error's class.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from plugin.domain.clock import aware, utcnow
from plugin.domain.events import Media, MessageEvent
from plugin.engine.inbox import Ahead, read_ahead, receive
from plugin.store.db import reading, statement_alone, transaction
from plugin.store.prepared import Prepared
from plugin.store.schema import HeldMessage, table_of

log = logging.getLogger("statushub.engine")
H = table_of(HeldMessage)
BATCH = 500
STALE = timedelta(seconds=10)
# The advisory lock key space of folds: (this class, workspace id), as pg_try_advisory_xact_lock(int, int).
FOLD_LOCK_CLASS = 0x5348  # "SH"

_KEY = [H.c.workspace_id, H.c.channel, H.c.provider_id]
_HOLD = {
    "sqlite": Prepared(sqlite.insert(H).on_conflict_do_nothing(index_elements=_KEY).returning(H.c.id)),
    "postgresql": Prepared(
        postgresql.insert(H).on_conflict_do_nothing(index_elements=_KEY).returning(H.c.id)
    ),
}
_CLAIM = (
    select(H.c.id, H.c.channel, H.c.provider_id, H.c.event)
    .where(H.c.workspace_id == bindparam("w"), H.c.failed_at.is_(None))
    .order_by(H.c.id)
    .limit(bindparam("n"))
)
# Under the fold's lock: the batch's keys; the events themselves were read and decoded ahead.
_CLAIM_KEYS = _CLAIM.with_only_columns(H.c.id, H.c.channel, H.c.provider_id)
_EVENTS = select(H.c.id, H.c.event).where(
    H.c.workspace_id == bindparam("w"), H.c.id.in_(bindparam("ids", expanding=True))
)
_DELETE = delete(H).where(H.c.workspace_id == bindparam("w"), H.c.id.in_(bindparam("ids", expanding=True)))


class Folded(NamedTuple):
    folded: int
    failed: int
    busy: bool  # another process was folding this workspace: try again later


def encode(event: MessageEvent) -> dict:
    """The event as `held_messages.event` keeps it (its workspace, channel and provider id are columns)."""
    return {
        "identity": event.identity,
        "direction": event.direction,
        "sender": event.sender,
        "text": event.text,
        "provider_at": event.provider_at.isoformat(),
        "name": event.name,
        "media": [[m.url, m.content_type] for m in event.media],
        "opt": event.opt,
        "opt_keywords": event.opt_keywords,
    }


def decode(workspace_id: int, channel: str, provider_id: str, data: dict) -> MessageEvent:
    return MessageEvent(
        workspace_id,
        channel,
        data["identity"],
        data["direction"],
        data["sender"],
        data["text"],
        provider_id,
        aware(datetime.fromisoformat(data["provider_at"])),
        name=data.get("name"),
        media=tuple(Media(url, content_type) for url, content_type in data.get("media") or ()),
        opt=data.get("opt"),
        opt_keywords=data.get("opt_keywords", True),
    )


def hold(conn: Connection, event: MessageEvent, received_at: datetime) -> bool:
    """Holds `event` in the caller's transaction; False (nothing stored) when it is already held."""
    row = {
        "workspace_id": event.workspace_id,
        "channel": event.channel,
        "provider_id": event.provider_id,
        "event": encode(event),
        "received_at": received_at,
        "failed_at": None,
        "error": None,
    }
    return _HOLD[conn.dialect.name].first(conn, row) is not None


def hold_committed(conn: Connection, event: MessageEvent, received_at: datetime) -> bool:
    """`hold` as its own committed unit of work, on a `single_statements` connection: a 200 after it
    means the message is stored. The insert is one statement and commits alone (`statement_alone`:
    on PostgreSQL one round trip; on SQLite under the writer lock, without BEGIN and COMMIT)."""
    with statement_alone(conn):
        return hold(conn, event, received_at)


def fold(engine: Engine, workspace_id: int, *, batch: int = BATCH) -> Folded:
    """Folds the workspace's held messages, `batch` per transaction, until a batch comes short."""
    folded = failed = 0
    while True:
        ahead, decoded = _read_ahead(engine, workspace_id, batch)
        with transaction(engine) as conn:
            if not _fold_lock(conn, workspace_id):
                return Folded(folded, failed, busy=True)
            keys = conn.execute(_CLAIM_KEYS, {"w": workspace_id, "n": batch}).all()
            if not keys:
                return Folded(folded, failed, busy=False)
            rows = _held_rows(conn, workspace_id, keys, decoded)
            try:
                with conn.begin_nested():
                    _fold_rows(conn, workspace_id, rows, ahead)
                folded += len(rows)
                if len(rows) < batch:  # none was left: one held since is folded by its own `soon`
                    return Folded(folded, failed, busy=False)
                continue
            except Exception:  # noqa: BLE001 - one bad message must not hold back the others
                log.warning(
                    "a held batch failed; folding its messages one by one",
                    exc_info=True,
                    extra={"workspace_id": workspace_id, "messages": len(rows)},
                )
            for row in rows:
                try:
                    with conn.begin_nested():
                        _fold_rows(conn, workspace_id, [row], ahead)
                    folded += 1
                except Exception as exc:  # noqa: BLE001 - kept with its error, never lost
                    failed += 1
                    _set_aside(conn, workspace_id, row.id, exc)


class _Held(NamedTuple):
    id: int
    event: MessageEvent | None  # None: not decoded ahead (held since, or unreadable): decoded in the fold
    raw: tuple  # (channel, provider id, event document as stored), decoded when `event` is None


def _read_ahead(engine: Engine, workspace_id: int, batch: int) -> tuple[Ahead | None, dict]:
    """The next batch's events, decoded, and its catalog, classifier and texts worked out, before the
    fold's transaction (on SQLite: before the writer lock, which the webhooks wait for meanwhile).
    Decoded events are keyed by (id, channel, provider id): a held row never changes, and the key
    cannot match another message even where SQLite reuses a deleted row's id. A row that cannot be
    read is left to the fold, which sets it aside."""
    with reading(engine) as conn:
        rows = conn.execute(_CLAIM, {"w": workspace_id, "n": batch}).all()
    decoded = {}
    for r in rows:
        try:
            decoded[(r.id, r.channel, r.provider_id)] = decode(
                workspace_id, r.channel, r.provider_id, r.event
            )
        except (KeyError, TypeError, ValueError):
            continue
    if not decoded:
        return None, decoded
    with engine.connect() as conn:
        return read_ahead(conn, workspace_id, decoded.values()), decoded


def _held_rows(conn: Connection, workspace_id: int, keys, decoded: dict) -> list[_Held]:
    """The claimed batch in order, each with its event decoded ahead or its stored row to decode."""
    missing = [k.id for k in keys if tuple(k) not in decoded]
    stored = dict(conn.execute(_EVENTS, {"w": workspace_id, "ids": missing}).all()) if missing else {}
    return [_Held(k.id, decoded.get(tuple(k)), (k.channel, k.provider_id, stored.get(k.id))) for k in keys]


def _fold_rows(conn: Connection, workspace_id: int, rows: list[_Held], ahead: Ahead | None = None) -> None:
    events = [r.event if r.event is not None else decode(workspace_id, *r.raw) for r in rows]
    receive(conn, workspace_id, events, now=utcnow(), ahead=ahead)
    conn.execute(_DELETE, {"w": workspace_id, "ids": [r.id for r in rows]})


def _set_aside(conn: Connection, workspace_id: int, held_id: int, exc: Exception) -> None:
    log.error(
        "a held message could not be folded; it is kept with its error",
        exc_info=exc,
        extra={"workspace_id": workspace_id, "held_id": held_id, "error": type(exc).__name__},
    )
    conn.execute(
        update(H)
        .where(H.c.workspace_id == workspace_id, H.c.id == held_id)
        .values(failed_at=utcnow(), error=type(exc).__name__[:200])
    )


def _fold_lock(conn: Connection, workspace_id: int) -> bool:
    if conn.dialect.name != "postgresql":
        return True  # the transaction holds SQLite's writer lock
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:k, :w)"), {"k": FOLD_LOCK_CLASS, "w": workspace_id}
        ).scalar()
    )


def held_workspaces(conn: Connection, received_before: datetime | None = None) -> list[int]:
    """The workspaces with messages waiting to be folded (received before a time, if given)."""
    query = select(H.c.workspace_id).where(H.c.failed_at.is_(None)).distinct()
    if received_before is not None:
        query = query.where(H.c.received_at < received_before)
    return [r[0] for r in conn.execute(query)]


def fold_all(engine: Engine, received_before: datetime | None = None) -> Folded:
    """Folds every workspace's held messages: the worker's sweep for those a stopped process left."""
    with engine.connect() as conn:
        workspaces = held_workspaces(conn, received_before)
    folded = failed = 0
    busy = False
    for ws in workspaces:
        done = fold(engine, ws)
        folded, failed, busy = folded + done.folded, failed + done.failed, busy or done.busy
    return Folded(folded, failed, busy)


def fold_stale(engine: Engine, now: datetime) -> Folded:
    """The worker's sweep: folds the workspaces with a message held longer than `STALE` (one its hub
    process stopped before folding; a running process folds its own within its delay)."""
    return fold_all(engine, received_before=now - STALE)


def held_counts(conn: Connection) -> dict[str, int]:
    """Held messages waiting and set aside, over every workspace (for /metrics)."""
    waiting = func.count().filter(H.c.failed_at.is_(None))
    failed = func.count().filter(H.c.failed_at.is_not(None))
    row = conn.execute(select(waiting, failed)).one()
    return {"waiting": row[0] or 0, "failed": row[1] or 0}
