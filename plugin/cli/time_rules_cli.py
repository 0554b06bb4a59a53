"""`statushub time-rules list|add|remove`: a workspace's automatic changes over time (SPEC §9)."""

from __future__ import annotations

import click

from plugin.automation.time_rules import add_rule, list_rules, remove_rule
from plugin.cli.output import json_option, print_json, table, unit_of_work, workspace_option
from plugin.domain.clock import utcnow
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import get_workspace


@click.group("time-rules")
def time_rules_group() -> None:
    """Manage the rules that move customers after a time in a status."""


@time_rules_group.command("list")
@workspace_option
@json_option
def list_command(workspace, as_json) -> None:
    """Each rule: its condition, duration and target."""
    # Reading may seed the template's defaults the first time, hence a unit of work.
    with unit_of_work() as conn:
        rules = [r.as_dict() for r in list_rules(conn, get_workspace(conn, workspace).id, utcnow())]
    if as_json:
        print_json(rules)
        return
    table(
        ["name", "when", "after", "to"],
        [
            [r["name"], " + ".join(f"{t}:{s}" for t, s in r["when"].items()), r["after"], r["to"]]
            for r in rules
        ],
    )


@time_rules_group.command("add")
@click.argument("name")
@workspace_option
@click.option("--when", "when", multiple=True, required=True, metavar="TRACK:STATUS", help="Once or twice.")
@click.option("--after", required=True, metavar="DURATION", help="<n>m, <n>h or <n>d, n ≥ 1.")
@click.option("--to", "to", required=True, metavar="TRACK:STATUS")
@json_option
def add_command(name, workspace, when, after, to, as_json) -> None:
    """Adds a rule: NAME moves customers in --when for --after to --to."""
    with unit_of_work() as conn:
        catalog = load_catalog(conn, get_workspace(conn, workspace).id)
        rule = add_rule(conn, catalog, name, list(when), after, to, utcnow())
    if as_json:
        print_json(rule.as_dict())
    else:
        click.echo(f"added time rule {rule.name}")


@time_rules_group.command("remove")
@click.argument("name")
@workspace_option
def remove_command(name, workspace) -> None:
    """Removes a rule; decisions it already made stay in the audit log."""
    with unit_of_work() as conn:
        remove_rule(conn, get_workspace(conn, workspace).id, name, utcnow())
    click.echo(f"removed time rule {name}")
