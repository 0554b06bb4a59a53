"""`statushub statuses list|add|edit|delete|restore|reorder`: shaping a workspace's status lists (SPEC §3)."""

from __future__ import annotations

import click
from sqlalchemy import Connection, func, select

from plugin.cli.output import json_option, print_json, read_only, table, unit_of_work, workspace_option
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.store.schema import CustomerStatus, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.status_lists import (
    add_status,
    delete_status,
    edit_status,
    reorder_statuses,
    restore_status,
)
from plugin.workspace.workspaces import get_workspace

CS = table_of(CustomerStatus)


def track_option(func_):
    return click.option("--track", "-t", default="stage", show_default=True, metavar="T")(func_)


def status_fields(func_):
    """The editable fields of a status, each optional (None leaves it unchanged)."""
    for option in reversed(
        [
            click.option("--label", metavar="L", help="Up to 64 characters, any language."),
            click.option("--emoji", metavar="E"),
            click.option("--color", metavar="#rrggbb"),
            click.option("--description", metavar="D"),
            click.option("--automation", metavar="A", help="any, upgrade_only or manual_only."),
            click.option("--alert/--no-alert", default=None, help="Entering it notifies the alert channel."),
            click.option("--terminal/--no-terminal", default=None, help="The conversation is over."),
        ]
    ):
        func_ = option(func_)
    return func_


def _catalog(conn: Connection, workspace: str | None) -> Catalog:
    return load_catalog(conn, get_workspace(conn, workspace).id)


def _counts(conn: Connection, catalog: Catalog) -> dict[int, int]:
    return dict(
        conn.execute(
            select(CS.c.status_id, func.count())
            .where(CS.c.workspace_id == catalog.workspace_id)
            .group_by(CS.c.status_id)
        ).all()
    )


@click.group("statuses")
def statuses_group() -> None:
    """Manage the status lists of a workspace's tracks."""


@statuses_group.command("list")
@workspace_option
@click.option("--track", "-t", metavar="T", help="One track; all tracks when left out.")
@json_option
def list_statuses(workspace, track, as_json) -> None:
    """Each status in order with its settings and how many customers are on it."""
    with read_only() as conn:
        catalog = _catalog(conn, workspace)
        tracks = [catalog.track(track)] if track else list(catalog.tracks.values())
        counts = _counts(conn, catalog)
    if as_json:
        print_json(
            [
                {"track": t.key, **s.as_dict(), "customers": counts.get(s.id, 0)}
                for t in tracks
                for s in t.statuses
            ]
        )
        return
    for n, t in enumerate(tracks):
        if n:
            click.echo()
        click.echo(f"{t.key} — {t.label}" + ("" if t.manual else " (set by the system only)"))
        table(
            ["POS", "EMOJI", "LABEL", "KEY", "AUTOMATION", "ALERT", "TERMINAL", "ARCHIVED", "CUSTOMERS"],
            [
                [
                    s.position,
                    s.emoji or "—",
                    s.label,
                    s.key,
                    s.automation,
                    _yes(s.alert),
                    _yes(s.terminal),
                    _yes(s.archived),
                    counts.get(s.id, 0),
                ]
                for s in t.statuses
            ],
        )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@statuses_group.command("add")
@click.argument("key")
@workspace_option
@track_option
@status_fields
@json_option
def add(key, workspace, track, as_json, **fields) -> None:
    """Adds status KEY at the end of the track."""
    with unit_of_work() as conn:
        status = add_status(conn, _catalog(conn, workspace), track, key, **fields)
    if as_json:
        print_json({"track": track, **status.as_dict()})
        return
    click.echo(f"added {status.badge} ({track}:{status.key}) at position {status.position}")


@statuses_group.command("edit")
@click.argument("key")
@workspace_option
@track_option
@status_fields
@json_option
def edit(key, workspace, track, as_json, **fields) -> None:
    """Changes the given fields of status KEY."""
    with unit_of_work() as conn:
        edit_status(conn, _catalog(conn, workspace), track, key, **fields)
        status = _catalog(conn, workspace).track(track).status(key)
        assert status is not None, "a status just edited exists"
    if as_json:
        print_json({"track": track, **status.as_dict()})
        return
    click.echo(f"edited {status.badge} ({track}:{key})")


@statuses_group.command("delete")
@click.argument("key")
@workspace_option
@track_option
@json_option
def delete(key, workspace, track, as_json) -> None:
    """Deletes status KEY; archives it instead while customers are still on it."""
    with unit_of_work() as conn:
        catalog = _catalog(conn, workspace)
        found = catalog.track(track).status(key)
        badge = found.badge if found else key
        result = delete_status(conn, catalog, track, key, utcnow())
    if as_json:
        print_json(
            {
                "track": track,
                "key": key,
                "deleted": not result.archived,
                "archived": result.archived,
                "customers": result.customers,
                "dangling": result.dangling,
            }
        )
        return
    if result.archived:
        click.echo(
            f"archived {badge} ({track}:{key}): {result.customers} customer(s) still on it; it is deleted "
            "when the last one leaves, `statuses restore` makes it assignable again"
        )
    else:
        click.echo(f"deleted {badge} ({track}:{key})")
    for reference in result.dangling:
        click.echo(f"  no longer acts: {reference} (point it elsewhere)")


@statuses_group.command("restore")
@click.argument("key")
@workspace_option
@track_option
@json_option
def restore(key, workspace, track, as_json) -> None:
    """Makes archived status KEY assignable again."""
    with unit_of_work() as conn:
        restore_status(conn, _catalog(conn, workspace), track, key)
        status = _catalog(conn, workspace).track(track).status(key)
        assert status is not None, "a status just restored exists"
    if as_json:
        print_json({"track": track, **status.as_dict()})
        return
    click.echo(f"restored {status.badge} ({track}:{key})")


@statuses_group.command("reorder")
@click.argument("keys", nargs=-1, required=True)
@workspace_option
@track_option
@json_option
def reorder(keys, workspace, track, as_json) -> None:
    """Sets the track's order, lowest first; it changes what counts as an upgrade from now on."""
    with unit_of_work() as conn:
        reorder_statuses(conn, _catalog(conn, workspace), track, list(keys))
        ordered = _catalog(conn, workspace).track(track).statuses
    if as_json:
        print_json([{"track": track, **s.as_dict()} for s in ordered])
        return
    click.echo(f"{track}: " + " < ".join(s.badge or s.key for s in ordered))
