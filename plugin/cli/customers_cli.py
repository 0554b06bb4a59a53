"""`statushub customers list|add|show`: finding and adding customers (SPEC §7)."""

from __future__ import annotations

import click

from plugin.cli.customer_view import badge, badges, customer_documents, with_message_counts
from plugin.cli.output import (
    fields,
    json_option,
    print_json,
    read_only,
    table,
    unit_of_work,
    when,
    workspace_option,
)
from plugin.customers.naming import add_customer, resolve_customer
from plugin.customers.queries import MAX_LIMIT, SORTS, CustomerFilter, customer_detail, list_customers
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.identities import display_name, phone_identity
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import get_workspace


@click.group("customers")
def customers_group() -> None:
    """Find and add customers."""


@customers_group.command("list")
@workspace_option
@click.option("--track", "-t", metavar="T", help="With --status: the track the status is on.")
@click.option(
    "--status", "-s", metavar="S", help="Only customers on this status (key, label, emoji, prefix)."
)
@click.option("--search", "-q", "q", metavar="TEXT", default="", help="Part of a name or identity.")
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="id",
    show_default=True,
    help="priority: open customers first, highest stage first, then longest waiting; terminal ones last.",
)
@click.option("--limit", "-n", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True)
@json_option
def list_customers_command(workspace, track, status, q, sort, limit, as_json) -> None:
    """Customers of the workspace, optionally on one status."""
    with read_only() as conn:
        ws = get_workspace(conn, workspace)
        catalog = load_catalog(conn, ws.id)
        wanted = []
        if status:
            found = _status(catalog, track, status)
            wanted = [(found.track, found.key)]
        elif track:
            catalog.track(track)
            raise StatushubError("--track needs --status: say which status on it", field="status")
        page = list_customers(conn, catalog, CustomerFilter(statuses=wanted, q=q, sort=sort), limit=limit)
        documents = with_message_counts(conn, catalog, page.items)
    if as_json:
        print_json(documents)
        return
    tracks = list(catalog.tracks)
    table(
        ["ID", "NAME", *(t.upper() for t in tracks), "WAITING SINCE", "IDENTITIES"],
        [
            [
                f"#{d['id']}",
                d["name"] + (" (opted out)" if d["opted_out"] else ""),
                *(badges(catalog, d["statuses"]).get(t, "") for t in tracks),
                when(d["waiting_since"]),
                ", ".join(display_name(i) for i in d["identities"][:2]),
            ]
            for d in documents
        ],
        empty="no customers match",
    )


def _status(catalog: Catalog, track: str | None, name: str) -> StatusInfo:
    """A status to filter on; an archived one counts too, since customers still hold it."""
    if track:
        exact = catalog.track(track).status(name.strip())
        if exact is not None:
            return exact
    return catalog.resolve(name, track=track, manual=False)


@customers_group.command("add")
@click.argument("name")
@click.option("--phone", "-p", metavar="P", help="Phone number in any common format.")
@click.option("--identity", "-i", "identities", multiple=True, metavar="CHANNEL:ID", help="e.g. webchat:v42")
@workspace_option
@json_option
def add(name, phone, identities, workspace, as_json) -> None:
    """Adds a customer by hand, on the first status of every track."""
    with unit_of_work() as conn:
        ws = get_workspace(conn, workspace)
        catalog = load_catalog(conn, ws.id)
        given = list(identities)
        if phone is not None:
            number = phone_identity(phone, ws.default_region)
            if number is None:
                raise StatushubError(
                    f"{phone!r} is not a phone number (region {ws.default_region})", field="phone"
                )
            given.insert(0, number)
        customer_id = add_customer(conn, catalog, name, given, ws.default_region, utcnow())
        document = customer_documents(conn, catalog, [customer_id])[0]
    if as_json:
        print_json(document)
        return
    ids = ", ".join(document["identities"]) or "no identities"
    click.echo(f"added customer #{customer_id} {document['name']} ({ids})")


@customers_group.command("show")
@click.argument("customer")
@workspace_option
@json_option
def show(customer, workspace, as_json) -> None:
    """One customer: identities, a badge per track, waiting time, warnings, recent history."""
    with read_only() as conn:
        ws = get_workspace(conn, workspace)
        catalog = load_catalog(conn, ws.id)
        customer_id = resolve_customer(conn, ws.id, customer, ws.default_region)
        document = customer_detail(conn, catalog, customer_id, history_limit=10)
    if as_json:
        print_json(document)
        return
    print_customer(catalog, document)
    if document.get("history"):
        click.echo("\nlatest changes (statushub history for all):")
        for e in document["history"]:
            decision = "" if e["applied"] else f"  [blocked: {e['reason']}]"
            click.echo(
                f"  {when(e['at'])}  {e['track']}: {badge(catalog, e['track'], e['from'])} → "
                f"{badge(catalog, e['track'], e['to'])}  ({e['source']}, {e['actor']}){decision}"
            )


def print_customer(catalog: Catalog, document: dict) -> None:
    pairs: list[tuple[str, object]] = [("customer", f"#{document['id']} {document['name']}")]
    pairs.append(("identities", ", ".join(document["identities"]) or "—"))
    pairs += list(badges(catalog, document["statuses"]).items())
    pairs += [
        ("opted out", "yes" if document["opted_out"] else "no"),
        ("messages", document["message_count"]),
        ("waiting since", when(document["waiting_since"])),
        ("last inbound", when(document["last_inbound_at"])),
        ("last outbound", when(document["last_outbound_at"])),
    ]
    pairs += [("warning", w) for w in document.get("warnings", [])]
    fields(pairs)
