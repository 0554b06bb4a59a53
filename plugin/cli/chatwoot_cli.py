"""`statushub chatwoot connect|status`: a workspace's Chatwoot account, in and out (SPEC §11)."""

from __future__ import annotations

import click

from plugin.automation import public_urls
from plugin.automation.chatwoot_sync import (
    SETUP_KEY,
    ChatwootSetup,
    labels_of,
    last_errors,
    last_event,
    queue_counts,
)
from plugin.cli.output import (
    fields,
    json_option,
    print_json,
    read_only,
    session,
    unit_of_work,
    workspace_option,
)
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.workspace.catalog import load_catalog
from plugin.workspace.chatwoot import (
    ChatwootAccount,
    InvalidConnection,
    connect,
    connection_of,
    disconnect,
    normalized_url,
)
from plugin.workspace.workspaces import get_workspace


@click.group("chatwoot")
def chatwoot_group() -> None:
    """Connect a Chatwoot account: its messages move statuses, statuses come back as labels."""


@chatwoot_group.command("connect")
@workspace_option
@click.option(
    "--url", required=True, metavar="URL", help="Your Chatwoot's address, e.g. https://chat.example.com"
)
@click.option(
    "--account-id", required=True, type=int, metavar="N", help="The number in /app/accounts/N/ in Chatwoot."
)
@click.option(
    "--api-token", required=True, metavar="T", help="An administrator's access token (Profile settings)."
)
@click.option(
    "--webhook-secret", metavar="S", help="The secret of a webhook you created in Chatwoot yourself."
)
@click.option("--register", is_flag=True, help="Create the account webhook in Chatwoot and keep its secret.")
@json_option
def connect_command(workspace, url, account_id, api_token, webhook_secret, register, as_json) -> None:
    """Stores the connection and creates the labels the hub writes; with --register, the webhook too."""
    if bool(webhook_secret) == register:
        raise StatushubError("give exactly one of --webhook-secret S and --register", field="register")
    settings = session().settings
    base = normalized_url(url)
    if not settings.allow_private_urls:
        try:
            public_urls.check_url(base)
        except public_urls.NotPublic as exc:
            raise InvalidConnection(
                f"{exc}: Chatwoot must be on a public address (STATUSHUB_ALLOW_PRIVATE_URLS=1 allows others)",
                field="url",
            ) from None
    with read_only() as conn:
        ws = get_workspace(conn, workspace)
        labels = labels_of(load_catalog(conn, ws.id))
    hook_url = None
    if register:
        if not settings.public_url:
            raise StatushubError(
                "set STATUSHUB_PUBLIC_URL to the hub's public address first: Chatwoot must reach it",
                field="register",
            )
        hook_url = f"{settings.public_url}/chatwoot/events/{ws.slug}"
    account = ChatwootAccount(ws.id, base, account_id, api_token.strip(), webhook_secret or "", None)
    setup = _setup()
    webhook_id = None
    if hook_url is not None:
        webhook_id, webhook_secret = setup.register_webhook(account, hook_url)
    made = setup.create_labels(account, labels)
    with unit_of_work() as conn:
        connect(
            conn,
            ws.id,
            url=base,
            account_id=account_id,
            api_token=api_token,
            webhook_secret=webhook_secret or "",
            webhook_id=webhook_id,
            now=utcnow(),
        )
    document = {
        "workspace": ws.slug,
        "url": base,
        "account_id": account_id,
        "webhook_id": webhook_id,
        "webhook_url": hook_url or f"<your hub>/chatwoot/events/{ws.slug}",
        "labels_created": made,
    }
    if as_json:
        print_json(document)
        return
    click.echo(f"connected {ws.slug} to Chatwoot account {account_id} at {base}")
    if webhook_id is not None:
        click.echo(f"webhook {webhook_id} created: {hook_url} (message_created, contact_updated)")
    else:
        click.echo(
            f"in Chatwoot, point the webhook at {document['webhook_url']} (message_created, contact_updated)"
        )
    click.echo(f"labels created: {', '.join(made) if made else 'none (all there already)'}")


@chatwoot_group.command("status")
@workspace_option
@json_option
def status_command(workspace, as_json) -> None:
    """The connection (secrets only as set), the last event received and the write-back queue."""
    with read_only() as conn:
        ws = get_workspace(conn, workspace)
        account = connection_of(conn, ws.id)
        event = last_event(conn, ws.id)
        queue = queue_counts(conn, ws.id)
        failed = last_errors(conn, ws.id)
    connection = (
        None
        if account is None
        else {
            "url": account.url,
            "account_id": account.account_id,
            "api_token": "set",
            "webhook_secret": "set" if account.webhook_secret else "not set",
            "webhook_id": account.webhook_id,
        }
    )
    document = {"workspace": ws.slug, "connected": account is not None, "connection": connection,
                "last_event": event, "queue": queue, "dead_letters": failed}  # fmt: skip
    if as_json:
        print_json(document)
        return
    if connection is None:
        click.echo(f"{ws.slug} is not connected to Chatwoot (statushub chatwoot connect ...)")
    else:
        fields([(k.replace("_", " "), v) for k, v in connection.items()])
    fields(
        [
            ("last event", f"{event['event']} at {event['at']}" if event else "none yet"),
            ("write-backs waiting", queue["pending"]),
            ("write-backs dead", queue["dead"]),
        ]
    )
    for item in failed:
        click.echo(f"  dead #{item['id']} customer #{item['customer']} at {item['at']}: {item['reason']}")


@chatwoot_group.command("disconnect")
@workspace_option
def disconnect_command(workspace) -> None:
    """Stops writing back to Chatwoot and refuses its deliveries (delete the webhook in Chatwoot too)."""
    with unit_of_work() as conn:
        ws = get_workspace(conn, workspace)
        if not disconnect(conn, ws.id):
            raise StatushubError(f"{ws.slug} is not connected to Chatwoot", field="workspace")
    click.echo(f"disconnected {ws.slug} from Chatwoot; remove the webhook in Chatwoot's settings too")


def _setup() -> ChatwootSetup:
    from plugin.app import create_app

    app = create_app()
    setup = app.extensions.get(SETUP_KEY)
    if setup is None:
        raise StatushubError("this hub has no Chatwoot adapter installed", field="chatwoot")
    return setup
