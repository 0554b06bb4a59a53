"""App Home (app_home_opened → views.publish): the status board, highest priority first."""

from __future__ import annotations

from slack_bolt import App

from adapters.slack import blocks, webapi
from adapters.slack.turn import Turn, answer
from plugin.app import hub
from plugin.customers import cards

BOARD_SIZE = 10


def board(turn: Turn) -> dict:
    catalog = turn.catalog
    counts = cards.funnel(turn.conn, catalog)
    hot_status = catalog.status("stage", "hot_lead")
    hot = cards.leads(turn.conn, catalog, hot_status, BOARD_SIZE) if hot_status else []
    waiting_status = catalog.status("reply", "in_progress")
    waiting = cards.leads(turn.conn, catalog, waiting_status, BOARD_SIZE) if waiting_status else []
    return blocks.home_view(counts, hot, waiting, turn.now)


def register(bolt: App) -> None:
    @bolt.event("app_home_opened")
    def home_opened(event, context):
        if event.get("tab", "home") != "home":
            return
        view: dict = {}

        def build(turn: Turn) -> list[dict]:
            view.update(board(turn))
            return []

        hint = answer(context.team_id, event["user"], build)
        if not context.bot_token:
            return
        webapi.call(
            hub().settings.slack_api_url,
            context.bot_token,
            "views.publish",
            {"user_id": event["user"], "view": view or {"type": "home", "blocks": hint}},
        )
