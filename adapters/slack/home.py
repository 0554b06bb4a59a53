"""App Home (app_home_opened → views.publish, after the answer): the status board, highest priority
first."""

from __future__ import annotations

import logging

from slack_bolt import App

from adapters.slack import blocks, webapi
from adapters.slack.turn import Turn, answer
from plugin.customers import cards

BOARD_SIZE = 10
log = logging.getLogger("statushub.slack")


def board(turn: Turn) -> dict:
    catalog = turn.catalog
    counts = cards.funnel(turn.conn, catalog)
    hot_status = catalog.status("stage", "hot_lead")
    hot = cards.leads(turn.conn, catalog, hot_status, BOARD_SIZE) if hot_status else []
    waiting_status = catalog.status("reply", "in_progress")
    waiting = cards.leads(turn.conn, catalog, waiting_status, BOARD_SIZE) if waiting_status else []
    return blocks.home_view(counts, hot, waiting, turn.now)


def register(bolt: App, api_url: str) -> None:
    def home_opened(event, context):
        if event.get("tab", "home") != "home" or not context.bot_token:
            return  # the Messages tab, or a team no workspace owns: nothing to publish
        view: dict = {}

        def build(turn: Turn) -> list[dict]:
            view.update(board(turn))
            return []

        hint = answer(context.team_id, event["user"], build)
        context["home"] = view or {"type": "home", "blocks": hint}

    def publish(event, context):
        """views.publish, after the acknowledgement (after_ack.py)."""
        if not context.get("home"):
            return
        try:
            webapi.call(
                api_url,
                context.bot_token,
                "views.publish",
                {"user_id": event["user"], "view": context["home"]},
            )
        except webapi.SlackCallFailed as exc:
            log.warning("could not publish App Home", extra={"error": str(exc)})

    bolt.event("app_home_opened")(ack=home_opened, lazy=[publish])
