"""The web chat channel: signed JSON events from any chatbot platform (SPEC §5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from adapters.webchat.routes import bp

    app.register_blueprint(bp)
