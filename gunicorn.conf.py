"""Gunicorn settings that production and the benches in bench/ share; gunicorn reads this file from the
directory it starts in. Run: gunicorn -k sync -w 2 'plugin.app:create_app()' (STYLE §11)."""

import gc


def post_worker_init(worker):
    # The shipped intent model is loaded before the first request, not during it (its training, the
    # first time on a machine, takes seconds; after that it is read from the cache).
    from plugin.workspace.intent_model import shipped_model
    from plugin.workspace.workspaces import DEFAULT_PACKS

    shipped_model(DEFAULT_PACKS)
    # Everything loaded so far (Flask, SQLAlchemy, the Twilio and Slack clients, the app) lives as long
    # as the worker: frozen, the cyclic collector stops walking it on every full collection
    # (bench/FIGURES.md).
    gc.collect()
    gc.freeze()
