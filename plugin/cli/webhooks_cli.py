"""`statushub webhooks add|list|remove|dead-letters|replay`: outgoing webhooks (SPEC §9)."""

from __future__ import annotations

import click

from plugin.automation.webhooks import dead_letters, replay, subscribe, subscriptions, unsubscribe
from plugin.cli.output import (
    json_option,
    print_json,
    read_only,
    session,
    table,
    unit_of_work,
    when,
    workspace_option,
)
from plugin.domain.clock import utcnow
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import get_workspace


@click.group("webhooks")
def webhooks_group() -> None:
    """Send status changes to your own URLs, signed."""


@webhooks_group.command("add")
@click.argument("url")
@workspace_option
@click.option("--track", metavar="T", help="Only changes on this track.")
@click.option("--status", metavar="S", help="Only changes to this status.")
@json_option
def add_command(url, workspace, track, status, as_json) -> None:
    """Subscribes URL; prints its id and secret once (keep the secret to verify signatures)."""
    with unit_of_work() as conn:
        catalog = load_catalog(conn, get_workspace(conn, workspace).id)
        allow_private = session().settings.allow_private_urls
        sub_id, secret = subscribe(
            conn, catalog, url, track=track, status=status, now=utcnow(), allow_private=allow_private
        )
    if as_json:
        print_json({"id": sub_id, "secret": secret, "url": url, "track": track, "status": status})
    else:
        click.echo(f"id: {sub_id}\nsecret: {secret}\n(the secret is shown only now)")


@webhooks_group.command("list")
@workspace_option
@json_option
def list_command(workspace, as_json) -> None:
    """Each subscription (never its secret)."""
    with read_only() as conn:
        subs = subscriptions(conn, get_workspace(conn, workspace).id)
    if as_json:
        print_json([dict(s._mapping) for s in subs])
        return
    table(["id", "url", "track", "status", "since"],
          [[s.id, s.url, s.track or "all", s.status or "all", when(s.created_at)] for s in subs])  # fmt: skip


@webhooks_group.command("remove")
@click.argument("sub_id", metavar="ID", type=int)
@workspace_option
def remove_command(sub_id, workspace) -> None:
    """Removes a subscription; its undelivered changes are dropped."""
    with unit_of_work() as conn:
        unsubscribe(conn, get_workspace(conn, workspace).id, sub_id)
    click.echo(f"removed webhook {sub_id}")


@webhooks_group.command("dead-letters")
@workspace_option
@json_option
def dead_letters_command(workspace, as_json) -> None:
    """Changes no receiver accepted within 24 h."""
    with read_only() as conn:
        rows = dead_letters(conn, get_workspace(conn, workspace).id)
    docs = [
        {
            "id": r.id,
            "subscription": r.payload.get("subscription"),
            "event": r.payload.get("id"),
            "customer": r.customer_id,
            "change": f"{r.payload.get('track')}: {r.payload.get('from')} → {r.payload.get('to')}",
            "attempts": r.attempts,
            "last_error": r.last_error,
            "dead_at": r.dead_at,
        }
        for r in rows
    ]
    if as_json:
        print_json(docs)
        return
    table(["id", "subscription", "customer", "change", "attempts", "last error"],
          [[d["id"], d["subscription"], d["customer"], d["change"], d["attempts"], d["last_error"]]
           for d in docs])  # fmt: skip


@webhooks_group.command("replay")
@click.argument("item_id", metavar="ID", type=int)
@workspace_option
def replay_command(item_id, workspace) -> None:
    """Queues a dead-lettered change again (same event id), due now."""
    with unit_of_work() as conn:
        replay(conn, get_workspace(conn, workspace).id, item_id, utcnow())
    click.echo(f"queued webhook {item_id} again")
