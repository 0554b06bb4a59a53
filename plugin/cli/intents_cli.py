"""`statushub intents list|assign|unassign|reset`: what each intent of a workspace's packs assigns,
and the workspace's overrides of it (SPEC §4)."""

from __future__ import annotations

import click
from sqlalchemy import Connection

from plugin.cli.output import json_option, print_json, read_only, table, unit_of_work, workspace_option
from plugin.domain.catalog import Catalog
from plugin.domain.errors import StatushubError
from plugin.workspace.catalog import load_catalog
from plugin.workspace.context import CommandContext
from plugin.workspace.intent_model import correct_intent, list_corrections
from plugin.workspace.intents import (
    assign_intent,
    matcher_for,
    reset_intent,
    workspace_overrides,
    workspace_packs,
)
from plugin.workspace.workspaces import get_workspace


def _catalog(conn: Connection, workspace: str | None) -> Catalog:
    return load_catalog(conn, get_workspace(conn, workspace).id)


def _intent_names(conn: Connection, catalog: Catalog) -> list[str]:
    packs = workspace_packs(conn, catalog.workspace_id)
    return [i.name for i in matcher_for(packs).intents] if packs else []


def _known_intent(conn: Connection, catalog: Catalog, name: str) -> None:
    names = _intent_names(conn, catalog)
    if name not in names:
        raise StatushubError(f"no intent {name!r} in this workspace's packs", choices=names, field="intent")


def _show(assignment: dict[str, str]) -> str:
    return ", ".join(f"{track}:{status}" for track, status in assignment.items()) or "nothing"


@click.group("intents")
def intents_group() -> None:
    """What the intent rules assign, and this workspace's overrides."""


@intents_group.command("list")
@workspace_option
@json_option
def list_intents(workspace, as_json) -> None:
    """Each intent of the workspace's packs: what its pack assigns and what it assigns here."""
    with read_only() as conn:
        catalog = _catalog(conn, workspace)
        packs = workspace_packs(conn, catalog.workspace_id)
        overrides = workspace_overrides(conn, catalog.workspace_id)
    matcher = matcher_for(packs) if packs else None
    documents: list[dict] = [
        {
            "intent": intent.name,
            "pack": intent.pack,
            "default": intent.assignment(catalog.template),
            "assigns": matcher.assignment(intent.name, template=catalog.template, overrides=overrides)
            if matcher
            else {},
            "override": overrides.get(intent.name),
            "description": intent.description,
        }
        for intent in (matcher.intents if matcher else ())
    ]
    if as_json:
        print_json(documents)
        return
    table(
        ["INTENT", "PACK", "ASSIGNS", "PACK DEFAULT", ""],
        [
            [
                d["intent"],
                d["pack"],
                _show(d["assigns"]),
                _show(d["default"]),
                "override" if d["override"] else "",
            ]
            for d in documents
        ],
        empty="this workspace uses no rule packs",
    )


@intents_group.command("assign")
@click.argument("name")
@click.argument("target", metavar="STATUS")
@workspace_option
def assign(name, target, workspace) -> None:
    """Makes intent NAME assign STATUS (e.g. stage:cold_lead) instead of its pack's choice."""
    with unit_of_work() as conn:
        catalog = _catalog(conn, workspace)
        status = catalog.resolve(target)
        assign_intent(conn, catalog, name, f"{status.track}:{status.key}")
    click.echo(f"{name} now assigns {status.track}:{status.key} ({status.badge})")


@intents_group.command("unassign")
@click.argument("name")
@click.option("--track", "-t", default="stage", show_default=True, metavar="T")
@workspace_option
def unassign(name, track, workspace) -> None:
    """Intent NAME no longer assigns anything on the track (it still matches)."""
    with unit_of_work() as conn:
        catalog = _catalog(conn, workspace)
        catalog.track(track)
        assign_intent(conn, catalog, name, None, track=track)
    click.echo(f"{name} now assigns nothing on {track}")


@intents_group.command("reset")
@click.argument("name")
@workspace_option
def reset(name, workspace) -> None:
    """Intent NAME assigns what its pack says again."""
    with unit_of_work() as conn:
        catalog = _catalog(conn, workspace)
        _known_intent(conn, catalog, name)
        reset_intent(conn, catalog, name)
    click.echo(f"{name} assigns its pack's statuses again")


@intents_group.command("correct")
@click.argument("message_id", type=int)
@click.argument("intent", metavar="INTENT|none")
@workspace_option
@json_option
def correct(message_id, intent, workspace, as_json) -> None:
    """Corrects the intent of inbound message MESSAGE_ID (`none`: it has no intent). The correction is
    a labelled example of the workspace: it changes no status and counts from the next training."""
    with unit_of_work() as conn:
        catalog = _catalog(conn, workspace)
        correction = correct_intent(CommandContext(conn, catalog, "cli"), message_id, intent)
    if as_json:
        print_json(correction.as_dict())
        return
    was = ", ".join(correction.previous) or "no intent"
    click.echo(f"message {message_id}: {intent} (was {was}); counts from the next `statushub rules train`")


@intents_group.command("corrections")
@workspace_option
@json_option
def corrections(workspace, as_json) -> None:
    """The workspace's intent corrections, oldest first: the examples its model learns from."""
    with read_only() as conn:
        catalog = _catalog(conn, workspace)
        found = list_corrections(conn, catalog.workspace_id)
    if as_json:
        print_json([c.as_dict() for c in found])
        return
    table(
        ["ID", "MESSAGE", "INTENT", "WAS", "BY", "AT", "TEXT"],
        [
            [
                c.id,
                c.message_id if c.message_id is not None else "",
                c.intent,
                ", ".join(c.previous) or "none",
                c.actor,
                c.created_at.strftime("%Y-%m-%d %H:%M"),
                c.text if len(c.text) <= 60 else c.text[:59] + "…",
            ]
            for c in found
        ],
        empty="no corrections yet: `statushub intents correct MESSAGE_ID INTENT` adds one",
    )
