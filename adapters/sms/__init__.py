"""The SMS channel (Twilio): inbound messages, delivery callbacks and outbound sending."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from adapters.sms import send
    from adapters.sms.routes import bp

    app.register_blueprint(bp)
    send.init_app(app)
