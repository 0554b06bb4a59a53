"""Receiving messages from any channel: catalog, classifier and engine in one call, once per delivery
(SPEC §3, §4, §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.domain.fold import Classifier
from plugin.domain.optout import opt_change
from plugin.engine.delivery_status import Delivery, record_delivery
from plugin.engine.write_path import Recorded, record_messages
from plugin.store.db import is_postgres
from plugin.store.idempotency import remember, remembered
from plugin.workspace.catalog import cached_catalog, load_catalog
from plugin.workspace.intents import cached_classifier, classifier_for

log = logging.getLogger("statushub.engine")
T = TypeVar("T")
# A provider clock may run a little ahead of ours; further ahead it would date a message after every
# later one and freeze its customer's reply track, so the receipt time stands in (SPEC §12).
FUTURE_TOLERANCE = timedelta(seconds=300)


def receive(
    conn: Connection,
    workspace_id: int,
    events: Sequence[MessageEvent],
    *,
    now: datetime | None = None,
    catalog_version: int | None = None,
    ahead: Ahead | None = None,
) -> list[Recorded]:
    """Stores the messages of one workspace and applies them; the caller's transaction commits it all.
    `ahead` is what `read_ahead` read and worked out for them before the transaction began.

    An inbound message whose whole body is STOP or START (or that the provider flags) changes the
    customer's opt-out (SPEC §3). A provider time more than 300 s ahead of `now` becomes `now`.
    """
    now = now or utcnow()
    if ahead is None:
        catalog = load_catalog(conn, workspace_id, catalog_version)
        classify: Classifier = classifier_for(conn, catalog)
    else:
        catalog, classify = ahead
    events = [_in_time(e, now) for e in events]
    flagged = [
        _with_opt(e) if e.opt is None and e.direction == "inbound" and e.opt_keywords else e for e in events
    ]
    return record_messages(conn, catalog, flagged, classify, now=now)


class Ahead(NamedTuple):
    catalog: Catalog
    classify: Classifier


def read_ahead(
    conn: Connection, workspace_id: int, events: Iterable[MessageEvent], catalog_version: int | None = None
) -> Ahead:
    """What receiving `events` needs that writes nothing, on `conn` before its unit of work, in a
    read-only one of its own (SQLite: without the writer lock): the workspace's catalog and classifier
    (built there when this process has not built them for this catalog version) and what the
    customers' texts alone decide (their patterns, the model). The writer then holds its lock only
    for what depends on the customer's state and for the writes (issue 18)."""
    catalog = cached_catalog(conn, workspace_id, catalog_version) if catalog_version is not None else None
    classify = cached_classifier(conn, catalog) if catalog is not None else None
    if catalog is None or classify is None:
        conn.execution_options(readonly=True)
        try:
            with conn.begin():
                catalog = load_catalog(conn, workspace_id, catalog_version)
                classify = classifier_for(conn, catalog)
        finally:
            conn.execution_options(readonly=False)
    classify.warm(e.text for e in events if e.direction == "inbound" and e.sender == "customer" and e.text)
    return Ahead(catalog, classify)


def _in_time(event: MessageEvent, now: datetime) -> MessageEvent:
    if event.provider_at - now <= FUTURE_TOLERANCE:
        return event
    log.warning(
        "provider time in the future; the receipt time stands in",
        extra={
            "workspace_id": event.workspace_id,
            "channel": event.channel,
            "provider_at": event.provider_at.isoformat(),
            "received_at": now.isoformat(),
        },
    )
    return replace(event, provider_at=now)


def _with_opt(event: MessageEvent) -> MessageEvent:
    change = opt_change(event.text)
    if change is None:
        return event
    return replace(event, opt=change)


def receive_once(
    conn: Connection,
    workspace_id: int,
    scope: str,
    key: str,
    events: Sequence[MessageEvent],
    *,
    now: datetime,
    catalog_version: int | None = None,
    answer: Callable[[list[Recorded]], str] = lambda recorded: "",
    ahead: Ahead | None = None,
    unseen: bool = False,
) -> tuple[str, bool]:
    """Receives `events` once per delivery `(scope, key)` (a web chat event id, a Slack event id) and
    returns (answer, repeated). The first delivery stores the messages and remembers
    `answer(recorded)` in the caller's transaction; a repeat changes nothing and gets the remembered
    answer back. A concurrent first delivery loses on the key (IntegrityError) and its transaction
    rolls back: run again, it is a repeat. `unseen`: the caller has just found no remembered answer
    (`remembered_answer`, before its unit of work), so it is not read again under the writer lock;
    a delivery that raced it in between is caught by that key all the same."""
    first = None if unseen else remembered(conn, workspace_id, scope, key)
    if first is not None:
        return first[1], True
    recorded = (
        receive(conn, workspace_id, events, now=now, catalog_version=catalog_version, ahead=ahead)
        if events
        else []
    )
    body = answer(recorded)
    remember(conn, workspace_id, scope, key, 200, body, now)
    return body, False


def delivered_once(conn: Connection, work: Callable[[], T], again: Callable[[], T] | None = None) -> T:
    """`work()` in a unit of work begun on `conn`, for a webhook's delivery. Two deliveries of one event
    that race both get past the duplicate check; the later loses on a unique key (the provider id, the
    event id) and rolls back: run once more (`again()`, else `work()`), it is then a repeat and finds
    the first. An integrity error on that second run is a real one and is raised."""
    try:
        with conn.begin():
            return work()
    except IntegrityError:
        with conn.begin():
            return (again or work)()


def remembered_answer(conn: Connection, workspace_id: int, scope: str, key: str) -> str | None:
    """The answer remembered for a delivery already received, or None when none is known. Asked before
    the unit of work begins. On SQLite it is a read that takes no write lock: a repeat never waits for
    the writers. On PostgreSQL it reads nothing: the read would be one more round trip on every first
    delivery (a tenth of a web chat event's), and a repeat is caught all the same by the delivery's
    unique key in the unit of work, which rolls back and, run again by `delivered_once`, finds it."""
    if is_postgres(conn):
        return None
    first = remembered(conn, workspace_id, scope, key)
    return first[1] if first is not None else None


def first_delivery(conn: Connection, workspace_id: int, scope: str, key: str, now: datetime) -> bool:
    """True the first time `(scope, key)` is delivered (a Slack button press, a modal), remembered in
    the caller's transaction with the change it makes; False for a repeat, which must change nothing."""
    return not receive_once(conn, workspace_id, scope, key, (), now=now)[1]


def record_sent(
    conn: Connection, event: MessageEvent, delivery_status: str, *, now: datetime
) -> tuple[Recorded, Delivery | None]:
    """An outbound message a channel has just sent: stored as the conversation's (the reply track
    moves) with the provider's first delivery status, in the caller's transaction."""
    recorded = receive(conn, event.workspace_id, [event], now=now)[0]
    after = record_delivery(conn, event.workspace_id, event.channel, event.provider_id, delivery_status)
    return recorded, after
