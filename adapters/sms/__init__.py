"""The SMS channel (Twilio): inbound messages, delivery callbacks and outbound sending."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from adapters.sms import send
    from adapters.sms.routes import bp, lane_inbound
    from plugin.app import lane

    app.register_blueprint(bp)
    h = app.extensions["statushub"]
    folder = h.folder
    if folder is not None:  # the lane answers held messages; folded in the request, Flask does
        lane(app).add("POST", "/sms/twilio/inbound", lambda request: lane_inbound(h, folder, request))
    send.init_app(app)
