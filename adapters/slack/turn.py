"""One Slack request as a core command: the workspace installed in the team, its command context, one
unit of work, and the one place domain errors become an ephemeral hint (STYLE §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from adapters.slack import blocks
from adapters.slack.grammar import Misunderstood
from adapters.slack.parse import channel_identity
from plugin.app import hub
from plugin.customers.naming import resolve_customer
from plugin.domain.errors import StatushubError, UnknownWorkspace
from plugin.engine import customer_of_identity, first_delivery
from plugin.workspace.accounts import slack_account
from plugin.workspace.context import CommandContext, command_context

log = logging.getLogger("statushub.slack")


@dataclass
class Turn:
    """A Slack user's request in their team's workspace: the command context and who they are."""

    command: CommandContext
    team_id: str
    user_id: str

    @property
    def conn(self):
        return self.command.conn

    @property
    def catalog(self):
        return self.command.catalog

    @property
    def now(self):
        return self.command.now

    @property
    def actor(self) -> str:
        return self.command.actor

    @property
    def classify(self):
        return self.command.classify

    @property
    def workspace_id(self) -> int:
        return self.command.workspace_id

    def find_customer(self, ref: str) -> int:
        return resolve_customer(self.conn, self.workspace_id, ref, self.command.region)

    def channel_identity(self, channel_id: str) -> str:
        return channel_identity(self.team_id, channel_id)

    def linked_customer(self, channel_id: str | None) -> int | None:
        """The customer a (Slack Connect) channel is linked to, if any."""
        if not channel_id:
            return None
        return customer_of_identity(self.conn, self.workspace_id, self.channel_identity(channel_id))

    def seen(self, scope: str, key: str) -> bool:
        """True when this delivery was handled before; otherwise remembers it in this unit of work."""
        return not first_delivery(self.conn, self.workspace_id, scope, key, self.now)


def open_turn(conn, team_id: str | None, user_id: str) -> Turn:
    account = slack_account(conn, team_id or "")
    if account is None:
        raise UnknownWorkspace("this Slack team is not connected to a statushub workspace")
    actor = f"slack:{team_id or ''}/{user_id}"
    command = command_context(
        conn, account.workspace_id, actor, region=account.region, catalog_version=account.catalog_version
    )
    return Turn(command, team_id or "", user_id)


def answer(team_id: str | None, user_id: str, work: Callable[[Turn], list[dict] | None]) -> list[dict] | None:
    """Runs `work` in one unit of work and returns its blocks; a domain error rolls it back and
    answers a hint instead. Database errors propagate, so Slack gets a 5xx and retries."""
    try:
        with hub().transaction() as conn:
            return work(open_turn(conn, team_id, user_id))
    except Misunderstood as exc:
        return blocks.mistake(exc, exc.understood)
    except StatushubError as exc:
        log.info("slack mistake", extra={"code": exc.code})
        return blocks.mistake(exc)


def fallback_text(found: list[dict]) -> str:
    """The notification text Slack wants beside blocks: the first section's text."""
    for block in found:
        text = block.get("text")
        if isinstance(text, dict):
            return text.get("text", "")[:300]
    return "statushub"
