"""`statushub worker [--once]`: drains the outbox until SIGTERM, or once for cron (SPEC §9)."""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

import click
from sqlalchemy import Engine

from plugin.automation.outbox import SENDERS_KEY, run_due
from plugin.domain.clock import utcnow

log = logging.getLogger("statushub.worker")


@click.command("worker")
@click.option("--once", is_flag=True, help="Do what is due now and exit 0 (for cron).")
@click.option("--poll", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
def worker_command(once: bool, poll: float) -> None:
    """Sends queued notifications and outgoing webhooks and runs time rules."""
    stopping = threading.Event()
    if not once:
        # SIGTERM finishes the item in hand, then exits; nothing claimed is lost (its lease expires).
        def on_term(_signum, _frame):
            stopping.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    from plugin.app import create_app

    app = create_app()
    from plugin.cli.setup_cli import delivery_reports_line

    click.echo(delivery_reports_line(app.extensions["statushub"].settings), err=True)
    engine = app.extensions["statushub"].engine
    senders = dict(app.extensions.get(SENDERS_KEY, {}))
    from plugin.automation import nudges, time_rules, webhooks  # time automation (SPEC §9): core, no adapter

    allow_private = app.extensions["statushub"].settings.allow_private_urls
    senders.setdefault(webhooks.KIND, webhooks.WebhookSender(allow_private=allow_private))
    from plugin.automation.retention import prune_due  # retention (SPEC §8)
    from plugin.workspace.intent_model import retrain_due  # a model learns its corrections (SPEC §4)

    retention_days = app.extensions["statushub"].settings.retention_days
    from plugin.engine import fold_stale  # held messages a stopped hub process did not fold (SPEC §8)

    tasks: list[Callable[[Engine, datetime], object]] = [
        fold_stale,
        time_rules.evaluate_time_rules,
        nudges.scan_nudges,
        retrain_due,
        functools.partial(prune_due, days=retention_days),
    ]

    if not once:
        click.echo("worker running; SIGTERM stops it after the item in hand", err=True)
    with app.app_context():
        while True:
            for task in tasks:
                if stopping.is_set():
                    break
                try:
                    task(engine, utcnow())
                except Exception:  # a failing task is logged; the outbox and the other tasks go on
                    log.exception("worker task failed", extra={"task": getattr(task, "__name__", "task")})
            counts = run_due(engine, senders, stop=stopping.is_set)
            if counts.sent or counts.retried or counts.dead:
                log.info(
                    "outbox drained",
                    extra={"sent": counts.sent, "retried": counts.retried, "dead": counts.dead},
                )
            if once:
                click.echo(f"sent {counts.sent}, retrying {counts.retried}, dead {counts.dead}")
                return
            if stopping.wait(poll):
                return
