"""The outbox: durable side effects (Slack alerts, nudges, webhooks) claimed, sent and retried (SPEC §9).

An item is written in the transaction of the change that causes it. A worker claims due items in a
short transaction that leases them (moves `due_at` past the lease), sends outside any transaction,
then marks the item sent or schedules a retry. A worker killed mid-send loses nothing: the lease
expires and another run sends it; an item marked sent is never claimed again. On PostgreSQL any
number of workers share the work (`FOR UPDATE SKIP LOCKED`); on SQLite one worker runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from plugin.customers.naming import customer_name
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware, utcnow
from plugin.store.db import is_postgres, reading, transaction
from plugin.store.schema import Message, OutboxItem, table_of
from plugin.workspace.accounts import ChannelAccount, slack_account_of
from plugin.workspace.catalog import load_catalog

OUT = table_of(OutboxItem)
MESSAGES = table_of(Message)
log = logging.getLogger("statushub.outbox")

LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)

# The wiring fills these in app.extensions (the core never imports an adapter): each adapter's
# init_app registers the senders of its outbox kinds; other parts may add periodic worker tasks.
SENDERS_KEY = "statushub_senders"  # {outbox kind: Sender}


@dataclass(frozen=True)
class Job:
    """One claimed outbox item, as a sender sees it."""

    id: int
    workspace_id: int
    kind: str
    customer_id: int | None
    payload: dict
    attempts: int
    created_at: datetime


class Undeliverable(Exception):
    """A sender's verdict that retrying cannot help (e.g. no alert channel configured): dead at once."""


Sender = Callable[[Engine, Job], None]
"""Sends one job or raises; the registry maps an outbox `kind` to its sender (filled by the wiring)."""


@dataclass(frozen=True)
class AlertTarget:
    """Where a job's alert goes and what it names: the workspace's Slack account (bot token, alert
    channel), the customer's name, the workspace's catalog and the text of the message that
    triggered the change (None when a person or a time rule made it)."""

    account: ChannelAccount
    customer_name: str | None
    catalog: Catalog
    message_text: str | None = None


def alert_target(engine: Engine, job: Job) -> AlertTarget:
    """Read in one read-only unit of work; Undeliverable without a Slack bot token and alert channel
    (retrying cannot help)."""
    with reading(engine) as conn:
        account = slack_account_of(conn, job.workspace_id)
        if account is None:
            raise Undeliverable("the workspace has no Slack bot token or alert channel")
        name = customer_name(conn, job.workspace_id, job.customer_id) if job.customer_id else None
        message_id = job.payload.get("message_id")
        text = None
        if isinstance(message_id, int):
            text = conn.execute(
                select(MESSAGES.c.text).where(
                    MESSAGES.c.workspace_id == job.workspace_id, MESSAGES.c.id == message_id
                )
            ).scalar_one_or_none()
        return AlertTarget(account, name, load_catalog(conn, job.workspace_id), text)


@dataclass
class Counts:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    ids: list[int] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: 10 s, doubling, capped at 1 h."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)


def claim(
    engine: Engine, kinds: list[str], now: datetime, *, limit: int = 1, lease: timedelta = LEASE
) -> list[Job]:
    """Leases up to `limit` due items of these kinds; two workers never get the same item."""
    if not kinds:
        return []
    with transaction(engine) as conn:
        query = (
            select(OUT)
            .where(
                OUT.c.sent_at.is_(None), OUT.c.dead_at.is_(None), OUT.c.due_at <= now, OUT.c.kind.in_(kinds)
            )
            .order_by(OUT.c.due_at, OUT.c.id)
            .limit(limit)
        )
        if is_postgres(conn):
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if rows:
            conn.execute(update(OUT).where(OUT.c.id.in_([r.id for r in rows])).values(due_at=now + lease))
    return [
        Job(r.id, r.workspace_id, r.kind, r.customer_id, r.payload or {}, r.attempts, aware(r.created_at))
        for r in rows
    ]


def mark_sent(engine: Engine, job: Job, now: datetime) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(OUT)
            .where(OUT.c.id == job.id, OUT.c.sent_at.is_(None))
            .values(sent_at=now, attempts=job.attempts + 1, last_error="")
        )


def mark_failed(engine: Engine, job: Job, error: str, now: datetime, *, permanent: bool = False) -> bool:
    """Schedules the next try with back-off, or dead-letters the item; True when it is dead."""
    attempts = job.attempts + 1
    dead = permanent or now - job.created_at >= GIVE_UP_AFTER
    values: dict = {"attempts": attempts, "last_error": error[:500]}
    if dead:
        values["dead_at"] = now
    else:
        values["due_at"] = now + backoff(attempts)
    with transaction(engine) as conn:
        conn.execute(update(OUT).where(OUT.c.id == job.id, OUT.c.sent_at.is_(None)).values(**values))
    return dead


def deliver(engine: Engine, job: Job, sender: Sender, now: datetime, counts: Counts) -> None:
    """Sends one claimed job and records the result."""
    try:
        sender(engine, job)
    except Undeliverable as exc:
        mark_failed(engine, job, str(exc), now, permanent=True)
        counts.dead += 1
        log.warning("outbox item undeliverable", extra={"item": job.id, "kind": job.kind})
    except Exception as exc:  # any failure of the outside service is retried later
        error = f"{type(exc).__name__}: {exc}"
        if mark_failed(engine, job, error, now):
            counts.dead += 1
            log.error("outbox item dead-lettered", extra={"item": job.id, "kind": job.kind})
        else:
            counts.retried += 1
            log.info("outbox item will be retried", extra={"item": job.id, "attempts": job.attempts + 1})
    else:
        mark_sent(engine, job, now)
        counts.sent += 1
        counts.ids.append(job.id)


def run_due(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
    stop: Callable[[], bool] = lambda: False,
) -> Counts:
    """Sends every item due at `now` (default: the clock at each claim), one at a time, until none is
    due or `stop()` says so; the item in hand is always finished and recorded."""
    counts = Counts()
    kinds = sorted(senders)
    while not stop():
        moment = now or clock()
        jobs = claim(engine, kinds, moment)
        if not jobs:
            break
        for job in jobs:
            deliver(engine, job, senders[job.kind], now or clock(), counts)
    return counts
