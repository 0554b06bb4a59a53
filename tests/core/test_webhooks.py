"""Outgoing webhooks: every applied change reaches its receiver once, signed, in order, or is
dead-lettered after 24 h and can be replayed (SPEC §9)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from plugin.automation.outbox import run_due
from plugin.automation.webhooks import (
    InvalidWebhook,
    dead_letters,
    replay,
    send_webhook,
    subscribe,
    unsubscribe,
)
from plugin.customers.naming import add_customer
from plugin.domain.errors import NotFound, UnknownStatus
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import OutboxItem, WebhookSubscription
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

URL = "https://hooks.example.test/statushub"
SENDERS = {"webhook": send_webhook}


def subscribed(engine, catalog, **only) -> tuple[int, str]:
    with transaction(engine) as conn:
        return subscribe(conn, catalog, URL, track=only.get("track"), status=only.get("status"), now=at(0))


def customer(engine, catalog, name="Jane Roe") -> int:
    with transaction(engine) as conn:
        return add_customer(conn, catalog, name, ["sms:+15551230001"], "US", at(0))


def change(engine, catalog, cid: int, key: str, when, track: str = "stage") -> None:
    """A manual change through the engine, which queues its webhooks in the same transaction."""
    with transaction(engine) as conn:
        catalog = load_catalog(conn, catalog.workspace_id)
        assign_status(conn, catalog, cid, catalog.status(track, key), actor="cli:ann", note="n",
                      classify=classifier_for(conn, catalog), now=when)  # fmt: skip


def verify(secret: str, call) -> dict:
    """What a receiver does: check the signature over the raw body, then read it."""
    header = call.request.headers["X-Statushub-Signature"]
    parts = dict(p.split("=", 1) for p in header.split(","))
    body = call.request.body if isinstance(call.request.body, bytes) else call.request.body.encode()
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    return json.loads(body)


def test_a_receiver_failing_five_times_gets_the_change_once_signed_with_the_same_id(engine, catalog):
    sub_id, secret = subscribed(engine, catalog)
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    with responses.RequestsMock() as receiver:
        for status in (500, 502, 503, 404, 429):
            receiver.add("POST", URL, status=status)
        receiver.add("POST", URL, status=204)
        now = at(2)
        for _ in range(6):
            run_due(engine, SENDERS, now=now)
            now += timedelta(hours=1)
        assert run_due(engine, SENDERS, now=now + timedelta(days=1)).sent == 0
        bodies = [verify(secret, call) for call in receiver.calls]
    assert len(bodies) == 6 and len({b["id"] for b in bodies}) == 1
    assert bodies[-1] == {
        "id": bodies[0]["id"],
        "type": "status.changed",
        "workspace": "acme",
        "customer": {"id": cid, "name": "Jane Roe", "identities": ["sms:+15551230001"]},
        "track": "stage",
        "from": "greeting",
        "to": "hot_lead",
        "source": "manual",
        "actor": "cli:ann",
        "occurred_at": at(1).isoformat(),
    }
    with reading(engine) as conn:  # delivered: it leaves the outbox
        assert conn.execute(select(OutboxItem).where(OutboxItem.kind == "webhook")).all() == []


def test_a_receiver_down_for_good_ends_in_dead_letters_after_24_hours_and_replay_delivers(engine, catalog):
    _, secret = subscribed(engine, catalog)
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as receiver:
        receiver.add("POST", URL, body=ConnectionError("down"))
        now = at(1)
        while now < at(1) + timedelta(hours=23):
            assert run_due(engine, SENDERS, now=now).dead == 0
            now += timedelta(hours=1)
        now = at(1) + timedelta(hours=24, minutes=5)
        assert run_due(engine, SENDERS, now=now).dead == 1
    with transaction(engine) as conn:
        [dead] = dead_letters(conn, catalog.workspace_id)
        replay(conn, catalog.workspace_id, dead.id, now)
        assert dead_letters(conn, catalog.workspace_id) == []
    with responses.RequestsMock() as receiver:
        receiver.add("POST", URL, status=200)
        assert run_due(engine, SENDERS, now=now).sent == 1
        assert verify(secret, receiver.calls[0])["id"] == dead.payload["id"]


def test_changes_of_one_customer_arrive_in_the_order_they_happened(engine, catalog):
    _, secret = subscribed(engine, catalog)
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    change(engine, catalog, cid, "closed_won", at(2))
    with responses.RequestsMock() as receiver:
        receiver.add("POST", URL, status=500)
        receiver.add("POST", URL, status=200)
        receiver.add("POST", URL, status=200)
        run_due(engine, SENDERS, now=at(3))  # the first fails; the second waits for it
        assert len(receiver.calls) == 1
        run_due(engine, SENDERS, now=at(3) + timedelta(minutes=5))
        order = [verify(secret, c)["to"] for c in receiver.calls]
    assert order == ["hot_lead", "hot_lead", "closed_won"]


def test_a_subscription_to_one_status_hears_only_that_status(engine, catalog):
    subscribed(engine, catalog, status="closed_won")
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    change(engine, catalog, cid, "closed_won", at(2))
    with reading(engine) as conn:
        items = conn.execute(select(OutboxItem.payload).where(OutboxItem.kind == "webhook")).scalars().all()
    assert [p["to"] for p in items] == ["closed_won"]


def test_changes_before_a_subscription_existed_are_not_sent(engine, catalog):
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    subscribed(engine, catalog)
    with reading(engine) as conn:
        assert conn.execute(select(OutboxItem).where(OutboxItem.kind == "webhook")).all() == []


def test_a_removed_subscription_sends_nothing_more(engine, catalog):
    sub_id, _ = subscribed(engine, catalog)
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    with transaction(engine) as conn:
        unsubscribe(conn, catalog.workspace_id, sub_id)
    with responses.RequestsMock():  # any POST would fail this test
        assert run_due(engine, SENDERS, now=at(2)).dead == 1


@pytest.mark.parametrize(
    ("url", "only", "error"),
    [
        ("ftp://x.test/h", {}, InvalidWebhook),
        ("not a url", {}, InvalidWebhook),
        (URL, {"status": "hto_lead"}, UnknownStatus),
        (URL, {"track": "stage", "status": "no_reply"}, UnknownStatus),
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_stored(engine, catalog, url, only, error):
    with pytest.raises(error), transaction(engine) as conn:
        subscribe(conn, catalog, url, track=only.get("track"), status=only.get("status"), now=at(0))
    with reading(engine) as conn:
        assert conn.execute(select(WebhookSubscription)).all() == []


def test_replaying_an_item_that_is_not_dead_is_refused(engine, catalog):
    with pytest.raises(NotFound), transaction(engine) as conn:
        replay(conn, catalog.workspace_id, 12345, at(0))


def test_four_workers_on_postgresql_do_each_of_10000_due_items_exactly_once(engine, catalog, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("one worker runs on SQLite (SPEC §9)")
    import threading
    from collections import Counter

    from sqlalchemy import event, insert

    from plugin.store.db import make_engine

    rows = [
        {"workspace_id": catalog.workspace_id, "kind": "probe", "customer_id": None, "payload": {"n": n},
         "due_at": at(0), "attempts": 0, "last_error": "", "created_at": at(0)}
        for n in range(10_000)
    ]  # fmt: skip
    with transaction(engine) as conn:
        conn.execute(insert(OutboxItem), rows)
    seen: Counter = Counter()
    lock = threading.Lock()

    def sender(_engine, job) -> None:
        with lock:
            seen[job.id] += 1

    # Commits without waiting for the disk flush keep this short; claiming is what is tested.
    engines = [make_engine(db_url) for _ in range(4)]
    for e in engines:
        event.listen(
            e, "connect", lambda dbapi, _: (dbapi.execute("SET synchronous_commit = off"), dbapi.commit())
        )
    workers = [
        threading.Thread(target=run_due, args=(e, {"probe": sender}), kwargs={"now": at(1)}) for e in engines
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for e in engines:
        e.dispose()
    assert len(seen) == 10_000 and set(seen.values()) == {1}
    with reading(engine) as conn:
        assert conn.execute(select(OutboxItem.id).where(OutboxItem.sent_at.is_(None))).all() == []


INTERNAL_URLS = [
    "http://127.0.0.1:5432/hook",  # the PostgreSQL port
    "http://localhost:8000/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/hook",
    "http://0/hook",
    "http://0.0.0.0/hook",
    "http://10.1.2.3/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_subscription_to_an_internal_address_is_refused(engine, catalog, url):
    with pytest.raises(InvalidWebhook, match="public"), transaction(engine) as conn:
        subscribe(conn, catalog, url, track=None, status=None, now=at(0))
    with reading(engine) as conn:
        assert conn.execute(select(WebhookSubscription)).all() == []


class Receiver:
    """A local HTTP receiver that records what reaches it and answers `status` (with `Location`)."""

    def __init__(self, status: int = 204, location: str | None = None):
        import http.server
        import threading

        self.paths: list[str] = []
        self.bodies: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                outer.paths.append(self.path)
                self.send_response(status if self.path == "/hook" else 204)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    local = Receiver()
    yield local
    local.close()


def _private_subscription(engine, catalog, url: str) -> None:
    with transaction(engine) as conn:
        subscribe(conn, catalog, url, track=None, status=None, now=at(0), allow_private=True)


def _last_error(engine) -> str:
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem.last_error).where(OutboxItem.kind == "webhook")).scalar_one()


def test_a_local_receiver_gets_the_change_when_private_urls_are_allowed(engine, catalog, receiver):
    _private_subscription(engine, catalog, receiver.url + "/hook")
    change(engine, catalog, customer(engine, catalog), "hot_lead", at(1))
    allowed = {"webhook": functools.partial(send_webhook, allow_private=True)}
    assert run_due(engine, allowed, now=at(2)).sent == 1
    assert receiver.paths == ["/hook"]


def test_every_delivery_refuses_an_internal_address_and_the_receiver_hears_nothing(engine, catalog, receiver):
    # Allowed when it was registered (or its name resolved elsewhere then): checked again at delivery.
    _private_subscription(engine, catalog, receiver.url + "/hook")
    change(engine, catalog, customer(engine, catalog), "hot_lead", at(1))
    assert run_due(engine, SENDERS, now=at(2)).retried == 1
    assert receiver.paths == []
    assert _last_error(engine) == "DeliveryFailed: refused: the URL does not lead to a public address"


def test_the_stored_error_does_not_tell_an_open_port_from_a_closed_one(engine, catalog):
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    _private_subscription(engine, catalog, f"http://127.0.0.1:{closed}/hook")
    change(engine, catalog, customer(engine, catalog), "hot_lead", at(1))
    allowed = {"webhook": functools.partial(send_webhook, allow_private=True)}
    assert run_due(engine, allowed, now=at(2)).retried == 1
    assert _last_error(engine) == "DeliveryFailed: connection failed"


def test_a_redirect_is_not_followed(engine, catalog):
    local = Receiver(status=307, location="/elsewhere")
    try:
        _private_subscription(engine, catalog, local.url + "/hook")
        change(engine, catalog, customer(engine, catalog), "hot_lead", at(1))
        allowed = {"webhook": functools.partial(send_webhook, allow_private=True)}
        assert run_due(engine, allowed, now=at(2)).retried == 1
    finally:
        local.close()
    assert local.paths == ["/hook"]
    assert _last_error(engine) == "DeliveryFailed: receiver answered 307"


def test_a_batch_read_at_once_delivers_the_same_documents_as_one_read_per_item(engine, catalog):
    from plugin.automation.webhooks import WebhookSender

    _, secret = subscribed(engine, catalog)
    with transaction(engine) as conn:
        people = [
            add_customer(conn, catalog, "Ann", ["webchat:v-9", "sms:+15551230009"], "US", at(0)),
            add_customer(conn, catalog, "Bo", [], "US", at(0)),
        ]
    for cid in people:
        change(engine, catalog, cid, "hot_lead", at(1))
    with reading(engine) as conn:  # the same two items, sent once by each sender
        queued = [dict(r._mapping) for r in conn.execute(select(OutboxItem.__table__))]
    documents = {}
    for name, sender in (("one by one", send_webhook), ("per batch", WebhookSender())):
        with transaction(engine) as conn:
            conn.execute(OutboxItem.__table__.delete())
            conn.execute(OutboxItem.__table__.insert(), queued)
        with responses.RequestsMock() as receiver:
            receiver.add("POST", URL, status=200)
            assert run_due(engine, {"webhook": sender}, now=at(2)).sent == 2
            documents[name] = [verify(secret, call) for call in receiver.calls]
    assert documents["one by one"] == documents["per batch"]
    assert [d["customer"]["name"] for d in documents["per batch"]] == ["Ann", "Bo"]


def test_a_batch_whose_subscription_was_removed_is_dead_lettered_unsent(engine, catalog):
    from plugin.automation.webhooks import WebhookSender

    sub_id, _ = subscribed(engine, catalog)
    cid = customer(engine, catalog)
    change(engine, catalog, cid, "hot_lead", at(1))
    with transaction(engine) as conn:
        unsubscribe(conn, catalog.workspace_id, sub_id)
    with responses.RequestsMock():  # any POST would fail this test
        assert run_due(engine, {"webhook": WebhookSender()}, now=at(2)).dead == 1
