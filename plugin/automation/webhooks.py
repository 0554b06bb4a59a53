"""Outgoing webhooks: subscriptions, queueing applied changes in the outbox, signed delivery (SPEC §9)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from plugin.automation import public_urls
from plugin.automation.outbox import Job, Undeliverable
from plugin.domain.catalog import Catalog
from plugin.domain.errors import NotFound, StatushubError
from plugin.domain.signatures import header
from plugin.engine import WEBHOOK_KIND
from plugin.store.bulk import ByDialect
from plugin.store.db import reading
from plugin.store.schema import Customer, Identity, OutboxItem, WebhookSubscription, Workspace, table_of
from plugin.workspace.workspaces import bump_catalog

SUBS = table_of(WebhookSubscription)
OUT = table_of(OutboxItem)
KIND = WEBHOOK_KIND
TIMEOUT = 10  # seconds: no answer in time is a failure, retried with back-off


class InvalidWebhook(StatushubError):
    code = "invalid_webhook"


class DeliveryFailed(Exception):
    """Retried. Its text is stored and shown to admins, so it never tells what the connection met."""


def subscribe(
    conn: Connection,
    catalog: Catalog,
    url: str,
    *,
    track: str | None,
    status: str | None,
    now: datetime,
    allow_private: bool = False,
) -> tuple[int, str]:
    """Stores a subscription; returns its id and its secret (shown once). The URL must reach public
    addresses only unless `allow_private` (SPEC §12)."""
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 2000:
        raise InvalidWebhook(f"{url!r} is not an http(s) URL", field="url")
    if not allow_private:
        try:
            public_urls.check_url(url)
        except public_urls.NotPublic as exc:
            raise InvalidWebhook(
                f"{exc}: webhooks go to public addresses (STATUSHUB_ALLOW_PRIVATE_URLS=1 allows others)",
                field="url",
            ) from None
    if status and not track:
        track = catalog.resolve(status, manual=False).track
    if track:
        track = catalog.track(track).key
    if status:
        status = catalog.resolve(status, track=track, manual=False).key
    secret = "whsec_" + secrets.token_hex(24)
    sub_id = conn.execute(
        insert(SUBS)
        .values(
            workspace_id=catalog.workspace_id,
            url=url,
            track=track,
            status=status,
            secret=secret,
            created_at=now,
        )
        .returning(SUBS.c.id)
    ).scalar_one()
    bump_catalog(conn, catalog.workspace_id)
    return sub_id, secret


def subscriptions(conn: Connection, workspace_id: int) -> Sequence:
    return conn.execute(
        select(SUBS.c.id, SUBS.c.url, SUBS.c.track, SUBS.c.status, SUBS.c.created_at)
        .where(SUBS.c.workspace_id == workspace_id)
        .order_by(SUBS.c.id)
    ).all()


def unsubscribe(conn: Connection, workspace_id: int, sub_id: int) -> None:
    gone = conn.execute(delete(SUBS).where(SUBS.c.workspace_id == workspace_id, SUBS.c.id == sub_id)).rowcount
    if gone:
        bump_catalog(conn, workspace_id)
    if not gone:
        known = [str(s.id) for s in subscriptions(conn, workspace_id)]
        raise NotFound(f"no webhook subscription {sub_id}", choices=known, field="id")


def sign(secret: str, body: bytes, t: int | None = None) -> str:
    """The subscription's signature header for `body`, made as web chat requests are signed."""
    return header(secret, int(time.time()) if t is None else t, body)


class WebhookSender:
    """The `webhook` outbox sender: `send_webhook`, with what a batch of deliveries needs read at once."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def __call__(self, engine: Engine, job: Job) -> None:
        send_webhook(engine, job, allow_private=self.allow_private)

    def prefetch(self, engine: Engine, jobs: list[Job]) -> dict[int, tuple]:
        """{job id: (url, secret, slug, name, identities)} for jobs whose subscription still exists."""
        found: dict[int, tuple] = {}
        with reading(engine) as conn:
            for ws in {j.workspace_id for j in jobs}:
                mine = [j for j in jobs if j.workspace_id == ws]
                subs = {
                    r.id: r
                    for r in conn.execute(
                        select(SUBS.c.id, SUBS.c.url, SUBS.c.secret).where(
                            SUBS.c.workspace_id == ws,
                            SUBS.c.id.in_({j.payload.get("subscription") for j in mine} - {None}),
                        )
                    )
                }
                slug = conn.execute(select(Workspace.slug).where(Workspace.id == ws)).scalar()
                people = list({j.customer_id for j in mine} - {None})
                names: dict[int | None, str] = dict(
                    conn.execute(
                        select(Customer.id, Customer.name).where(
                            Customer.workspace_id == ws, Customer.id.in_(people)
                        )
                    ).all()
                )
                identities: dict[int | None, list[str]] = {}
                for cid, value in conn.execute(
                    select(Identity.customer_id, Identity.value)
                    .where(Identity.workspace_id == ws, Identity.customer_id.in_(people))
                    .order_by(Identity.id)
                ):
                    identities.setdefault(cid, []).append(value)
                for j in mine:
                    sub = subs.get(j.payload.get("subscription"))
                    if sub is not None:
                        found[j.id] = (
                            sub.url, sub.secret, slug, names.get(j.customer_id), identities.get(j.customer_id, []),
                        )  # fmt: skip
        return found


def send_webhook(engine: Engine, job: Job, *, allow_private: bool = False) -> None:
    """POSTs one change, signed afresh, to a public address unless `allow_private`; raises (retried)
    unless the receiver answers 2xx. Redirects are not followed. Order per customer and subscription
    is the outbox's: an item is not claimed while an earlier one of its lane is pending."""
    found = job.prefetched if isinstance(job.prefetched, tuple) else _read_delivery(engine, job)
    if found is None:
        raise Undeliverable("the webhook subscription was removed")
    url, secret, slug, name, identities = found
    body = json.dumps(
        _document(job, slug, name, identities), ensure_ascii=False, separators=(",", ":")
    ).encode()
    try:
        with public_urls.session(allow_private=allow_private) as http:
            answer = public_urls.call(
                http,
                "POST",
                url,
                data=body,
                headers={"Content-Type": "application/json", "X-Statushub-Signature": sign(secret, body)},
                timeout=TIMEOUT,
            )
    except public_urls.Unreachable as failed:
        raise DeliveryFailed(str(failed)) from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"receiver answered {answer.status_code}")


def _read_delivery(engine: Engine, job: Job) -> tuple | None:
    with engine.connect() as conn:
        # One statement, outside any transaction (a job sent without its batch's prefetch).
        return _DELIVERY(conn).first(
            conn.execution_options(isolation_level="AUTOCOMMIT"),
            {"w": job.workspace_id, "s": job.payload.get("subscription"), "c": job.customer_id},
        )


def _delivery_query(dialect: str):
    """A delivery's subscription (URL, secret), workspace slug, customer name and identities (a JSON
    list in id order), in one statement."""
    ident = (
        select(Identity.value.label("value"))
        .where(Identity.workspace_id == bindparam("w"), Identity.customer_id == bindparam("c"))
        .order_by(Identity.id)
        .subquery()
    )
    aggregate = (
        func.json_agg(ident.c.value) if dialect == "postgresql" else func.json_group_array(ident.c.value)
    )
    identities = select(aggregate).select_from(ident).scalar_subquery()
    name = (
        select(Customer.name)
        .where(Customer.workspace_id == bindparam("w"), Customer.id == bindparam("c"))
        .scalar_subquery()
    )
    return (
        select(SUBS.c.url, SUBS.c.secret, Workspace.slug, name, identities)
        .select_from(SUBS.join(Workspace, Workspace.id == SUBS.c.workspace_id))
        .where(SUBS.c.workspace_id == bindparam("w"), SUBS.c.id == bindparam("s"))
    )


_DELIVERY = ByDialect(_delivery_query)


def _document(job: Job, slug: str, name: str | None, identities) -> dict:
    p = job.payload
    if isinstance(identities, str):  # SQLite's json_group_array is text
        identities = json.loads(identities)
    return {
        "id": p["id"],
        "type": "status.changed",
        "workspace": slug,
        "customer": {"id": job.customer_id, "name": name or "", "identities": list(identities or [])},
        "track": p["track"],
        "from": p["from"],
        "to": p["to"],
        "source": p["source"],
        "actor": p["actor"],
        "occurred_at": p["occurred_at"],
    }


def dead_letters(conn: Connection, workspace_id: int) -> Sequence:
    return conn.execute(
        select(OUT.c.id, OUT.c.customer_id, OUT.c.payload, OUT.c.attempts, OUT.c.last_error, OUT.c.dead_at)
        .where(OUT.c.workspace_id == workspace_id, OUT.c.kind == KIND, OUT.c.dead_at.is_not(None))
        .order_by(OUT.c.id)
    ).all()


def replay(conn: Connection, workspace_id: int, item_id: int, now: datetime) -> None:
    """Queues a dead webhook again, due now, with a fresh 24 h of retries and the same event id."""
    done = conn.execute(
        update(OUT)
        .where(
            OUT.c.workspace_id == workspace_id,
            OUT.c.id == item_id,
            OUT.c.kind == KIND,
            OUT.c.dead_at.is_not(None),
        )
        .values(dead_at=None, due_at=now, attempts=0, last_error="", created_at=now)
    ).rowcount
    if not done:
        known = [str(r.id) for r in dead_letters(conn, workspace_id)]
        raise NotFound(f"no dead-lettered webhook {item_id}", choices=known, field="id")
