"""`statushub workspace admins add|list|remove`: which Slack users are admins (SPEC §6)."""

from __future__ import annotations

import json
import sys

import click

from plugin.domain.errors import StatushubError


def _engine():
    # The CLI's one engine (plugin/cli/output.py): disposed at exit, a bad setting one error line.
    from plugin.cli.output import session

    return session().engine


def _fail(exc: StatushubError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(1)


@click.group("admins")
def admins_group() -> None:
    """Slack users who may edit status lists, rules and settings from Slack."""


@admins_group.command("add")
@click.argument("slug")
@click.argument("user_id")
def add(slug: str, user_id: str) -> None:
    """Makes the Slack user USER_ID (like U012AB3CD) an admin of workspace SLUG."""
    from plugin.store.db import transaction
    from plugin.workspace.workspaces import add_admin, get_workspace

    try:
        with transaction(_engine()) as conn:
            add_admin(conn, get_workspace(conn, slug).id, user_id.strip())
    except StatushubError as exc:
        _fail(exc)
    click.echo(f"{user_id.strip()} is an admin of {slug}")


@admins_group.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def list_(slug: str, as_json: bool) -> None:
    """Lists the admins of workspace SLUG."""
    from plugin.store.db import reading
    from plugin.workspace.workspaces import get_workspace, list_admins

    try:
        with reading(_engine()) as conn:
            admins = list_admins(conn, get_workspace(conn, slug).id)
    except StatushubError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps({"workspace": slug, "admins": admins}))
    else:
        for user_id in admins:
            click.echo(user_id)


@admins_group.command("remove")
@click.argument("slug")
@click.argument("user_id")
def remove(slug: str, user_id: str) -> None:
    """Takes admin rights away from USER_ID in workspace SLUG."""
    from plugin.store.db import transaction
    from plugin.workspace.workspaces import get_workspace, remove_admin

    try:
        with transaction(_engine()) as conn:
            remove_admin(conn, get_workspace(conn, slug).id, user_id.strip())
    except StatushubError as exc:
        _fail(exc)
    click.echo(f"{user_id.strip()} is no longer an admin of {slug}")
