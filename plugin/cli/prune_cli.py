"""`statushub prune --older-than 400d [--workspace W] [--dry-run]`: retention (SPEC §8)."""

from __future__ import annotations

from datetime import timedelta

import click

from plugin.automation.retention import prune
from plugin.cli.output import json_option, print_json, read_only, session, table
from plugin.domain.durations import InvalidDuration, parse_duration
from plugin.workspace.workspaces import get_workspace


@click.command("prune")
@click.option(
    "--older-than", "older_than", required=True, metavar="DURATION", help="e.g. 400d (1m to 3650d)."
)
@click.option("--workspace", "-w", metavar="W", help="Only this workspace (default: every workspace).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@json_option
def prune_command(older_than: str, workspace: str | None, dry_run: bool, as_json: bool) -> None:
    """Deletes messages (and their idempotency records) whose provider time is older than DURATION,
    in short batches; audit entries and current statuses stay."""
    try:
        minutes = parse_duration(older_than, field="older-than")
    except InvalidDuration as exc:
        raise click.BadParameter(str(exc), param_hint="'--older-than'") from None
    ids = None
    if workspace:
        with read_only() as conn:
            ids = [get_workspace(conn, workspace).id]
    done = prune(session().engine, timedelta(minutes=minutes), workspace_ids=ids, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "workspaces": [p.as_dict() for p in done]})
        return
    verb = "would delete" if dry_run else "deleted"
    table(
        ["workspace", f"messages {verb}", "idempotency records", "sent outbox items"],
        [[p.workspace, p.messages, p.idempotency_records, p.sent_outbox_items] for p in done],
    )
