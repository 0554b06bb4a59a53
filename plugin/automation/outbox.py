"""The outbox: durable side effects (Slack alerts, nudges, webhooks) claimed, sent and retried (SPEC §8, §9).

An item is written in the transaction of the change that causes it. A worker claims a batch of due
items in one statement that leases them (moves `due_at` past the lease), sends each outside any
transaction, then completes the batch in one transaction: one statement deletes every sent item (as
graphile-worker and PgQueuer's queue do: nothing reads a sent item, and marking it cost an UPDATE of
three indexes, then retention's DELETE), each failure gets its retry or dead letter, kept with its
error. Two commits per batch instead of two per item (bench/worker.py).

Order: items of one lane (per customer and kind, per subscription for webhooks) are done in order;
an item is not claimed while an earlier one of its lane is pending, so a batch holds at most one item
of a lane. A worker killed mid-batch loses nothing: the lease expires and another run sends what it
held (at least once, as webhooks promise); an item sent is gone, never claimed again. On PostgreSQL
any number of workers share the work (`FOR UPDATE SKIP LOCKED`); on SQLite one worker runs.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Integer, any_, bindparam, delete, func, or_, select, update

from plugin.customers.naming import customer_name
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware, utcnow
from plugin.store.bulk import ByDialect, one_of
from plugin.store.db import one_statement, reading, transaction
from plugin.store.schema import Message, OutboxItem, table_of
from plugin.workspace.accounts import ChannelAccount, slack_account_of
from plugin.workspace.catalog import load_catalog

OUT = table_of(OutboxItem)
MESSAGES = table_of(Message)
log = logging.getLogger("statushub.outbox")

LEASE = timedelta(seconds=60)  # per batch; renewed while a long batch is still being sent
BATCH = 100  # items per claim: two commits per batch (bench/worker.py)
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
    # What the sender's `prefetch` read for this job with the rest of its batch (None: read it yourself).
    prefetched: object = None


class Undeliverable(Exception):
    """A sender's verdict that retrying cannot help (e.g. no alert channel configured): dead at once."""


Sender = Callable[[Engine, Job], None]
"""Sends one job or raises; the registry maps an outbox `kind` to its sender (filled by the wiring).
A sender may also have `prefetch(engine, jobs) -> {job id: value}`: called once per claimed batch of
its kind, its values reach each job as `job.prefetched` (one read for the batch, not one per job)."""


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


def _claim_statement(dialect: str):
    """Lease a batch: due, pending items of the kinds, oldest first, whose lane has no earlier pending
    item; prebuilt once per dialect (the claim runs on the driver's cursor, bench/worker.py)."""
    earlier = OUT.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.workspace_id == OUT.c.workspace_id,
            earlier.c.lane == OUT.c.lane,
            earlier.c.id < OUT.c.id,
            earlier.c.sent_at.is_(None),
            earlier.c.dead_at.is_(None),
        )
        .exists()
    )
    due = (
        select(OUT.c.id)
        .where(
            OUT.c.sent_at.is_(None),
            OUT.c.dead_at.is_(None),
            OUT.c.due_at <= bindparam("now"),
            one_of(OUT.c.kind, "kinds", dialect),
            or_(OUT.c.lane.is_(None), ~blocked),
        )
        .order_by(OUT.c.due_at, OUT.c.id)
        .limit(bindparam("n", type_=Integer))
        .offset(bindparam("skip", type_=Integer))  # SQLite's LIMIT always comes with an OFFSET
    )
    if dialect == "postgresql":
        # ARRAY(...) makes PostgreSQL find the batch by primary key, never by a hash of the table.
        chosen = OUT.c.id == any_(func.array(due.with_for_update(skip_locked=True, of=OUT).scalar_subquery()))
    else:
        chosen = OUT.c.id.in_(due.scalar_subquery())
    return (
        update(OUT)
        .where(chosen)
        .values(due_at=bindparam("until", type_=OUT.c.due_at.type))
        .returning(
            OUT.c.id,
            OUT.c.workspace_id,
            OUT.c.kind,
            OUT.c.customer_id,
            OUT.c.payload,
            OUT.c.attempts,
            OUT.c.created_at,
        )  # fmt: skip
    )


def _sent_statement(dialect: str):
    """Complete a batch: every sent item leaves the outbox, in one statement."""
    return delete(OUT).where(one_of(OUT.c.id, "ids", dialect), OUT.c.sent_at.is_(None))


_CLAIM = ByDialect(_claim_statement)
_SENT = ByDialect(_sent_statement)


def claim(
    engine: Engine, kinds: list[str], now: datetime, *, limit: int = 1, lease: timedelta = LEASE
) -> list[Job]:
    """Leases up to `limit` due items of these kinds, oldest first, in one statement; two workers
    never get the same item, and a lane's item waits for the earlier ones."""
    if not kinds:
        return []
    with one_statement(engine) as conn:
        rows = _CLAIM(conn).rows(
            conn, {"now": now, "kinds": list(kinds), "n": limit, "skip": 0, "until": now + lease}
        )
    rows.sort(key=lambda r: r[0])
    return [Job(r[0], r[1], r[2], r[3], r[4] or {}, r[5], aware(r[6])) for r in rows]


@dataclass
class Outcome:
    """What sending one job came to, recorded when its batch completes."""

    job: Job
    error: str | None = None  # None: sent
    permanent: bool = False


def send(job: Job, sender: Sender, engine: Engine) -> Outcome:
    """Sends one claimed job; never raises (a failure is an outcome, retried or dead)."""
    try:
        sender(engine, job)
    except Undeliverable as exc:
        return Outcome(job, str(exc) or "undeliverable", permanent=True)
    except Exception as exc:  # any failure of the outside service is retried later
        return Outcome(job, f"{type(exc).__name__}: {exc}")
    return Outcome(job)


def complete(engine: Engine, outcomes: list[Outcome], now: datetime, counts: Counts) -> None:
    """Records a batch's outcomes in one unit of work: one statement deletes every sent item."""
    if not outcomes:
        return
    sent = [o.job.id for o in outcomes if o.error is None]
    # A batch sent whole is one statement (on PostgreSQL without BEGIN and COMMIT round trips).
    with (one_statement if len(sent) == len(outcomes) else transaction)(engine) as conn:
        if sent:
            _SENT(conn).rows(conn, {"ids": sent})
        for o in outcomes:
            if o.error is not None:
                _count_failure(o, _record_failure(conn, o.job, o.error, now, permanent=o.permanent), counts)
    counts.sent += len(sent)
    counts.ids.extend(sent)


def _record_failure(conn: Connection, job: Job, error: str, now: datetime, *, permanent: bool) -> bool:
    """Schedules the next try with back-off, or dead-letters the item; True when it is dead."""
    attempts = job.attempts + 1
    dead = permanent or now - job.created_at >= GIVE_UP_AFTER
    values: dict = {"attempts": attempts, "last_error": error[:500]}
    if dead:
        values["dead_at"] = now
    else:
        values["due_at"] = now + backoff(attempts)
    conn.execute(update(OUT).where(OUT.c.id == job.id, OUT.c.sent_at.is_(None)).values(**values))
    return dead


def _count_failure(o: Outcome, dead: bool, counts: Counts) -> None:
    extra = {"item": o.job.id, "kind": o.job.kind}
    if o.permanent:
        counts.dead += 1
        log.warning("outbox item undeliverable", extra=extra)
    elif dead:
        counts.dead += 1
        log.error("outbox item dead-lettered", extra=extra)
    else:
        counts.retried += 1
        log.info("outbox item will be retried", extra={**extra, "attempts": o.job.attempts + 1})


def mark_failed(engine: Engine, job: Job, error: str, now: datetime, *, permanent: bool = False) -> bool:
    """Schedules the next try with back-off, or dead-letters the item; True when it is dead."""
    with transaction(engine) as conn:
        return _record_failure(conn, job, error, now, permanent=permanent)


def deliver(engine: Engine, job: Job, sender: Sender, now: datetime, counts: Counts) -> None:
    """Sends one claimed job and records the result (a batch of one)."""
    complete(engine, [send(job, sender, engine)], now, counts)


def renew(
    engine: Engine, jobs: list[Job], leased_until: datetime, now: datetime, lease: timedelta
) -> list[Job]:
    """Extends the lease of claimed, unsent jobs; returns those still ours (an expired lease may have
    let another worker claim one: that worker sends it, this one drops it)."""
    if not jobs:
        return []
    with transaction(engine) as conn:
        kept = set(
            conn.execute(
                update(OUT)
                .where(
                    OUT.c.id.in_([j.id for j in jobs]),
                    OUT.c.sent_at.is_(None),
                    OUT.c.dead_at.is_(None),
                    OUT.c.due_at == leased_until,
                )
                .values(due_at=now + lease)
                .returning(OUT.c.id)
            ).scalars()
        )
    return [j for j in jobs if j.id in kept]


def release(engine: Engine, jobs: list[Job], leased_until: datetime, now: datetime) -> None:
    """Hands claimed, unsent jobs back (due now) when the worker stops mid-batch."""
    if jobs:
        with transaction(engine) as conn:
            conn.execute(
                update(OUT)
                .where(
                    OUT.c.id.in_([j.id for j in jobs]), OUT.c.sent_at.is_(None), OUT.c.due_at == leased_until
                )
                .values(due_at=now)
            )


def run_due(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
    stop: Callable[[], bool] = lambda: False,
    batch: int = BATCH,
    lease: timedelta = LEASE,
) -> Counts:
    """Sends every item due at `now` (default: the clock at each claim), a batch at a time, until
    none is due or `stop()` says so; the item in hand is always finished and recorded, the rest of
    its batch handed back."""
    counts = Counts()
    kinds = sorted(senders)
    while not stop():
        moment = now or clock()
        jobs = claim(engine, kinds, moment, limit=batch, lease=lease)
        if not jobs:
            break
        _run_batch(engine, senders, jobs, moment + lease, now, clock, stop, lease, counts)
    return counts


def _run_batch(
    engine: Engine,
    senders: Mapping[str, Sender],
    jobs: list[Job],
    leased_until: datetime,
    now: datetime | None,
    clock: Callable[[], datetime],
    stop: Callable[[], bool],
    lease: timedelta,
    counts: Counts,
) -> None:
    """Sends one claimed batch in order; past half its lease, records what is done and renews the
    rest, so a slow receiver never lets another worker take items this one still holds."""
    outcomes: list[Outcome] = []
    pending = deque(_prefetched(engine, senders, jobs))
    started = time.monotonic()
    while pending:
        if stop():
            moment = now or clock()
            complete(engine, outcomes, moment, counts)
            release(engine, list(pending), leased_until, moment)
            return
        if time.monotonic() - started > lease.total_seconds() / 2:
            moment = now or clock()
            complete(engine, outcomes, moment, counts)
            outcomes, started = [], time.monotonic()
            pending = deque(
                _prefetched(engine, senders, renew(engine, list(pending), leased_until, moment, lease))
            )
            leased_until = moment + lease
            continue
        job = pending.popleft()
        outcomes.append(send(job, senders[job.kind], engine))
    complete(engine, outcomes, now or clock(), counts)


def _prefetched(engine: Engine, senders: Mapping[str, Sender], jobs: list[Job]) -> list[Job]:
    """The jobs with what their senders' `prefetch` read for them, a read per kind and batch. A failing
    prefetch is logged and its senders read for themselves."""
    by_kind: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_kind[job.kind].append(job)
    found: dict[int, object] = {}
    for kind, group in by_kind.items():
        prefetch = getattr(senders[kind], "prefetch", None)
        if prefetch is None:
            continue
        try:
            found.update(prefetch(engine, group))
        except Exception:
            log.exception("outbox prefetch failed", extra={"kind": kind})
    return [replace(job, prefetched=found[job.id]) if job.id in found else job for job in jobs]
