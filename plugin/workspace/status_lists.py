"""Shaping the status lists: add, edit, reorder, delete (archive when in use), restore (SPEC §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.errors import Conflict, StatushubError, UnknownStatus
from plugin.domain.policy import AUTOMATIONS
from plugin.store.schema import Customer, CustomerStatus, IntentAssignment, OutcomeMapping, Status, Track
from plugin.workspace.workspaces import bump_catalog

KEY = re.compile(r"^[a-z0-9_]{1,64}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
EDITABLE = ("label", "emoji", "color", "description", "automation", "alert", "terminal")


# What a status added by hand (or on a new track) is until an admin says otherwise.
STATUS_DEFAULTS = {
    "emoji": "",
    "color": "#9ca3af",
    "description": "",
    "automation": "any",
    "alert": False,
    "terminal": False,
}


def validate_fields(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name not in EDITABLE:
            raise StatushubError(f"{name!r} cannot be edited", choices=list(EDITABLE), field=name)
        if name == "label":
            value = str(value).strip()
            if not value or len(value) > 64:
                raise StatushubError("a label is 1 to 64 characters", field="label")
        elif name == "color" and not COLOR.match(str(value)):
            raise StatushubError(f"color {value!r} must be #rrggbb", field="color")
        elif name == "automation" and value not in AUTOMATIONS:
            raise StatushubError(
                f"automation {value!r} is not one of {', '.join(AUTOMATIONS)}",
                choices=list(AUTOMATIONS),
                field="automation",
            )
        elif name == "emoji" and len(str(value)) > 16:
            raise StatushubError("an emoji is at most 16 characters", field="emoji")
        out[name] = value.lower() if name == "color" else value
    return out


def add_status(conn: Connection, catalog: Catalog, track: str, key: str, **fields) -> StatusInfo:
    t = catalog.track(track)
    if not KEY.match(key or ""):
        raise StatushubError(
            f"status key {key!r} must be lowercase letters, digits and underscores", field="key"
        )
    if t.status(key) is not None:
        raise Conflict(f"{track} already has a status {key!r}", field="key")
    values = validate_fields(fields)
    values.setdefault("label", key.replace("_", " ").title())
    position = max((s.position for s in t.statuses), default=-1) + 1
    status_id = conn.execute(
        insert(Status).returning(Status.id),
        {
            "workspace_id": catalog.workspace_id,
            "track_id": t.id,
            "key": key,
            "position": position,
            **STATUS_DEFAULTS,
            **values,
        },
    ).scalar_one()
    bump_catalog(conn, catalog.workspace_id)
    return StatusInfo(
        status_id,
        track,
        key,
        values["label"],
        values.get("emoji", ""),
        values.get("color", "#9ca3af"),
        values.get("description", ""),
        position,
        values.get("automation", "any"),
        bool(values.get("alert")),
        bool(values.get("terminal")),
        False,
    )


def _existing(catalog: Catalog, track: str, key: str) -> StatusInfo:
    t = catalog.track(track)
    status = t.status(key)
    if status is None:
        raise UnknownStatus(
            f"{track} has no status {key!r}", choices=[s.key for s in t.statuses], field="key"
        )
    return status


def edit_status(conn: Connection, catalog: Catalog, track: str, key: str, **fields) -> None:
    status = _existing(catalog, track, key)
    values = validate_fields(fields)
    if not values:
        raise StatushubError(
            "nothing to change: give at least one of --label --emoji --color --description "
            "--automation --alert/--no-alert --terminal/--no-terminal"
        )
    conn.execute(
        update(Status)
        .where(Status.workspace_id == catalog.workspace_id, Status.id == status.id)
        .values(**values)
    )
    if "terminal" in values and track == "stage":
        _refresh_priority(conn, catalog.workspace_id)
    bump_catalog(conn, catalog.workspace_id)


def reorder_statuses(conn: Connection, catalog: Catalog, track: str, keys: list[str]) -> None:
    """Sets the order of a track; the listed keys must be exactly its statuses (archived ones included)."""
    t = catalog.track(track)
    current = [s.key for s in t.statuses]
    if sorted(keys) != sorted(current) or len(set(keys)) != len(keys):
        raise StatushubError(f"list every status of {track} exactly once", choices=current, field="keys")
    for position, key in enumerate(keys):
        conn.execute(
            update(Status)
            .where(
                Status.workspace_id == catalog.workspace_id, Status.id == _existing(catalog, track, key).id
            )
            .values(position=position)
        )
    if track == "stage":
        _refresh_priority(conn, catalog.workspace_id)
    bump_catalog(conn, catalog.workspace_id)


@dataclass(frozen=True)
class Deletion:
    archived: bool
    customers: int
    dangling: list[str]  # outcome mappings, intent assignments that name the status


def delete_status(conn: Connection, catalog: Catalog, track: str, key: str, now: datetime) -> Deletion:
    """Deletes a status nobody holds; archives one still in use (it is purged when its last customer leaves)."""
    status = _existing(catalog, track, key)
    t = catalog.track(track)
    if len(t.active) <= 1 and not status.archived:
        raise Conflict(f"{track} needs at least one status that is not archived", field="key")
    if t.first.key == key and not t.manual:
        raise Conflict(f"{status.badge} is where new customers start on {track}; it cannot be deleted")
    holders = conn.execute(
        select(func.count())
        .select_from(CustomerStatus)
        .where(CustomerStatus.workspace_id == catalog.workspace_id, CustomerStatus.status_id == status.id)
    ).scalar_one()
    dangling = dangling_references(conn, catalog.workspace_id, track, key)
    if holders:
        conn.execute(
            update(Status)
            .where(Status.workspace_id == catalog.workspace_id, Status.id == status.id)
            .values(archived_at=now)
        )
    else:
        conn.execute(
            delete(Status).where(Status.workspace_id == catalog.workspace_id, Status.id == status.id)
        )
    bump_catalog(conn, catalog.workspace_id)
    return Deletion(bool(holders), holders, dangling)


def restore_status(conn: Connection, catalog: Catalog, track: str, key: str) -> None:
    status = _existing(catalog, track, key)
    if not status.archived:
        raise Conflict(f"{status.badge} is not archived", field="key")
    conn.execute(
        update(Status)
        .where(Status.workspace_id == catalog.workspace_id, Status.id == status.id)
        .values(archived_at=None)
    )
    bump_catalog(conn, catalog.workspace_id)


def dangling_references(conn: Connection, workspace_id: int, track: str, key: str) -> list[str]:
    """What still names the status: it stops acting on that track until pointed elsewhere."""
    found = [
        f"outcome {r.outcome} → {track}:{key}"
        for r in conn.execute(
            select(OutcomeMapping.outcome).where(
                OutcomeMapping.workspace_id == workspace_id,
                OutcomeMapping.track == track,
                OutcomeMapping.status == key,
            )
        )
    ]
    found += [
        f"intent {r.intent} → {track}:{key}"
        for r in conn.execute(
            select(IntentAssignment.intent).where(
                IntentAssignment.workspace_id == workspace_id,
                IntentAssignment.track == track,
                IntentAssignment.status == key,
            )
        )
    ]
    return found


def _refresh_priority(conn: Connection, workspace_id: int) -> None:
    """Reordering or re-flagging stage statuses changes every holder's priority: recompute it."""
    stage = select(Track.id).where(Track.workspace_id == workspace_id, Track.key == "stage").scalar_subquery()
    stage_statuses = conn.execute(
        select(Status.id, Status.position, Status.terminal).where(
            Status.workspace_id == workspace_id, Status.track_id == stage
        )
    ).all()
    for sid, position, terminal in stage_statuses:
        holders = select(CustomerStatus.customer_id).where(
            CustomerStatus.workspace_id == workspace_id, CustomerStatus.status_id == sid
        )
        conn.execute(
            update(Customer)
            .where(Customer.workspace_id == workspace_id, Customer.id.in_(holders))
            .values(priority_rank=position, priority_open=not terminal)
        )
