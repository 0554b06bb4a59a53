"""Slash commands `/status`, `/log`, `/leads` (SPEC §6): parse, call the core, answer in the ack.

The answer is the HTTP response itself (ephemeral Block Kit), given after the transaction commits
(`process_before_response=True`), so nothing acknowledged is lost and no Slack call is on this path.
"""

from __future__ import annotations

from slack_bolt import App

from adapters.slack import blocks, grammar
from adapters.slack.turn import Turn, answer, fallback_text
from plugin.customers import cards
from plugin.customers.activities import log_activity
from plugin.domain.errors import Conflict
from plugin.engine import assign_status, attach_identity
from plugin.workspace.workspaces import is_admin


def slack_text(text: str) -> str:
    """Slack escapes &, < and > in command text; mentions stay as <@U…>."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run_status(turn: Turn, text: str, channel_id: str | None) -> list[dict]:
    linked = turn.linked_customer(channel_id)
    parsed = grammar.parse_status(text, turn.catalog, turn.find_customer, linked)
    if isinstance(parsed, grammar.Help):
        return blocks.help_blocks("status")
    if isinstance(parsed, grammar.LinkChannel):
        return link_channel(turn, parsed.customer_id, channel_id)
    notice = ""
    if isinstance(parsed, grammar.SetStatus):
        assign_status(
            turn.conn,
            turn.catalog,
            parsed.customer_id,
            parsed.status,
            actor=turn.actor,
            note=parsed.note,
            classify=turn.classify,
            now=turn.now,
        )
        notice = f"✅ {parsed.status.track} set to *{blocks.escape(parsed.status.badge)}*"
    card = cards.card(turn.conn, turn.catalog, parsed.customer_id)
    return blocks.customer_card(card, turn.catalog, turn.now, notice)


def link_channel(turn: Turn, customer_id: int, channel_id: str | None) -> list[dict]:
    """Admins link a (Slack Connect) channel to one customer: its messages become that customer's."""
    if not is_admin(turn.conn, turn.workspace_id, turn.user_id):
        return blocks.refusal("link a channel to a customer")
    if not channel_id:
        raise Conflict("run /status link in the channel to link", field="channel")
    current = turn.linked_customer(channel_id)
    if current is not None and current != customer_id:
        raise Conflict(f"this channel is already linked to customer #{current}", field="channel")
    if current is None:
        linked = attach_identity(turn.conn, turn.workspace_id, customer_id, turn.channel_identity(channel_id))
        if linked != customer_id:
            raise Conflict("this channel was just linked to another customer", field="channel")
    card = cards.card(turn.conn, turn.catalog, customer_id)
    return blocks.customer_card(card, turn.catalog, turn.now, "🔗 this channel is linked to the customer")


def run_log(turn: Turn, text: str, channel_id: str | None) -> list[dict]:
    parsed = grammar.parse_log(text, turn.catalog, turn.find_customer, turn.linked_customer(channel_id))
    if isinstance(parsed, grammar.Help):
        return blocks.help_blocks("log")
    log_activity(
        turn.conn,
        turn.catalog,
        parsed.customer_id,
        parsed.outcome,
        interaction=parsed.interaction,
        actor=turn.actor,
        note=parsed.note,
        classify=turn.classify,
        now=turn.now,
    )
    card = cards.card(turn.conn, turn.catalog, parsed.customer_id)
    notice = f"📝 logged *{blocks.escape(parsed.outcome.badge)}* ({parsed.interaction.replace('_', '-')})"
    return blocks.customer_card(card, turn.catalog, turn.now, notice)


def run_leads(turn: Turn, text: str) -> list[dict]:
    parsed = grammar.parse_leads(text, turn.catalog)
    if isinstance(parsed, grammar.Help):
        return blocks.help_blocks("leads")
    if isinstance(parsed, grammar.Funnel):
        return blocks.funnel(cards.funnel(turn.conn, turn.catalog))
    return blocks.leads_list(parsed.status, cards.leads(turn.conn, turn.catalog, parsed.status), turn.now)


def register(bolt: App, names: dict[str, str]) -> None:
    def ephemeral(ack, found: list[dict] | None) -> None:
        found = found or []
        ack(response_type="ephemeral", text=fallback_text(found), blocks=found)

    @bolt.command(names["status"])
    def status_command(ack, command, context):
        text, channel = slack_text(command.get("text", "")), command.get("channel_id")
        ephemeral(ack, answer(context.team_id, command["user_id"], lambda t: run_status(t, text, channel)))

    @bolt.command(names["log"])
    def log_command(ack, command, context):
        text, channel = slack_text(command.get("text", "")), command.get("channel_id")
        ephemeral(ack, answer(context.team_id, command["user_id"], lambda t: run_log(t, text, channel)))

    @bolt.command(names["leads"])
    def leads_command(ack, command, context):
        text = slack_text(command.get("text", ""))
        ephemeral(ack, answer(context.team_id, command["user_id"], lambda t: run_leads(t, text)))
