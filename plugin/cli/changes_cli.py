"""`statushub set|log|history|why|messages`: changing a customer's statuses and reading why they are
what they are (SPEC §3, §7)."""

from __future__ import annotations

import click
from sqlalchemy import Connection

from plugin.cli.customer_view import badge, badges, customer_documents
from plugin.cli.output import (
    actor,
    json_option,
    print_json,
    read_only,
    table,
    unit_of_work,
    when,
    workspace_option,
)
from plugin.customers.activities import log_activity, resolve_interaction, resolve_outcome
from plugin.customers.naming import resolve_customer
from plugin.customers.queries import entry_dict, history
from plugin.customers.read_model import conversation
from plugin.domain.catalog import Catalog
from plugin.domain.events import media_labels
from plugin.domain.fold import Entry
from plugin.domain.sources import describe_source
from plugin.engine import assign_status
from plugin.workspace.catalog import load_catalog
from plugin.workspace.context import CommandContext, command_context
from plugin.workspace.workspaces import get_workspace


def _customer(conn: Connection, workspace: str | None, ref: str) -> tuple[CommandContext, int]:
    """The command context (actor `cli:<login>`) and the customer named by `ref`."""
    ws = get_workspace(conn, workspace)
    command = command_context(conn, ws.id, actor(), region=ws.default_region)
    return command, resolve_customer(conn, ws.id, ref, ws.default_region)


def _print_changes(catalog: Catalog, name: str, entries: list[Entry]) -> None:
    applied = [e for e in entries if e.applied]
    if not applied:
        click.echo(f"{name}: nothing changed (already there)")
    for e in applied:
        click.echo(
            f"{name}: {e.track} {badge(catalog, e.track, e.from_status)} → {badge(catalog, e.track, e.to_status)}"
        )


@click.command("set")
@click.argument("customer")
@click.argument("status")
@click.option("--note", default="", help="Why; required on the attention track.")
@workspace_option
@json_option
def set_command(customer, status, note, workspace, as_json) -> None:
    """A manual change: STATUS named by key, label, emoji, prefix or track:key."""
    with unit_of_work() as conn:
        command, customer_id = _customer(conn, workspace, customer)
        catalog = command.catalog
        target = catalog.resolve(status)
        entries = assign_status(
            conn,
            catalog,
            customer_id,
            target,
            actor=command.actor,
            note=note,
            classify=command.classify,
        )
        document = customer_documents(conn, load_catalog(conn, catalog.workspace_id), [customer_id])[0]
    if as_json:
        print_json({"customer": document, "changes": [entry_dict(e) for e in entries]})
        return
    _print_changes(catalog, f"#{customer_id} {document['name']}", entries)


@click.command("log")
@click.argument("customer")
@click.argument("outcome")
@click.option("--via", default="call", show_default=True, help="call, sms, email, in-store or chat.")
@click.option("--note", default="")
@workspace_option
@json_option
def log_command(customer, outcome, via, note, workspace, as_json) -> None:
    """Logs an activity and its OUTCOME (key, label or alias such as vm, no-sale, in-progress)."""
    with unit_of_work() as conn:
        command, customer_id = _customer(conn, workspace, customer)
        catalog = command.catalog
        interaction = resolve_interaction(via)
        result = resolve_outcome(catalog, outcome)
        activity_id, entries = log_activity(
            conn,
            catalog,
            customer_id,
            result,
            interaction=interaction,
            actor=command.actor,
            note=note,
            classify=command.classify,
        )
        document = customer_documents(conn, load_catalog(conn, catalog.workspace_id), [customer_id])[0]
    if as_json:
        print_json(
            {
                "activity": {
                    "id": activity_id,
                    "interaction": interaction,
                    "outcome": result.key,
                    "note": note,
                },
                "customer": document,
                "changes": [entry_dict(e) for e in entries],
            }
        )
        return
    click.echo(f"logged {interaction}: {result.badge} for #{customer_id} {document['name']}")
    _print_changes(catalog, f"#{customer_id} {document['name']}", entries)


def _history_rows(catalog: Catalog, entries: list[dict]) -> list[list]:

    return [
        [
            when(e["at"]),
            e["track"],
            f"{badge(catalog, e['track'], e['from'])} → {badge(catalog, e['track'], e['to'])}",
            e["source"],
            e["actor"],
            "applied" if e["applied"] else f"blocked: {e['reason']}",
            e["note"],
        ]
        for e in entries
    ]


HISTORY_HEADERS = ["AT (UTC)", "TRACK", "CHANGE", "SOURCE", "ACTOR", "DECISION", "NOTE"]


@click.command("history")
@click.argument("customer")
@workspace_option
@json_option
def history_command(customer, workspace, as_json) -> None:
    """The customer's audit trail, oldest first: every change and every blocked decision."""
    with read_only() as conn:
        command, customer_id = _customer(conn, workspace, customer)
        catalog = command.catalog
        entries = history(conn, catalog.workspace_id, customer_id)
    if as_json:
        print_json(entries)
        return
    table(HISTORY_HEADERS, _history_rows(catalog, entries), empty="no status changes yet")


@click.command("why")
@click.argument("customer")
@workspace_option
@json_option
def why_command(customer, workspace, as_json) -> None:
    """For each track: the current status, the entry that put the customer there, and what was blocked since."""
    with read_only() as conn:
        command, customer_id = _customer(conn, workspace, customer)
        catalog = command.catalog
        document = customer_documents(conn, catalog, [customer_id])[0]
        entries = history(conn, catalog.workspace_id, customer_id)
    reasons = {}
    for track, key in document["statuses"].items():
        on_track = [e for e in entries if e["track"] == track]
        decided = next((e for e in reversed(on_track) if e["applied"] and e["to"] == key), None)
        since = on_track[on_track.index(decided) + 1 :] if decided else on_track
        reasons[track] = {
            "status": key,
            "because": decided,
            "blocked_since": [e for e in since if not e["applied"]],
        }
    if as_json:
        print_json({"customer": {"id": document["id"], "name": document["name"]}, "tracks": reasons})
        return
    click.echo(f"#{document['id']} {document['name']}")
    shown = badges(catalog, document["statuses"])
    for track, why in reasons.items():
        e = why["because"]
        if e is None:
            cause = "where every new customer starts"
        else:
            cause = f"{describe_source(e['source'], e.get('confidence'))} by {e['actor']} at {when(e['at'])}"
            if e["message_id"]:
                cause += f" (message {e['message_id']})"
            if e["note"]:
                cause += f": {e['note']}"
        click.echo(f"  {track}: {shown.get(track, why['status'])} — {cause}")
        for b in why["blocked_since"]:
            click.echo(
                f"      blocked {badge(catalog, track, b['to'])} "
                f"({describe_source(b['source'], b.get('confidence'))}, {when(b['at'])}): "
                f"{b['reason']}"
            )


@click.command("messages")
@click.argument("customer")
@click.option(
    "--limit", "-n", type=click.IntRange(1, 10000), default=50, show_default=True, help="The latest N."
)
@workspace_option
@json_option
def messages_command(customer, limit, workspace, as_json) -> None:
    """The conversation, oldest first by provider time."""
    with read_only() as conn:
        command, customer_id = _customer(conn, workspace, customer)
        messages = conversation(conn, command.catalog.workspace_id, customer_id, limit)
    if as_json:
        print_json(messages)
        return
    table(
        ["AT (UTC)", "CHANNEL", "DIRECTION", "SENDER", "TEXT", "PROVIDER ID", "DELIVERY"],
        [
            [
                when(m["provider_at"]),
                m["channel"],
                m["direction"],
                m["sender"],
                " ".join([_short(m["text"]), *media_labels(m["media"])]).strip(),
                m["provider_id"],
                m["delivery_status"] or "—",
            ]
            for m in messages
        ],
        empty="no messages yet",
    )


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
