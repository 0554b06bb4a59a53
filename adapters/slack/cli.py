"""`statushub slack manifest`: the Slack side of the command line, mounted by the wiring."""

from __future__ import annotations

import json

import click
import yaml

from adapters.slack.manifest import app_manifest
from plugin.app.settings import Settings


@click.group("slack")
def slack_group() -> None:
    """Set up the Slack app."""


@slack_group.command("manifest")
@click.option("--url", metavar="URL", help="Where Slack reaches the hub (default: STATUSHUB_PUBLIC_URL).")
@click.option("--name", default="statushub", show_default=True, help="The app's name in Slack.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML (Slack takes either).")
def manifest_command(url, name, as_json) -> None:
    """Prints a Slack app manifest: paste it at api.slack.com/apps → Create New App → From a manifest."""
    settings = Settings.from_env()
    document = app_manifest(url or settings.public_url, dict(settings.slack_commands), name=name)
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100), nl=False)
