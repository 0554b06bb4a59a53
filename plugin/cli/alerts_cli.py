"""`statushub alerts failed|retry`: Slack alerts and nudges the alert channel never got (SPEC §11)."""

from __future__ import annotations

import click

from plugin.automation.failed_alerts import failed_alerts, retry_alert
from plugin.cli.output import json_option, print_json, read_only, table, unit_of_work, when, workspace_option
from plugin.domain.clock import utcnow
from plugin.workspace.workspaces import get_workspace


@click.group("alerts")
def alerts_group() -> None:
    """Alerts to the Slack alert channel that could not be delivered."""


@alerts_group.command("failed")
@workspace_option
@json_option
def failed_command(workspace, as_json) -> None:
    """Alerts given up on, latest first, each with the reason and what to do about it."""
    with read_only() as conn:
        found = failed_alerts(conn, get_workspace(conn, workspace).id)
    if as_json:
        print_json([f.document() for f in found])
        return
    table(
        ["id", "customer", "alert", "failed at", "reason"],
        [
            [f.id, f"{f.customer_name or '—'} (#{f.customer_id})", f.change or f.kind, when(f.at), f.reason]
            for f in found
        ],
        empty="no failed alerts",
    )


@alerts_group.command("retry")
@click.argument("item_id", metavar="[ID]", type=click.IntRange(1, 2**63 - 1), required=False)
@click.option("--all", "every", is_flag=True, help="Every failed alert of the workspace.")
@workspace_option
def retry_command(item_id, every, workspace) -> None:
    """Queues a failed alert (or --all) again, once the set-up is fixed; the worker sends it."""
    if (item_id is None) == (not every):
        raise click.UsageError("name one failed alert's ID, or --all")
    with unit_of_work() as conn:
        count = retry_alert(conn, get_workspace(conn, workspace).id, item_id, utcnow())
    click.echo(f"queued {count} alert{'s' if count != 1 else ''} again")
