"""`statushub workspace create|list` and `statushub token create|list|revoke`: businesses and their API
tokens (SPEC §5, §7). Secrets are never printed back, except a new token, once."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from plugin.cli.lazy import LazyGroup
from plugin.cli.output import json_option, print_json, read_only, table, unit_of_work, when
from plugin.domain.clock import utcnow
from plugin.domain.templates import DEFAULT_TEMPLATE, TEMPLATES
from plugin.store.schema import ApiToken, Customer, Workspace, table_of
from plugin.workspace.workspaces import create_token, create_workspace, get_workspace, revoke_token


@click.group(
    "workspace", cls=LazyGroup, lazy_subcommands={"admins": ("plugin.cli.admins_cli", "admins_group")}
)
def workspace_group() -> None:
    """Add and list businesses (workspaces)."""


@workspace_group.command("create")
@click.argument("slug")
@click.option("--name", metavar="N", help="Display name (default: the slug).")
@click.option(
    "--template",
    metavar="T",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help=f"Stage template: {', '.join(sorted(TEMPLATES))}.",
)
@click.option(
    "--default-region", metavar="CC", default="US", show_default=True, help="For local phone numbers."
)
@click.option("--twilio-account-sid", metavar="S")
@click.option("--twilio-auth-token", metavar="T")
@click.option("--twilio-number", metavar="+1...")
@click.option("--webchat-secret", metavar="W")
@click.option("--slack-team", metavar="T")
@click.option("--slack-bot-token", metavar="B")
@click.option("--alert-channel", metavar="C", help="Slack channel id for alerts.")
@json_option
def create(slug, as_json, **options) -> None:
    """Adds a business with the built-in tracks and the template's statuses."""
    with unit_of_work() as conn:
        ws_id = create_workspace(conn, slug, now=utcnow(), **options)
        ws = get_workspace(conn, slug)
    channels = _channels(options["twilio_number"], options["webchat_secret"], options["slack_team"])
    if as_json:
        print_json(
            {
                "id": ws_id,
                "slug": ws.slug,
                "name": ws.name,
                "template": ws.template,
                "default_region": ws.default_region,
                "channels": channels,
            }
        )
        return
    click.echo(
        f"created workspace {ws.slug} ({ws.name}): template {ws.template}, region {ws.default_region}, "
        f"channels: {', '.join(channels) or 'none yet'}"
    )
    click.echo(f"next: statushub token create {ws.slug} --role admin")


def _channels(twilio_number, webchat_secret, slack_team) -> list[str]:
    return [
        name
        for name, configured in (("sms", twilio_number), ("webchat", webchat_secret), ("slack", slack_team))
        if configured
    ]


@workspace_group.command("list")
@json_option
def list_workspaces(as_json) -> None:
    """Every workspace with its template, region, channels and customer count."""
    W = table_of(Workspace)
    with read_only() as conn:
        counts = dict(
            conn.execute(select(Customer.workspace_id, func.count()).group_by(Customer.workspace_id)).all()
        )
        rows = conn.execute(
            select(
                W.c.id,
                W.c.slug,
                W.c.name,
                W.c.template,
                W.c.default_region,
                W.c.twilio_number,
                W.c.webchat_secret.is_not(None).label("webchat"),
                W.c.slack_team_id,
                W.c.created_at,
            ).order_by(W.c.slug)
        ).all()
    documents = [
        {
            "id": r.id,
            "slug": r.slug,
            "name": r.name,
            "template": r.template,
            "default_region": r.default_region,
            "channels": _channels(r.twilio_number, r.webchat, r.slack_team_id),
            "customers": counts.get(r.id, 0),
            "created_at": r.created_at,
        }
        for r in rows
    ]
    if as_json:
        print_json(documents)
        return
    table(
        ["SLUG", "NAME", "TEMPLATE", "REGION", "CHANNELS", "CUSTOMERS"],
        [
            [
                d["slug"],
                d["name"],
                d["template"],
                d["default_region"],
                ",".join(d["channels"]) or "—",
                d["customers"],
            ]
            for d in documents
        ],
        empty="no workspaces yet: statushub workspace create SLUG",
    )


@click.group("token")
def token_group() -> None:
    """API tokens: each belongs to one workspace and has a role, agent or admin."""


@token_group.command("create")
@click.argument("slug")
@click.option("--role", type=click.Choice(["admin", "agent"]), required=True)
@click.option("--name", metavar="N", help="A name to list and revoke it by (default: role-N).")
@json_option
def create_token_command(slug, role, name, as_json) -> None:
    """Prints a new API token once; only its hash is stored."""
    with unit_of_work() as conn:
        ws = get_workspace(conn, slug)
        token_id, token = create_token(conn, ws.id, role, name, utcnow())
        name = conn.execute(select(ApiToken.name).where(ApiToken.id == token_id)).scalar_one()
    if as_json:
        print_json({"id": token_id, "workspace": ws.slug, "name": name, "role": role, "token": token})
        return
    click.echo(f"{role} token {name!r} for {ws.slug} (shown once; only its hash is stored):")
    click.echo(token)


@token_group.command("list")
@click.argument("slug")
@json_option
def list_tokens(slug, as_json) -> None:
    """The workspace's tokens by name and role (never the tokens themselves)."""
    T = table_of(ApiToken)
    with read_only() as conn:
        ws = get_workspace(conn, slug)
        rows = conn.execute(
            select(T.c.id, T.c.name, T.c.role, T.c.created_at, T.c.revoked_at)
            .where(T.c.workspace_id == ws.id)
            .order_by(T.c.id)
        ).all()
    documents = [
        {"id": r.id, "name": r.name, "role": r.role, "created_at": r.created_at, "revoked_at": r.revoked_at}
        for r in rows
    ]
    if as_json:
        print_json(documents)
        return
    table(
        ["NAME", "ROLE", "CREATED (UTC)", "REVOKED (UTC)"],
        [[d["name"], d["role"], when(d["created_at"]), when(d["revoked_at"])] for d in documents],
        empty="no tokens yet",
    )


@token_group.command("revoke")
@click.argument("slug")
@click.argument("name")
def revoke(slug, name) -> None:
    """Revokes token NAME: it stops working at once."""
    with unit_of_work() as conn:
        ws = get_workspace(conn, slug)
        revoke_token(conn, ws.id, name, utcnow())
    click.echo(f"revoked token {name!r} of {ws.slug}")
