"""The hub's wiring: the Flask application factory (STYLE §3). Production runs
`gunicorn 'plugin.app:create_app()'`; nothing happens at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine

from plugin.app.forms import MAX_FORM_PARTS, BoundedRequest
from plugin.app.settings import Settings
from plugin.store.db import make_engine

MAX_BODY = 1024 * 1024  # bodies over 1 MiB answer 413 (SPEC §5)


@dataclass
class Hub:
    """What every request needs, kept in app.extensions (never on a module global)."""

    settings: Settings
    engine: Engine


def hub() -> Hub:
    return current_app.extensions["statushub"]


def create_app(test_config: dict | None = None) -> Flask:
    """The hub. `test_config` may set DATABASE_URL, SLACK_SIGNING_SECRET, PUBLIC_URL, SLACK_API_URL."""
    settings = Settings.from_env()
    overrides = {k.lower(): v for k, v in (test_config or {}).items()}
    settings = Settings(
        database_url=overrides.get("database_url", settings.database_url),
        slack_signing_secret=overrides.get("slack_signing_secret", settings.slack_signing_secret),
        public_url=overrides.get("public_url", settings.public_url),
        slack_api_url=overrides.get("slack_api_url", settings.slack_api_url),
        behind_proxy=overrides.get("behind_proxy", settings.behind_proxy),
        secret_key=overrides.get("secret_key", settings.secret_key),
        allow_private_urls=overrides.get("allow_private_urls", settings.allow_private_urls),
        metrics_token=overrides.get("metrics_token", settings.metrics_token),
    )
    app = Flask(__name__)
    app.request_class = BoundedRequest
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    app.config["TESTING"] = bool((test_config or {}).get("TESTING"))
    app.extensions["statushub"] = Hub(settings, make_engine(settings.database_url))
    logging.getLogger("statushub").setLevel(logging.INFO)

    from plugin.app import errors, health

    errors.init_app(app)
    health.init_app(app)
    _init_optional(app)
    return app


def _init_optional(app: Flask) -> None:
    """Each channel and surface registers itself; adapters import the core, never the reverse."""
    import importlib

    for module in (
        "adapters.sms",
        "adapters.webchat",
        "adapters.slack",
        "plugin.app.api",
        "plugin.app.console",
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        init = getattr(mod, "init_app", None)
        if init is not None:
            init(app)
