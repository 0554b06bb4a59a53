"""The card's menus and buttons (block_actions) and the attention note modal (view_submission).

Every choice is a manual change by the Slack user who made it. A block action delivered twice makes
one change: the first delivery remembers its key (user + action_ts + action_id) in the same
transaction as the change. The card is then replaced through the response_url, after the answer.
"""

from __future__ import annotations

import json
import logging
import re

from slack_bolt import App

from adapters.slack import blocks, webapi
from adapters.slack.turn import Turn, answer, fallback_text
from plugin.customers import cards
from plugin.customers.activities import log_activity
from plugin.domain.errors import StatushubError, UnknownCustomer, UnknownStatus
from plugin.engine import assign_status

log = logging.getLogger("statushub.slack")


def parse_value(value: str) -> tuple[int, str]:
    """`<customer id>:<status key>`, as blocks.py writes it."""
    customer, _, key = (value or "").partition(":")
    if not customer.isdigit() or not key:
        raise StatushubError(f"this button is out of date ({value!r}); run /status again", field="value")
    return int(customer), key


def parse_metadata(text: str) -> tuple[int, str]:
    """The attention modal's private_metadata, `{"customer": <id>, "status": <key>}` as
    choose_attention writes it; anything else is an out-of-date form."""
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    customer, key = (meta.get("customer"), meta.get("status")) if isinstance(meta, dict) else (None, None)
    if type(customer) is not int or not isinstance(key, str) or not key:
        raise StatushubError("this form is out of date; run /status again", field="private_metadata")
    return customer, key


def note_of(view: dict) -> str:
    """The note typed in the attention modal; "" when there is none or the state is not Slack's shape."""
    value: object = view
    for key in ("state", "values", "note", "note", "value"):
        value = value.get(key) if isinstance(value, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _status(turn: Turn, track: str, key: str):
    status = turn.catalog.status(track, key)
    if status is None:
        raise UnknownStatus(
            f"{key!r} is no longer a {track} status; run /status again",
            choices=turn.catalog.choices([turn.catalog.track(track)]),
            field="status",
        )
    return status


def _card(turn: Turn, customer_id: int, notice: str) -> list[dict]:
    return blocks.customer_card(
        cards.card(turn.conn, turn.catalog, customer_id), turn.catalog, turn.now, notice
    )


def _check_customer(turn: Turn, customer_id: int) -> None:
    if turn.find_customer(f"#{customer_id}") != customer_id:
        raise UnknownCustomer(f"customer #{customer_id} no longer exists", field="customer")


def dedupe_key(body: dict, action: dict) -> str:
    return f"{body.get('user', {}).get('id', '')}:{action.get('action_ts', '')}:{action.get('action_id', '')}"


def apply_choice(turn: Turn, action: dict, key: str) -> list[dict] | None:
    """The change a menu or button asks for; None when this delivery was already handled."""
    if turn.seen("slack_action", key):
        return None
    action_id = action.get("action_id", "")
    if action_id == "set_stage":
        customer_id, status_key = parse_value(action.get("selected_option", {}).get("value", ""))
        _check_customer(turn, customer_id)
        status = _status(turn, "stage", status_key)
        assign_status(
            turn.conn,
            turn.catalog,
            customer_id,
            status,
            actor=turn.actor,
            classify=turn.classify,
            now=turn.now,
        )
        return _card(turn, customer_id, f"✅ stage set to *{blocks.escape(status.badge)}*")
    customer_id, outcome_key = parse_value(action.get("value", ""))
    _check_customer(turn, customer_id)
    outcome = _status(turn, "outcome", outcome_key)
    log_activity(
        turn.conn,
        turn.catalog,
        customer_id,
        outcome,
        interaction="call",
        actor=turn.actor,
        classify=turn.classify,
        now=turn.now,
    )
    return _card(turn, customer_id, f"📝 logged *{blocks.escape(outcome.badge)}*")


def apply_attention(turn: Turn, view: dict, note: str) -> list[dict] | None:
    customer_id, key = parse_metadata(view.get("private_metadata") or "")
    if turn.seen("slack_view", str(view.get("id", ""))):
        return None
    _check_customer(turn, customer_id)
    status = _status(turn, "attention", key)
    assign_status(
        turn.conn,
        turn.catalog,
        customer_id,
        status,
        actor=turn.actor,
        note=note,
        classify=turn.classify,
        now=turn.now,
    )
    return _card(turn, customer_id, f"✅ attention set to *{blocks.escape(status.badge)}*")


def _replace(response_url: str | None, found: list[dict] | None) -> None:
    if found is None or not response_url:
        return
    payload = {
        "replace_original": True,
        "response_type": "ephemeral",
        "text": fallback_text(found),
        "blocks": found,
    }
    try:
        webapi.respond(response_url, payload)
    except webapi.SlackCallFailed as exc:
        # The change is committed; a lost card refresh must not make Slack retry (and redo) it.
        log.warning("could not refresh the card", extra={"error": str(exc)})


def register(bolt: App, api_url: str) -> None:
    """Each listener acknowledges after its change commits and hands what to show to a lazy
    listener, which calls Slack after the answer (after_ack.py)."""

    def choose(ack, body, action, context):
        user = body.get("user", {}).get("id", "")
        context["card"] = answer(
            context.team_id, user, lambda t: apply_choice(t, action, dedupe_key(body, action))
        )
        ack()

    def refresh_card(body, context):
        _replace(body.get("response_url"), context.get("card"))

    bolt.action(re.compile(r"^(set_stage|log_outcome:.+)$"))(ack=choose, lazy=[refresh_card])

    def choose_attention(ack, body, action, context):
        """Attention needs a note (SPEC §3): ask for it in a modal, apply on submission."""
        ack()
        try:
            customer_id, key = parse_value(action.get("selected_option", {}).get("value", ""))
        except StatushubError:
            return
        status = None
        user = body.get("user", {}).get("id", "")

        def lookup(turn: Turn) -> list[dict]:
            nonlocal status
            status = _status(turn, "attention", key)
            return []

        hint = answer(context.team_id, user, lookup)
        if status is None:
            context["card"] = hint
            return
        meta = json.dumps({"customer": customer_id, "status": key})
        context["modal"] = blocks.attention_modal(customer_id, status, meta)

    def open_modal(body, context):
        if context.get("card"):
            _replace(body.get("response_url"), context["card"])
        if not context.get("modal"):
            return
        try:
            webapi.call(
                api_url,
                context.bot_token or "",
                "views.open",
                {"trigger_id": body.get("trigger_id", ""), "view": context["modal"]},
            )
        except webapi.SlackCallFailed as exc:
            log.warning("could not open the attention form", extra={"error": str(exc)})

    bolt.action("set_attention")(ack=choose_attention, lazy=[open_modal])

    @bolt.view("attention_note")
    def submit_attention(ack, body, view, context):
        note = note_of(view)
        if not note:
            ack(response_action="errors", errors={"note": "Say why: a change of attention needs a note."})
            return
        user = body.get("user", {}).get("id", "")
        found = answer(context.team_id, user, lambda t: apply_attention(t, view, note))
        if found and found[0].get("text", {}).get("text", "").startswith("🤔"):
            ack(response_action="errors", errors={"note": found[0]["text"]["text"][:150]})
            return
        ack()
