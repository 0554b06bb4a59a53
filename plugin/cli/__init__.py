"""The `statushub` command line (SPEC §7): one click group; each command module is one idea.

Commands other engineers own (rules, demo, worker, workspace admins) are mounted lazily (cli/lazy.py).
"""

from __future__ import annotations

import click

from plugin.app import ADAPTER_COMMANDS
from plugin.cli.changes_cli import history_command, log_command, messages_command, set_command, why_command
from plugin.cli.customers_cli import customers_group
from plugin.cli.intents_cli import intents_group
from plugin.cli.output import TranslatingGroup
from plugin.cli.setup_cli import db_group, init_command, serve_command
from plugin.cli.statuses_cli import statuses_group
from plugin.cli.workspace_cli import token_group, workspace_group


@click.group(
    cls=TranslatingGroup,
    lazy_subcommands={
        "rules": ("plugin.cli.rules_cli", "rules_group"),
        "demo": ("plugin.cli.demo_cli", "demo_command"),
        "worker": ("plugin.cli.worker_cli", "worker_command"),
        "time-rules": ("plugin.cli.time_rules_cli", "time_rules_group"),
        "webhooks": ("plugin.cli.webhooks_cli", "webhooks_group"),
        "prune": ("plugin.cli.prune_cli", "prune_command"),
        "alerts": ("plugin.cli.alerts_cli", "alerts_group"),
        "chatwoot": ("plugin.cli.chatwoot_cli", "chatwoot_group"),
        **ADAPTER_COMMANDS,
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def main() -> None:
    """statushub: customer statuses for chatbot platforms (SMS, web chat, Slack).

    Configuration comes from the environment: STATUSHUB_DATABASE_URL (default: statushub.db here).
    """


for command in (
    init_command,
    db_group,
    serve_command,
    workspace_group,
    token_group,
    statuses_group,
    customers_group,
    set_command,
    log_command,
    history_command,
    why_command,
    messages_command,
    intents_group,
):
    main.add_command(command)

__all__ = ["main"]
