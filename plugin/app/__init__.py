"""The hub's wiring: the Flask application factory (STYLE §3). Production runs
`gunicorn 'plugin.app:create_app()'`; nothing happens at import time."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace

from flask import Flask, current_app
from sqlalchemy import Connection, Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from plugin.app.folding import Folder, FoldProcess, lock_path
from plugin.app.forms import MAX_FORM_PARTS, BoundedRequest
from plugin.app.lane import WebhookLane
from plugin.app.logs import configure as configure_logging
from plugin.app.settings import Settings
from plugin.automation.outbound import Senders
from plugin.store.db import reading, single_statements, transaction

MAX_BODY = 1024 * 1024  # bodies over 1 MiB answer 413 (SPEC §5)

# The command groups adapters add to `statushub` ({name: (module, attribute)}), mounted by the CLI
# when the module is installed: like `_init_optional`, the wiring is where the core names adapters.
ADAPTER_COMMANDS = {"slack": ("adapters.slack.cli", "slack_group")}


@dataclass
class Hub:
    """What every request needs, kept in app.extensions (never on a module global): the settings, the
    engine and its units of work, and the senders each channel's adapter registers."""

    settings: Settings
    engine: Engine
    outbound: Senders = field(default_factory=Senders)
    # STATUSHUB_READ_DATABASE_URL's engine (a replica) for pages, reports and lists; the primary's
    # when unset. Writes, webhooks, token and session checks and reads that decide a write never use
    # it (SPEC §8).
    read_engine: Engine | None = None
    # Folds held messages a moment after they are held (STATUSHUB_FOLD_DELAY_MS): a thread of each
    # process on PostgreSQL, one process beside the web processes on a SQLite file; None when the
    # delay is 0: each message is then folded in its own request.
    folder: Folder | FoldProcess | None = None

    @property
    def replica(self) -> Engine:
        return self.read_engine or self.engine

    def transaction(self) -> AbstractContextManager[Connection]:
        """One unit of work: commits on success, rolls back on any exception."""
        return transaction(self.engine)

    def single_statements(self) -> AbstractContextManager[Connection]:
        """A primary connection whose statements commit one by one on PostgreSQL (`plugin.store.db`)."""
        return single_statements(self.engine)

    def reading(self) -> AbstractContextManager[Connection]:
        """A read-only unit of work (on SQLite it does not take the write lock)."""
        return reading(self.engine)


def hub() -> Hub:
    return current_app.extensions["statushub"]


def lane(app: Flask) -> WebhookLane:
    """The app's webhook lane, where an adapter registers the usual answer of a message webhook."""
    return app.extensions["statushub_lane"]


def create_app(test_config: dict | None = None) -> Flask:
    """The hub. `test_config` may set any setting by name (DATABASE_URL, SLACK_SIGNING_SECRET,
    PUBLIC_URL, SLACK_API_URL, ...) over what the environment says; TESTING is Flask's."""
    known = {f.name for f in fields(Settings)}
    overrides = {k.lower(): v for k, v in (test_config or {}).items() if k.lower() in known}
    settings = replace(Settings.from_env(), **overrides)
    app = Flask(__name__)
    app.request_class = BoundedRequest
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    app.config["TESTING"] = bool((test_config or {}).get("TESTING"))
    read_engine = settings.engine(settings.read_database_url) if settings.read_database_url else None
    engine = settings.engine()
    delay = settings.fold_delay_ms
    lock = lock_path(settings.database_url)
    folder: Folder | FoldProcess | None = None
    if delay and lock is not None:
        folder = FoldProcess(engine, settings.database_url, lock, delay / 1000, settings.log_level)
    elif delay:
        folder = Folder(engine, delay / 1000)
    app.extensions["statushub"] = Hub(settings, engine, read_engine=read_engine, folder=folder)
    # Behind ProxyFix, when there is one: the lane's handlers see the scheme and host it fixes.
    app.wsgi_app = app.extensions["statushub_lane"] = WebhookLane(app.wsgi_app, MAX_BODY)  # type: ignore[method-assign]
    hops = int(settings.behind_proxy)
    if hops:
        # Trust only the N nearest hops of X-Forwarded-*, never the client's leftmost value (SPEC §12).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    configure_logging(settings.log_level)

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
        "adapters.chatwoot",
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
