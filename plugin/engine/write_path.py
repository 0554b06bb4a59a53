"""The status engine: the one place every channel and command goes through (SPEC §3).

It locks the customers it touches, folds the new events onto their state (incrementally when they
are newer than everything seen, by a full replay of the customer's history when one arrives late),
and writes messages, statuses, audit entries and side effects in the caller's transaction. The webhook
path uses prebuilt Core statements (STYLE §11). Reading state, replaying, the single-message statements
and the batched writes live in their own modules; `load_states` and `load_history` are re-exported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, insert, select

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import utcnow
from plugin.domain.errors import ArchivedStatus, NotAllowed, StatushubError
from plugin.domain.events import MessageEvent
from plugin.domain.fold import Classifier, CommandIn, Entry, MessageIn, State, fold, sort_key
from plugin.engine.customer_state import load_known_states, load_states, new_state
from plugin.engine.ingest_one import insert_message, load_one, stored_message
from plugin.engine.new_customers import ensure_customers, new_customer_name
from plugin.engine.replay import load_history, load_replay, reconcile
from plugin.engine.status_writes import Writes
from plugin.store.bulk import ByDialect, insert_returning, one_of
from plugin.store.prepared import Prepared
from plugin.store.schema import Message, StatusCommand, table_of

__all__ = [
    "Recorded",
    "assign_status",
    "load_history",
    "load_states",
    "record_message",
    "record_messages",
    "run_commands",
]

M = table_of(Message)


class Recorded(NamedTuple):
    """What happened to one delivered message."""

    customer_id: int
    message_id: int | None
    duplicate: bool
    statuses: dict[str, str]
    intents: tuple[str, ...] = ()
    opted_out: bool = False  # after the message: an SMS answer to them would be refused
    name: str | None = None  # the customer's name where the write path read it (one message), else None


# Prebuilt statements for the hot path.
_INSERT_MESSAGE = Prepared(insert(M).returning(M.c.id, M.c.channel, M.c.provider_id))
_INSERT_MESSAGE_ROWS = Prepared(insert(M))
_EXISTING = ByDialect(
    lambda dialect: select(M.c.id, M.c.provider_id).where(
        M.c.workspace_id == bindparam("w"),
        M.c.channel == bindparam("ch"),
        one_of(M.c.provider_id, "pids", dialect),
    )
)


def record_messages(
    conn: Connection,
    catalog: Catalog,
    events: Sequence[MessageEvent],
    classify: Classifier,
    *,
    now: datetime | None = None,
) -> list[Recorded]:
    """Stores messages and moves their customers' statuses; the batch path of every channel.

    A message already stored (same workspace, channel and provider id) changes nothing and is
    answered as a duplicate. Returns one Recorded per event, in the order given.
    """
    now = now or utcnow()
    if len(events) == 1:
        return [_record_one(conn, catalog, events[0], classify, now)]
    return _record_batch(conn, catalog, events, classify, now)


def _record_batch(
    conn: Connection, catalog: Catalog, events: Sequence[MessageEvent], classify: Classifier, now: datetime
) -> list[Recorded]:
    ws = catalog.workspace_id
    customer_of, states = load_known_states(conn, catalog, list({e.identity for e in events}), lock=True)
    missing = [(e.identity, e.name) for e in events if e.identity not in customer_of]
    if missing:
        created: set[int] = set()
        since: dict[str, datetime] = {}  # a new customer's first statuses start at its first message
        for e in events:
            if e.identity not in customer_of:
                since[e.identity] = min(since.get(e.identity, now), e.provider_at)
        made = ensure_customers(conn, catalog, missing, now, created=created, since=since)
        customer_of.update(made)
        # A customer this call created is on every track's first status: nothing to read back. One
        # another writer created since the look-up is read (and locked) now.
        for identity, cid in made.items():
            if cid in created:
                states[cid] = new_state(catalog, since[identity])
        states.update(load_states(conn, catalog, sorted(set(made.values()) - created), lock=True))

    existing = _existing_messages(conn, ws, events)
    keys = [(e.channel, e.provider_id) for e in events]
    fresh: dict[tuple[str, str], MessageEvent] = {}  # each new message once, in order
    for key, e in zip(keys, events, strict=True):
        if key not in existing and key not in fresh:
            fresh[key] = e

    # Folded before they are stored, so each message is written once with its intents: until the
    # insert gives them ids, the new messages carry provisional ones (-1, -2, ...).
    by_customer: dict[int, list[MessageIn]] = defaultdict(list)
    for n, e in enumerate(fresh.values(), 1):
        by_customer[customer_of[e.identity]].append(
            MessageIn(
                e.provider_at,
                f"{e.channel}:{e.provider_id}",
                -n,
                e.channel,
                e.direction,
                e.sender,
                e.text,
                e.opt,
            )
        )
    intents: dict[int, tuple[str, ...]] = {}
    writes = Writes(catalog, now)
    for customer_id, new_events in by_customer.items():
        intents.update(_advance(conn, catalog, customer_id, states, new_events, classify, now, writes)[0])

    writes.write_states(conn)
    found_by_key = {key: intents.get(-n, ()) for n, key in enumerate(fresh, 1)}
    message_ids = _insert_messages(conn, ws, fresh, customer_of, found_by_key, now)
    writes.message_ids = {-n: message_ids[key] for n, key in enumerate(fresh, 1)}
    writes.flush(conn)

    out = []
    answered: set[tuple[str, str]] = set()
    for key, e in zip(keys, events, strict=True):
        cid = customer_of[e.identity]
        if key in existing:
            out.append(Recorded(cid, existing[key], True, states[cid].keys(), (), states[cid].opted_out))
            continue
        mid = message_ids.get(key)
        # A second delivery of the same message within one batch is a duplicate too.
        duplicate = mid is None or key in answered
        answered.add(key)
        out.append(
            Recorded(
                cid, mid, duplicate, states[cid].keys(), found_by_key.get(key, ()), states[cid].opted_out
            )
        )
    return out


def _insert_messages(
    conn: Connection,
    ws: int,
    fresh: dict[tuple[str, str], MessageEvent],
    customer_of: dict[str, int],
    found_by_key: dict[tuple[str, str], tuple[str, ...]],
    now: datetime,
) -> dict[tuple[str, str], int]:
    """Stores the batch's new messages with their intents: {(channel, provider id): message id}."""
    if not fresh:
        return {}
    rows = [_message_row(ws, customer_of[e.identity], e, now, found_by_key[key]) for key, e in fresh.items()]
    # Matched back by their unique key, not by position: asking for rows back in parameter order
    # makes SQLAlchemy insert one row per statement on SQLite.
    returned = insert_returning(
        conn, _INSERT_MESSAGE_ROWS, rows, ("id", "channel", "provider_id"), _INSERT_MESSAGE
    )
    return {(channel, pid): mid for mid, channel, pid in returned}


def record_message(
    conn: Connection,
    catalog: Catalog,
    event: MessageEvent,
    classify: Classifier,
    *,
    now: datetime | None = None,
) -> Recorded:
    return record_messages(conn, catalog, [event], classify, now=now)[0]


def assign_status(
    conn: Connection,
    catalog: Catalog,
    customer_id: int,
    status: StatusInfo,
    *,
    actor: str,
    note: str = "",
    source: str = "manual",
    kind: str = "manual",
    classify: Classifier,
    now: datetime | None = None,
) -> list[Entry]:
    """A manual change: applies up or down to any non-archived status on a manual track (SPEC §3)."""
    track = catalog.track(status.track)
    if not track.manual:
        raise NotAllowed(
            f"the {track.key} track is set by the system only; agents cannot set it", field="status"
        )
    if status.archived:
        raise ArchivedStatus(
            f"{status.badge} is archived and cannot be assigned; restore it first", field="status"
        )
    if track.key == "attention" and not note.strip():
        raise StatushubError("changing attention needs a note saying why", field="note")
    return run_commands(
        conn,
        catalog,
        customer_id,
        [(track.key, status.key, source, kind)],
        actor=actor,
        note=note,
        classify=classify,
        now=now,
    )


def run_commands(
    conn: Connection,
    catalog: Catalog,
    customer_id: int,
    commands: list[tuple[str, str, str, str]],
    *,
    actor: str,
    note: str,
    classify: Classifier,
    now: datetime | None = None,
    at: datetime | None = None,
) -> list[Entry]:
    """Records commands (track, status, source, kind) made at `at` (default now) and folds them in."""
    now = now or utcnow()
    at = at or now
    states = load_states(conn, catalog, [customer_id], lock=True)
    rows = [
        {
            "workspace_id": catalog.workspace_id,
            "customer_id": customer_id,
            "kind": kind,
            "track": track,
            "status": status,
            "source": source,
            "actor": actor,
            "note": note,
            "at": at,
        }
        for track, status, source, kind in commands
    ]
    ids = (
        conn.execute(insert(StatusCommand).returning(StatusCommand.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    new = [
        CommandIn(at, cid, kind, track, status, source, actor, note)
        for cid, (track, status, source, kind) in zip(ids, commands, strict=True)
    ]
    writes = Writes(catalog, now)
    entries = _advance(conn, catalog, customer_id, states, new, classify, now, writes)[1]
    writes.flush(conn)
    return entries


def _advance(
    conn: Connection,
    catalog: Catalog,
    customer_id: int,
    states: dict[int, State],
    new_events: list,
    classify: Classifier,
    now: datetime,
    writes: Writes,
) -> tuple[dict[int, tuple[str, ...]], list[Entry]]:
    """Folds new events onto one customer: incrementally, or by replay when one is older than the horizon."""
    current = states[customer_id]
    oldest = min(map(sort_key, new_events))
    late = current.horizon is not None and oldest <= current.horizon
    if not late:
        result = fold(current, new_events, catalog, classify)
        entries = result.entries
    else:
        start, history, settled = load_replay(conn, catalog, customer_id, current)
        # New messages are folded before they are stored (provisional ids below 0): add them, unless
        # retention settled their time (older than the customer's checkpoint: they change nothing).
        history += [
            e
            for e in new_events
            if isinstance(e, MessageIn) and e.message_id < 0 and (settled is None or e.at >= settled)
        ]
        result = fold(start, history, catalog, classify, replay=True, kept=current.keys())
        entries = reconcile(current, result.state, result.entries, new_events, now)
        # The replay classified stored messages too: only the new ones' intents are news.
        new_ids = {e.message_id for e in new_events if isinstance(e, MessageIn)}
        result.intents = {mid: found for mid, found in result.intents.items() if mid in new_ids}
    writes.add(customer_id, current, result.state, entries)
    states[customer_id] = result.state
    return result.intents, entries


def _record_one(
    conn: Connection, catalog: Catalog, e: MessageEvent, classify: Classifier, now: datetime
) -> Recorded:
    """record_messages for one event: the webhook path, in as few statements as the answer needs."""
    ws = catalog.workspace_id
    loaded = load_one(conn, catalog, e.identity)
    name = None
    if loaded is None:
        created: set[int] = set()
        since = min(now, e.provider_at)
        cid = ensure_customers(
            conn, catalog, [(e.identity, e.name)], now, created=created, since={e.identity: since}
        )[e.identity]
        if cid in created:
            state, name = new_state(catalog, since), new_customer_name(e.identity, e.name)
        else:
            state = load_states(conn, catalog, [cid], lock=True)[cid]
    else:
        cid, state, name = loaded
    message = MessageIn(
        e.provider_at, f"{e.channel}:{e.provider_id}", -1, e.channel, e.direction, e.sender, e.text, e.opt
    )
    # A message not newer than everything seen may be a redelivery: look before folding, so a
    # duplicate never pays for a replay. A newer one is folded first and the insert decides.
    if state.horizon is not None and message.sort_key <= state.horizon:
        existing = stored_message(conn, ws, e.channel, e.provider_id)
        if existing is not None:
            return Recorded(cid, existing, True, state.keys(), (), state.opted_out, name)
    states = {cid: state}
    writes = Writes(catalog, now)
    found = _advance(conn, catalog, cid, states, [message], classify, now, writes)[0].get(-1, ())
    mid = insert_message(conn, _message_row(ws, cid, e, now, found))
    if mid is None:  # stored meanwhile (or newer than the horizon yet already stored): a duplicate
        existing = stored_message(conn, ws, e.channel, e.provider_id)
        return Recorded(cid, existing, True, state.keys(), (), state.opted_out, name)
    writes.message_ids = {-1: mid}
    writes.flush(conn)
    return Recorded(cid, mid, False, states[cid].keys(), found, states[cid].opted_out, name)


def _existing_messages(
    conn: Connection, ws: int, events: Sequence[MessageEvent]
) -> dict[tuple[str, str], int]:
    by_channel: dict[str, list[str]] = defaultdict(list)
    for e in events:
        by_channel[e.channel].append(e.provider_id)
    found: dict[tuple[str, str], int] = {}
    stmt = _EXISTING(conn)
    for channel, pids in by_channel.items():
        rows = stmt.execute(conn, {"w": ws, "ch": channel, "pids": pids}).all()
        found.update({(channel, pid): mid for mid, pid in rows})
    return found


def _message_row(ws: int, customer_id: int, e: MessageEvent, now: datetime, intents: tuple[str, ...]) -> dict:
    """A new message as stored: its intents are known before the insert, so it is written once."""
    return {
        "workspace_id": ws,
        "customer_id": customer_id,
        "channel": e.channel,
        "direction": e.direction,
        "sender": e.sender,
        "text": e.text,
        "provider_id": e.provider_id,
        "provider_at": e.provider_at,
        "received_at": now,
        "delivery_status": None,
        "error_code": None,
        "intents": list(intents),
        "media": [m.as_dict() for m in e.media],
        "opt": e.opt,
    }
