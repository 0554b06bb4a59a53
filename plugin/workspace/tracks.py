"""Adding and renaming tracks beyond the built-in four: every customer starts on the new track's first status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, literal, select, update

from plugin.domain.errors import Conflict, StatushubError
from plugin.store.schema import Customer, CustomerStatus, Status, Track
from plugin.workspace.status_lists import KEY, STATUS_DEFAULTS, validate_fields
from plugin.workspace.workspaces import bump_catalog


def create_track(
    conn: Connection, workspace_id: int, key: str, label: str, statuses: list[dict], now: datetime
) -> int:
    """A manual track with its statuses in order; existing customers are put on the first one."""
    if not KEY.match(key or ""):
        raise StatushubError(
            f"track key {key!r} must be lowercase letters, digits and underscores", field="key"
        )
    if not statuses:
        raise StatushubError("a track needs at least one status", field="statuses")
    keys = [s["key"] for s in statuses]
    if len(set(keys)) != len(keys):
        raise StatushubError("status keys must be unique within the track", field="statuses")
    taken = conn.execute(select(Track.id).where(Track.workspace_id == workspace_id, Track.key == key)).first()
    if taken:
        raise Conflict(f"there is already a track {key!r}", field="key")
    position = conn.execute(
        select(func.coalesce(func.max(Track.position), -1) + 1).where(Track.workspace_id == workspace_id)
    ).scalar_one()
    track_id = conn.execute(
        insert(Track).returning(Track.id),
        {
            "workspace_id": workspace_id,
            "key": key,
            "label": label.strip(),
            "position": position,
            "manual": True,
        },
    ).scalar_one()
    rows = []
    for pos, spec in enumerate(statuses):
        if not KEY.match(spec["key"]):
            raise StatushubError(f"status key {spec['key']!r} is not a slug", field="statuses")
        values = validate_fields({k: v for k, v in spec.items() if k != "key"})
        rows.append(
            {
                "workspace_id": workspace_id,
                "track_id": track_id,
                "key": spec["key"],
                "position": pos,
                "label": spec["key"].replace("_", " ").title(),
                **STATUS_DEFAULTS,
                **values,
            }
        )
    first_id = (
        conn.execute(insert(Status).returning(Status.id, sort_by_parameter_order=True), rows)
        .scalars()
        .first()
    )
    conn.execute(
        insert(CustomerStatus).from_select(
            ["workspace_id", "customer_id", "track_id", "status_id", "entered_at"],
            select(
                Customer.workspace_id,
                Customer.id,
                literal(track_id),
                literal(first_id),
                literal(now, Customer.created_at.type),
            ).where(Customer.workspace_id == workspace_id),
        )
    )
    bump_catalog(conn, workspace_id)
    return track_id


def rename_track(conn: Connection, workspace_id: int, key: str, label: str) -> None:
    label = label.strip()
    if not label or len(label) > 64:
        raise StatushubError("a label is 1 to 64 characters", field="label")
    conn.execute(
        update(Track).where(Track.workspace_id == workspace_id, Track.key == key).values(label=label)
    )
    bump_catalog(conn, workspace_id)
