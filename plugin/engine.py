"""The status engine: the one place every channel and command goes through (SPEC §3).

It locks the customers it touches, folds the new events onto their state (incrementally when they
are newer than everything seen, by a full replay of the customer's history when one arrives late),
and writes messages, statuses, audit entries and side effects in the caller's transaction. The webhook
path uses prebuilt Core statements (STYLE §11).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from plugin.clock import aware, utcnow
from plugin.customers import ensure_customers
from plugin.driver_sql import executemany, insert_returning
from plugin.errors import ArchivedStatus, NotAllowed, StatushubError
from plugin.events import MessageEvent
from plugin.fold import Classifier, CommandIn, Entry, MessageIn, State, fold, initial_state
from plugin.schema import (
    Customer,
    CustomerStatus,
    Identity,
    Message,
    OutboxItem,
    Status,
    StatusChange,
    StatusCommand,
    Workspace,
)
from plugin.statuses import Catalog, StatusInfo
from plugin.webhooks import queue_webhooks

C, CS, M, SC, CMD, ID = (
    Customer.__table__,
    CustomerStatus.__table__,
    Message.__table__,
    StatusChange.__table__,
    StatusCommand.__table__,
    Identity.__table__,
)


@dataclass(frozen=True)
class Recorded:
    """What happened to one delivered message."""

    customer_id: int
    message_id: int | None
    duplicate: bool
    statuses: dict[str, str]
    intents: tuple[str, ...] = ()


# Prebuilt statements for the hot path.
_INSERT_MESSAGE = insert(M).returning(M.c.id, M.c.channel, M.c.provider_id)
_INSERT_MESSAGE_ROWS = insert(M)
_INSERT_CHANGE = insert(StatusChange)
_UPDATE_STATUS = (
    update(CS)
    .where(
        and_(
            CS.c.workspace_id == bindparam("w"),
            CS.c.customer_id == bindparam("c"),
            CS.c.track_id == bindparam("t"),
        )
    )
    .values(status_id=bindparam("s"), entered_at=bindparam("e"))
)
_CUSTOMER_UPDATES: dict[tuple[str, ...], object] = {}


def _update_customer(columns: tuple[str, ...]):
    """UPDATE customers SET only `columns` (prebuilt once per column set): most messages change two."""
    stmt = _CUSTOMER_UPDATES.get(columns)
    if stmt is None:
        stmt = _CUSTOMER_UPDATES[columns] = (
            update(C)
            .where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
    return stmt


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
    ws = catalog.workspace_id
    created: set[int] = set()
    customer_of = ensure_customers(
        conn, catalog, [(e.identity, e.name) for e in events], now, created=created
    )
    ids = sorted(set(customer_of.values()))
    # A customer this call created is on every track's first status: nothing to read back.
    states = load_states(conn, catalog, [i for i in ids if i not in created], lock=True)
    for cid in created:
        states[cid] = _new_state(catalog, now)

    existing = _existing_messages(conn, ws, events)
    fresh: list[MessageEvent] = []
    seen: set[tuple[str, str]] = set()
    for e in events:
        key = (e.channel, e.provider_id)
        if key not in existing and key not in seen:
            seen.add(key)
            fresh.append(e)

    # Folded before they are stored, so each message is written once with its intents: until the
    # insert gives them ids, the new messages carry provisional ones (-1, -2, ...).
    by_customer: dict[int, list[MessageIn]] = defaultdict(list)
    for n, e in enumerate(fresh, 1):
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
    writes = _Writes(catalog, now)
    for customer_id, new_events in by_customer.items():
        intents.update(_advance(conn, catalog, customer_id, states, new_events, classify, now, writes)[0])

    message_ids: dict[tuple[str, str], int] = {}
    found_by_key = {(e.channel, e.provider_id): intents.get(-n, ()) for n, e in enumerate(fresh, 1)}
    if fresh:
        rows = [
            {
                "workspace_id": ws,
                "customer_id": customer_of[e.identity],
                "channel": e.channel,
                "direction": e.direction,
                "sender": e.sender,
                "text": e.text,
                "provider_id": e.provider_id,
                "provider_at": e.provider_at,
                "received_at": now,
                "delivery_status": None,
                "error_code": None,
                "intents": list(intents.get(-n, ())),
                "media": list(e.media),
                "opt": e.opt,
            }
            for n, e in enumerate(fresh, 1)
        ]
        # Matched back by their unique key, not by position: asking for rows back in parameter order
        # makes SQLAlchemy insert one row per statement on SQLite.
        for mid, channel, pid in insert_returning(
            conn, _INSERT_MESSAGE_ROWS, rows, ("id", "channel", "provider_id"), _INSERT_MESSAGE
        ):
            message_ids[(channel, pid)] = mid
        writes.message_ids = {-n: message_ids[(e.channel, e.provider_id)] for n, e in enumerate(fresh, 1)}
    writes.flush(conn)

    out = []
    answered: set[tuple[str, str]] = set()
    keys = {cid: state.keys() for cid, state in states.items()}
    for e in events:
        cid = customer_of[e.identity]
        key = (e.channel, e.provider_id)
        # A second delivery of the same message within one batch is a duplicate too.
        duplicate = key in existing or key not in message_ids or key in answered
        answered.add(key)
        mid = existing.get(key) if key in existing else message_ids.get(key)
        found = () if key in existing else found_by_key.get(key, ())
        out.append(Recorded(cid, mid, duplicate, dict(keys[cid]), found))
    return out


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
    writes = _Writes(catalog, now)
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
    writes: _Writes,
) -> tuple[dict[int, tuple[str, ...]], list[Entry]]:
    """Folds new events onto one customer: incrementally, or by replay when one is older than the horizon."""
    current = states[customer_id]
    oldest = min(e.sort_key for e in new_events)
    late = current.horizon is not None and oldest <= current.horizon
    if not late:
        result = fold(current, new_events, catalog, classify)
        entries = result.entries
    else:
        history = load_history(conn, catalog.workspace_id, customer_id)
        # New messages are folded before they are stored (provisional ids below 0): add them.
        history += [e for e in new_events if isinstance(e, MessageIn) and e.message_id < 0]
        result = fold(
            _starting_state(conn, catalog, customer_id, current), history, catalog, classify, replay=True
        )
        entries = _reconcile(current, result.state, result.entries, new_events, now)
    new_ids = {e.message_id for e in new_events if isinstance(e, MessageIn)}
    result.intents = {mid: found for mid, found in result.intents.items() if mid in new_ids}
    writes.add(customer_id, current, result.state, entries)
    states[customer_id] = result.state
    return result.intents, entries


def _starting_state(conn: Connection, catalog: Catalog, customer_id: int, current: State) -> State:
    """Where the customer started, for a replay: the first audit entry's `from` on each track, or the
    current status on a track nothing ever moved. Not the catalog's first status: a reorder or an
    archived first status must not move anyone by itself."""
    ws = catalog.workspace_id
    first_ids = (
        select(func.min(SC.c.id))
        .where(SC.c.workspace_id == ws, SC.c.customer_id == customer_id)
        .group_by(SC.c.track)
    )
    started = dict(
        conn.execute(
            select(SC.c.track, SC.c.from_status).where(SC.c.workspace_id == ws, SC.c.id.in_(first_ids))
        ).all()
    )
    state = initial_state(catalog)
    for track, (key, _) in current.statuses.items():
        state.statuses[track] = (started.get(track) or key, None)
    return state


def _reconcile(before: State, after: State, replayed: list[Entry], late: list, now: datetime) -> list[Entry]:
    """Audit entries for a replay: the late events' own decisions as evaluated in their place in time
    (marked not applied when later events superseded them), then one entry per track whose status the
    replay changed, so the log's last applied entry per track is always the current status."""
    late_ids = {getattr(e, "message_id", None) for e in late} - {None}
    entries: list[Entry] = []
    for entry in replayed:
        if entry.message_id in late_ids:
            final = after.statuses[entry.track][0]
            if entry.applied and final != entry.to_status:
                entry = Entry(
                    entry.track,
                    entry.from_status,
                    entry.to_status,
                    entry.source,
                    entry.actor,
                    False,
                    "superseded: later events decided this track",
                    entry.at,
                    entry.note,
                    entry.message_id,
                )
            if not entry.applied or final == entry.to_status and before.statuses[entry.track][0] == final:
                entries.append(entry)
    for track, (key, _) in after.statuses.items():
        old = before.statuses.get(track, (None, None))[0]
        if old != key:
            decider = next((e for e in reversed(replayed) if e.track == track and e.applied), None)
            entries.append(
                Entry(
                    track,
                    old,
                    key,
                    decider.source if decider else "replay",
                    decider.actor if decider else "system",
                    True,
                    "re-evaluated in time order after a late event",
                    decider.at if decider else now,
                    decider.note if decider else "",
                    decider.message_id if decider else None,
                )
            )
    return entries


def load_states(
    conn: Connection, catalog: Catalog, customer_ids: Sequence[int], *, lock: bool
) -> dict[int, State]:
    """The customers' current state; with `lock`, their rows stay locked until the transaction ends
    (FOR UPDATE on PostgreSQL, in id order so two writers never deadlock; SQLite holds the write lock)."""
    ws = catalog.workspace_id
    if not customer_ids:
        return {}
    sqlite_times = conn.dialect.name == "sqlite"
    when = _SqliteTimes if sqlite_times else _TypedTimes
    customers, statuses = _STATE_QUERIES[sqlite_times, lock]
    params = {"w": ws, "ids": list(customer_ids)}
    states: dict[int, State] = {}
    parse = when.parse
    for cid, opted_out, inbound, outbound, waiting, horizon in conn.execute(customers, params):
        # The stored horizon keeps only the time: treat an equal time as "maybe older" (replay).
        states[cid] = State(
            {},
            opted_out,
            parse(inbound),
            parse(outbound),
            parse(waiting),
            (parse(horizon), 9, "") if horizon is not None else None,
        )
    key_of_track = {t.id: t.key for t in catalog.tracks.values()}
    by_id = catalog.by_id
    for cid, track_id, status_id, entered in conn.execute(statuses, params):
        track = key_of_track.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            states[cid].statuses[track] = (status.key, parse(entered))
    firsts = [(t.key, t.first.key) for t in catalog.tracks.values()]
    for state in states.values():
        for track, first in firsts:
            if track not in state.statuses:
                state.statuses[track] = (first, None)
    return states


def _new_state(catalog: Catalog, now: datetime) -> State:
    """A customer just created: on every track's first status since `now` (as create_customers wrote)."""
    return State({t.key: (t.first.key, now) for t in catalog.tracks.values()})


class _SqliteTimes:
    """SQLite keeps times as ISO text in UTC; `datetime.fromisoformat` reads them several times faster
    than the DateTime type's generic parser, which dominated loading a batch's states."""

    @staticmethod
    def column(col):
        return type_coerce(col, String).label(col.name)

    @staticmethod
    def parse(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value is not None else None


class _TypedTimes:
    @staticmethod
    def column(col):
        return col

    @staticmethod
    def parse(value: datetime | None) -> datetime | None:
        return aware(value) if value is not None else None


def _state_queries(when, lock: bool):
    customers = (
        select(
            C.c.id,
            C.c.opted_out,
            when.column(C.c.last_inbound_at),
            when.column(C.c.last_outbound_at),
            when.column(C.c.waiting_since),
            when.column(C.c.horizon_at),
        )
        .where(C.c.workspace_id == bindparam("w"), C.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(C.c.id)
    )
    if lock:
        customers = customers.with_for_update()
    statuses = select(CS.c.customer_id, CS.c.track_id, CS.c.status_id, when.column(CS.c.entered_at)).where(
        CS.c.workspace_id == bindparam("w"), CS.c.customer_id.in_(bindparam("ids", expanding=True))
    )
    return customers, statuses


# load_states' statements, by (SQLite, lock).
_STATE_QUERIES = {
    (sqlite_times, lock): _state_queries(_SqliteTimes if sqlite_times else _TypedTimes, lock)
    for sqlite_times in (True, False)
    for lock in (True, False)
}


def _time_reader(conn: Connection):
    return _SqliteTimes if conn.dialect.name == "sqlite" else _TypedTimes


# The one-message path (every webhook): prebuilt statements, the customer found and locked by its
# identity in one statement. On SQLite (the transaction holds the write lock) its statuses come in
# the same statement; on PostgreSQL they are read after the lock is taken, so a writer that held the
# lock is seen (a joined row read before the wait would be stale under READ COMMITTED).
def _customer_columns(when) -> list:
    return [
        ID.c.customer_id,
        C.c.opted_out,
        when.column(C.c.last_inbound_at),
        when.column(C.c.last_outbound_at),
        when.column(C.c.waiting_since),
        when.column(C.c.horizon_at),
    ]


_BY_IDENTITY = and_(ID.c.workspace_id == bindparam("w"), ID.c.value == bindparam("v"))
_IDENTITY_CUSTOMER = ID.join(C, and_(C.c.workspace_id == ID.c.workspace_id, C.c.id == ID.c.customer_id))
_ONE_STATE_SQLITE = (
    select(
        *_customer_columns(_SqliteTimes),
        CS.c.track_id,
        CS.c.status_id,
        _SqliteTimes.column(CS.c.entered_at),
    )
    .select_from(
        _IDENTITY_CUSTOMER.outerjoin(
            CS, and_(CS.c.workspace_id == C.c.workspace_id, CS.c.customer_id == C.c.id)
        )
    )
    .where(_BY_IDENTITY)
)
_ONE_CUSTOMER_LOCKED = (
    select(*_customer_columns(_TypedTimes))
    .select_from(_IDENTITY_CUSTOMER)
    .where(_BY_IDENTITY)
    .with_for_update(of=C)
)
_ONE_STATUSES = select(CS.c.track_id, CS.c.status_id, CS.c.entered_at).where(
    CS.c.workspace_id == bindparam("w"), CS.c.customer_id == bindparam("c")
)
_ONE_EXISTING = select(M.c.id).where(
    M.c.workspace_id == bindparam("w"), M.c.channel == bindparam("ch"), M.c.provider_id == bindparam("p")
)
_MESSAGE_KEY = [M.c.workspace_id, M.c.channel, M.c.provider_id]
# A duplicate loses on the unique provider id and inserts nothing: one statement, no error.
_INSERT_ONE = {
    "sqlite": sqlite.insert(M).on_conflict_do_nothing(index_elements=_MESSAGE_KEY).returning(M.c.id),
    "postgresql": postgresql.insert(M).on_conflict_do_nothing(index_elements=_MESSAGE_KEY).returning(M.c.id),
}


def _load_one(conn: Connection, catalog: Catalog, identity: str) -> tuple[int, State] | None:
    """The customer of `identity` and their state, locked; None when the identity is new."""
    ws = catalog.workspace_id
    if conn.dialect.name == "sqlite":
        rows = conn.execute(_ONE_STATE_SQLITE, {"w": ws, "v": identity}).all()
        parse = _SqliteTimes.parse
        statuses = [(r[6], r[7], r[8]) for r in rows if r[6] is not None]
    else:
        rows = conn.execute(_ONE_CUSTOMER_LOCKED, {"w": ws, "v": identity}).all()
        parse = _TypedTimes.parse
        if rows:
            statuses = conn.execute(_ONE_STATUSES, {"w": ws, "c": rows[0][0]}).all()
    if not rows:
        return None
    cid, opted_out, inbound, outbound, waiting, horizon = rows[0][:6]
    state = State(
        {},
        opted_out,
        parse(inbound),
        parse(outbound),
        parse(waiting),
        (parse(horizon), 9, "") if horizon is not None else None,
    )
    tracks = {t.id: t for t in catalog.tracks.values()}
    by_id = catalog.by_id
    for track_id, status_id, entered in statuses:
        track = tracks.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            state.statuses[track.key] = (status.key, parse(entered))
    for track in catalog.tracks.values():
        if track.key not in state.statuses:
            state.statuses[track.key] = (track.first.key, None)
    return cid, state


def _record_one(
    conn: Connection, catalog: Catalog, e: MessageEvent, classify: Classifier, now: datetime
) -> Recorded:
    """record_messages for one event: the webhook path, in as few statements as the answer needs."""
    ws = catalog.workspace_id
    loaded = _load_one(conn, catalog, e.identity)
    if loaded is None:
        created: set[int] = set()
        cid = ensure_customers(conn, catalog, [(e.identity, e.name)], now, created=created)[e.identity]
        state = (
            _new_state(catalog, now) if cid in created else load_states(conn, catalog, [cid], lock=True)[cid]
        )
    else:
        cid, state = loaded
    message = MessageIn(
        e.provider_at, f"{e.channel}:{e.provider_id}", -1, e.channel, e.direction, e.sender, e.text, e.opt
    )
    # A message not newer than everything seen may be a redelivery: look before folding, so a
    # duplicate never pays for a replay. A newer one is folded first and the insert decides.
    if state.horizon is not None and message.sort_key <= state.horizon:
        existing = conn.execute(_ONE_EXISTING, {"w": ws, "ch": e.channel, "p": e.provider_id}).scalar()
        if existing is not None:
            return Recorded(cid, existing, True, state.keys())
    states = {cid: state}
    writes = _Writes(catalog, now)
    found = _advance(conn, catalog, cid, states, [message], classify, now, writes)[0].get(-1, ())
    mid = conn.execute(
        _INSERT_ONE[conn.dialect.name],
        {
            "workspace_id": ws,
            "customer_id": cid,
            "channel": e.channel,
            "direction": e.direction,
            "sender": e.sender,
            "text": e.text,
            "provider_id": e.provider_id,
            "provider_at": e.provider_at,
            "received_at": now,
            "delivery_status": None,
            "error_code": None,
            "intents": list(found),
            "media": list(e.media),
            "opt": e.opt,
        },
    ).scalar()
    if mid is None:  # stored meanwhile (or newer than the horizon yet already stored): a duplicate
        existing = conn.execute(_ONE_EXISTING, {"w": ws, "ch": e.channel, "p": e.provider_id}).scalar()
        return Recorded(cid, existing, True, state.keys())
    writes.message_ids = {-1: mid}
    writes.flush(conn)
    return Recorded(cid, mid, False, states[cid].keys(), found)


def load_history(conn: Connection, workspace_id: int, customer_id: int) -> list:
    """Every message and command of one customer, for a replay."""
    messages = conn.execute(
        select(
            M.c.id,
            M.c.provider_at,
            M.c.channel,
            M.c.provider_id,
            M.c.direction,
            M.c.sender,
            M.c.text,
            M.c.opt,
        ).where(M.c.workspace_id == workspace_id, M.c.customer_id == customer_id)
    )
    from plugin.optout import opt_change

    events: list = [
        MessageIn(
            aware(r.provider_at),
            f"{r.channel}:{r.provider_id}",
            r.id,
            r.channel,
            r.direction,
            r.sender,
            r.text,
            # The stored flag (the provider's or the keyword's); rows stored before it existed: the body.
            r.opt or (opt_change(r.text) if r.direction == "inbound" else None),
        )
        for r in messages
    ]
    commands = conn.execute(
        select(CMD).where(CMD.c.workspace_id == workspace_id, CMD.c.customer_id == customer_id)
    )
    events += [
        CommandIn(aware(r.at), r.id, r.kind, r.track, r.status, r.source, r.actor, r.note) for r in commands
    ]
    return events


def _aware(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


_EXISTING = select(M.c.id, M.c.provider_id).where(
    M.c.workspace_id == bindparam("w"),
    M.c.channel == bindparam("ch"),
    M.c.provider_id.in_(bindparam("pids", expanding=True)),
)


def _existing_messages(
    conn: Connection, ws: int, events: Sequence[MessageEvent]
) -> dict[tuple[str, str], int]:
    by_channel: dict[str, list[str]] = defaultdict(list)
    for e in events:
        by_channel[e.channel].append(e.provider_id)
    found: dict[tuple[str, str], int] = {}
    for channel, pids in by_channel.items():
        rows = conn.execute(_EXISTING, {"w": ws, "ch": channel, "pids": pids})
        found.update({(channel, r.provider_id): r.id for r in rows})
    return found


class _Writes:
    """The writes of one engine call, gathered over all its customers and sent as one executemany
    per statement (the batch path pays per batch, not per customer)."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        self.catalog, self.now = catalog, now
        self.statuses: list[dict] = []
        self.customers: dict[tuple[str, ...], list[dict]] = defaultdict(list)  # by columns changed
        self.changes: list[dict] = []
        self.message_ids: dict[int, int] = {}  # provisional id → stored id of the call's new messages
        self.alerts: list[dict] = []
        self.left: list[StatusInfo] = []

    def add(
        self,
        customer_id: int,
        before: State,
        after: State,
        entries: list[Entry],
    ) -> None:
        catalog, ws, now = self.catalog, self.catalog.workspace_id, self.now
        for track, (key, entered) in after.statuses.items():
            if before.statuses.get(track) == (key, entered):
                continue
            status = catalog.status(track, key)
            if status is not None:
                self.statuses.append(
                    {
                        "w": ws,
                        "c": customer_id,
                        "t": catalog.tracks[track].id,
                        "s": status.id,
                        "e": entered or now,
                    }
                )
            old = catalog.status(track, before.statuses[track][0]) if track in before.statuses else None
            if old is not None and old.archived and old.key != key:
                self.left.append(old)
        changed = {}
        if after.opted_out != before.opted_out:
            changed["opted_out"] = after.opted_out
        if after.last_inbound_at != before.last_inbound_at:
            changed["last_inbound_at"] = after.last_inbound_at
        if after.last_outbound_at != before.last_outbound_at:
            changed["last_outbound_at"] = after.last_outbound_at
        if after.waiting_since != before.waiting_since:
            changed["waiting_since"] = after.waiting_since
        horizon = after.horizon[0] if after.horizon else None
        if horizon != (before.horizon[0] if before.horizon else None):
            changed["horizon_at"] = horizon
        key = after.statuses["stage"][0] if "stage" in after.statuses else None
        if key != (before.statuses["stage"][0] if "stage" in before.statuses else None):
            stage = catalog.status("stage", key) if key else None
            changed["priority_open"] = not (stage and stage.terminal)
            changed["priority_rank"] = stage.position if stage else 0
        if changed:
            row = {"w": ws, "c": customer_id}
            row.update({f"v_{name}": value for name, value in changed.items()})
            self.customers[tuple(changed)].append(row)
        for e in entries:
            self.changes.append(
                {
                    "workspace_id": ws,
                    "customer_id": customer_id,
                    "track": e.track,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "source": e.source,
                    "actor": e.actor,
                    "note": e.note,
                    "applied": e.applied,
                    "reason": e.reason,
                    "message_id": e.message_id,
                    "at": e.at,
                    "recorded_at": now,
                }
            )
            if e.applied:
                status = catalog.status(e.track, e.to_status)
                if status is not None and status.alert:
                    self.alerts.append(_alert(ws, customer_id, e, now))

    def flush(self, conn: Connection) -> None:
        if self.statuses:
            executemany(conn, _UPDATE_STATUS, self.statuses)
        for columns, rows in self.customers.items():
            executemany(conn, _update_customer(columns), rows)
        if self.changes:
            ids = self.message_ids
            for row in self.changes:
                mid = row["message_id"]
                if mid is not None and mid < 0:
                    row["message_id"] = ids[mid]
            executemany(conn, _INSERT_CHANGE, self.changes)
            queue_webhooks(conn, self.catalog, self.changes, self.now)  # same transaction (SPEC §9)
        if self.alerts:
            conn.execute(_INSERT_ALERT, self.alerts)
        if self.left:
            _purge_archived(conn, self.catalog, self.left)


_INSERT_ALERT = insert(OutboxItem)


def _alert(ws: int, customer_id: int, e: Entry, now: datetime) -> dict:
    """Entering a status with `alert` queues a notification in the same transaction (the outbox)."""
    return {
        "workspace_id": ws,
        "kind": "alert",
        "customer_id": customer_id,
        "payload": {
            "track": e.track,
            "from": e.from_status,
            "to": e.to_status,
            "source": e.source,
            "actor": e.actor,
            "note": e.note,
            "at": e.at.isoformat(),
        },
        "due_at": now,
        "attempts": 0,
        "last_error": "",
        "created_at": now,
    }


def _purge_archived(conn: Connection, catalog: Catalog, left: list[StatusInfo]) -> None:
    """An archived status is deleted for real when its last customer leaves it (SPEC §3)."""
    purged = 0
    for status in {s.id: s for s in left}.values():
        occupied = exists().where(CS.c.workspace_id == catalog.workspace_id, CS.c.status_id == status.id)
        purged += conn.execute(
            delete(Status).where(
                Status.workspace_id == catalog.workspace_id,
                Status.id == status.id,
                Status.archived_at.is_not(None),
                ~occupied,
            )
        ).rowcount
    if purged:
        conn.execute(
            update(Workspace)
            .where(Workspace.id == catalog.workspace_id)
            .values(catalog_version=Workspace.catalog_version + 1)
        )
