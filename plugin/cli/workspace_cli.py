"""`statushub workspace create|edit|list` and `statushub token create|list|revoke`: businesses and their API
tokens (SPEC §5, §7). Secrets are never printed back, except a new token, once."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from plugin.cli.lazy import LazyGroup
from plugin.cli.output import json_option, print_json, read_only, table, unit_of_work, when
from plugin.domain.clock import utcnow
from plugin.domain.templates import DEFAULT_TEMPLATE, TEMPLATES
from plugin.store.schema import ApiToken, Customer, Workspace, table_of
from plugin.workspace import chatwoot
from plugin.workspace.credentials import change_credentials, credentials_shown
from plugin.workspace.twilio_senders import add_sender, remove_sender, senders
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


def _channels(twilio, webchat_secret, slack_team) -> list[str]:
    return [
        name
        for name, configured in (("sms", twilio), ("webchat", webchat_secret), ("slack", slack_team))
        if configured
    ]


@workspace_group.command("edit")
@click.argument("slug")
@click.option(
    "--add-twilio-sender",
    "add",
    metavar="S",
    multiple=True,
    help="A Twilio sender this workspace answers: +E.164 number, whatsapp:+E.164, short code or MG… (repeatable).",
)
@click.option(
    "--remove-twilio-sender", "remove", metavar="S", multiple=True, help="Stop answering S (repeatable)."
)
@click.option("--twilio-account-sid", metavar="S")
@click.option("--twilio-auth-token", metavar="T", help="Write-only: never shown back.")
@click.option("--webchat-secret", metavar="W", help="Write-only: never shown back.")
@click.option("--slack-team", metavar="T")
@click.option("--slack-bot-token", metavar="B", help="Write-only: never shown back.")
@click.option(
    "--chatwoot-api-token", metavar="T", help="Rotate the Chatwoot connection's access token (write-only)."
)
@click.option(
    "--chatwoot-webhook-secret", metavar="S", help="Rotate the Chatwoot webhook's secret (write-only)."
)
@json_option
def edit(slug, add, remove, as_json, chatwoot_api_token, chatwoot_webhook_secret, **credentials) -> None:
    """Changes a business's Twilio senders and channel credentials (a rotated token takes effect at
    once; an empty value clears one). Secrets are never printed."""
    changes = {name: value for name, value in credentials.items() if value is not None}
    if not (
        add or remove or changes or chatwoot_api_token is not None or chatwoot_webhook_secret is not None
    ):
        raise click.UsageError(
            "nothing to change: give --add-twilio-sender, --remove-twilio-sender or a credential"
        )
    with unit_of_work() as conn:
        ws = get_workspace(conn, slug)
        region = ws.default_region
        added = [add_sender(conn, ws.id, raw, region, utcnow()) for raw in add]
        removed = [remove_sender(conn, ws.id, raw, region) for raw in remove]
        changed = change_credentials(conn, ws.id, changes)
        changed += chatwoot.rotate(
            conn, ws.id, api_token=chatwoot_api_token, webhook_secret=chatwoot_webhook_secret, now=utcnow()
        )
        document = {"slug": ws.slug, "twilio_senders": senders(conn, ws.id)} | credentials_shown(conn, ws.id)
    if as_json:
        print_json(document)
        return
    for sender in added:
        click.echo(f"{ws.slug} now answers Twilio sender {sender}")
    for sender in removed:
        click.echo(f"{ws.slug} no longer answers Twilio sender {sender}")
    if changed:
        click.echo(f"{ws.slug}: changed {', '.join(changed)} (secrets are not shown)")
    click.echo(f"Twilio senders: {', '.join(document['twilio_senders']) or 'none'}")


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
                W.c.twilio_account_sid,
                W.c.webchat_secret.is_not(None).label("webchat"),
                W.c.slack_team_id,
                W.c.created_at,
            ).order_by(W.c.slug)
        ).all()
        senders_of = {r.id: senders(conn, r.id) for r in rows}
        shown = {r.id: credentials_shown(conn, r.id) for r in rows}
    documents = [
        {
            "id": r.id,
            "slug": r.slug,
            "name": r.name,
            "template": r.template,
            "default_region": r.default_region,
            "channels": _channels(senders_of[r.id], r.webchat, r.slack_team_id),
            "customers": counts.get(r.id, 0),
            "created_at": r.created_at,
            "twilio_senders": senders_of[r.id],
            "credentials": shown[r.id],
        }
        for r in rows
    ]
    if as_json:
        print_json(documents)
        return
    table(
        ["SLUG", "NAME", "TEMPLATE", "REGION", "CHANNELS", "CUSTOMERS", "TWILIO SENDERS", "SECRETS SET"],
        [
            [
                d["slug"],
                d["name"],
                d["template"],
                d["default_region"],
                ",".join(d["channels"]) or "—",
                d["customers"],
                ",".join(d["twilio_senders"]) or "—",
                ",".join(
                    k.removesuffix("_set") for k, v in d["credentials"].items() if k.endswith("_set") and v
                )
                or "—",
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
