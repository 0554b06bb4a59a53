"""The Chatwoot channel (SPEC §11): its account webhook in, status write-backs out through the outbox."""

from __future__ import annotations

import functools

from flask import Flask

from plugin.automation.chatwoot_sync import KIND, SETUP_KEY
from plugin.automation.outbox import SENDERS_KEY


def init_app(app: Flask) -> None:
    from adapters.chatwoot.rest import RestSetup
    from adapters.chatwoot.routes import bp
    from adapters.chatwoot.writeback import send_writeback

    app.register_blueprint(bp)
    allow_private = app.extensions["statushub"].settings.allow_private_urls
    app.extensions.setdefault(SENDERS_KEY, {})[KIND] = functools.partial(
        send_writeback, allow_private=allow_private
    )
    app.extensions[SETUP_KEY] = RestSetup(allow_private=allow_private)
