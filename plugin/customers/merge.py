"""Merging two records of one person: everything moves to the survivor, the merge is audited.

The audit source stays within SPEC §2's list: the merge's status changes are `manual` changes by the
actor who merged, with the note "merged #x into #y", so history reads like any other manual change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from plugin.customers.queries import customer_row
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.errors import ArchivedStatus, NotAllowed, StatushubError, UnknownStatus
from plugin.domain.fold import Classifier
from plugin.engine import load_states, run_commands
from plugin.store.schema import (
    Activity,
    ChatwootContact,
    Customer,
    CustomerLink,
    Identity,
    Message,
    OutboxItem,
    StatusChange,
    StatusCommand,
    table_of,
)

MOVED = (Identity, Message, Activity, StatusCommand, StatusChange, OutboxItem, ChatwootContact)
L = table_of(CustomerLink)


def merge_targets(
    catalog: Catalog, survivor: dict[str, str], other: dict[str, str], picks: dict[str, str]
) -> dict[str, str]:
    """Per manual track, the status the survivor ends on: an admin's pick, else the higher of the two."""
    out = {}
    for track in catalog.tracks.values():
        if not track.manual:
            if track.key in picks:
                raise NotAllowed(f"the {track.key} track is set by the system only", field="picks")
            continue
        if track.key in picks:
            status = track.status(picks[track.key])
            if status is None:
                raise UnknownStatus(
                    f"{track.key} has no status {picks[track.key]!r}",
                    choices=[s.key for s in track.active],
                    field="picks",
                )
            if status.archived:
                raise ArchivedStatus(f"{status.badge} is archived; restore it first", field="picks")
            out[track.key] = status.key
            continue
        candidates = [track.status(survivor[track.key]), track.status(other[track.key])]
        held = [s for s in candidates if s is not None and not s.archived]
        if held:
            out[track.key] = max(held, key=lambda s: s.position).key
    unknown = set(picks) - set(catalog.tracks)
    if unknown:
        raise StatushubError(f"no track {sorted(unknown)[0]!r}", choices=list(catalog.tracks), field="picks")
    return out


def merge_customers(
    conn: Connection,
    catalog: Catalog,
    survivor_id: int,
    other_id: int,
    *,
    actor: str,
    picks: dict[str, str] | None = None,
    classify: Classifier,
    now: datetime | None = None,
) -> dict[str, str]:
    """Moves the other's identities, messages, activities, commands and history to the survivor,
    re-folds the survivor's whole history, and deletes the other. Returns the survivor's statuses."""
    now = now or utcnow()
    ws = catalog.workspace_id
    customer_row(conn, ws, survivor_id)
    customer_row(conn, ws, other_id)
    if survivor_id == other_id:
        raise StatushubError("a customer cannot be merged into themselves", field="other_id")
    states = load_states(conn, catalog, sorted([survivor_id, other_id]), lock=True)
    targets = merge_targets(
        catalog,
        {t: k for t, (k, _) in states[survivor_id].statuses.items()},
        {t: k for t, (k, _) in states[other_id].statuses.items()},
        picks or {},
    )
    for model in MOVED:
        table = table_of(model)
        conn.execute(
            update(table)
            .where(table.c.workspace_id == ws, table.c.customer_id == other_id)
            .values(customer_id=survivor_id)
        )
    _move_links(conn, ws, survivor_id, other_id)
    conn.execute(delete(Customer).where(Customer.workspace_id == ws, Customer.id == other_id))
    # The stored horizon at `now` makes the engine treat the merge's commands as late, so it replays
    # the survivor's whole history (both customers' messages now) before applying them.
    conn.execute(
        update(Customer).where(Customer.workspace_id == ws, Customer.id == survivor_id).values(horizon_at=now)
    )
    note = f"merged #{other_id} into #{survivor_id}"
    commands = [(track, key, "manual", "manual") for track, key in targets.items()]
    entries = run_commands(
        conn, catalog, survivor_id, commands, actor=actor, note=note, classify=classify, now=now
    )
    changed = {e.track for e in entries if e.applied}
    kept = [
        {
            "workspace_id": ws,
            "customer_id": survivor_id,
            "track": track,
            "from_status": key,
            "to_status": key,
            "source": "manual",
            "actor": actor,
            "note": note,
            "applied": True,
            "reason": "merge kept this status",
            "message_id": None,
            "at": now,
            "recorded_at": now,
        }
        for track, key in targets.items()
        if track not in changed
    ]
    if kept:
        conn.execute(insert(StatusChange), kept)
    final = load_states(conn, catalog, [survivor_id], lock=False)[survivor_id]
    return {t: k for t, (k, _) in final.statuses.items()}


def _move_links(conn: Connection, ws: int, survivor_id: int, other_id: int) -> None:
    theirs = conn.execute(
        select(L.c.other_id, L.c.note).where(L.c.workspace_id == ws, L.c.customer_id == other_id)
    ).all()
    mine = set(
        conn.execute(
            select(L.c.other_id).where(L.c.workspace_id == ws, L.c.customer_id == survivor_id)
        ).scalars()
    )
    conn.execute(
        delete(L).where(L.c.workspace_id == ws, (L.c.customer_id == other_id) | (L.c.other_id == other_id))
    )
    rows = []
    for linked, note in theirs:
        if linked not in mine and linked != survivor_id:
            rows.append({"workspace_id": ws, "customer_id": survivor_id, "other_id": linked, "note": note})
            rows.append({"workspace_id": ws, "customer_id": linked, "other_id": survivor_id, "note": note})
    if rows:
        conn.execute(insert(L), rows)
