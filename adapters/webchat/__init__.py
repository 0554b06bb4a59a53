"""The web chat channel: signed JSON events from any chatbot platform (SPEC §5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from adapters.webchat.routes import bp, lane_events
    from plugin.app import lane

    app.register_blueprint(bp)
    h = app.extensions["statushub"]
    lane(app).add("POST", "/webchat/events", lambda request: lane_events(h, request))
