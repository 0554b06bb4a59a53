"""Status changes written back to Chatwoot through the outbox: labels by read-merge-write and the
contact's custom attributes, retried, dead-lettered, never echoed back into a change (SPEC §11).

Chatwoot is faked at the HTTP layer with `responses`, keeping labels and attributes as Chatwoot does
(a label POST replaces the list; a contact PUT merges custom_attributes); the answers' shapes are the
recorded ones in tests/fixtures/recorded/chatwoot/api/."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests
import responses
from click.testing import CliRunner
from sqlalchemy import select

from plugin.automation.outbox import SENDERS_KEY, run_due
from plugin.cli.worker_cli import worker_command
from plugin.domain.clock import utcnow
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import OutboxItem, StatusChange
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for
from tests.adapters.chatwoot.conftest import CHATWOOT, TOKEN, api_fixture, payload, post

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

BANK = "Could you send me your bank details so I can pay by transfer?"
BASE = CHATWOOT + "/api/v1/accounts/1/"


class FakeChatwoot:
    """Chatwoot's label and contact endpoints, with state; `fail` answers (status codes or exceptions)
    are served first, in order, to the label POST."""

    def __init__(self, rsps: responses.RequestsMock, labels: dict[int, list[str]] | None = None) -> None:
        self.labels = labels if labels is not None else {17: ["vip"]}
        self.attributes: dict[int, dict] = {42: {"loyalty_tier": "gold"}}
        self.fail: list = []
        self.label_posts: list[list[str]] = []
        self.contact_puts: list[dict] = []
        conv = re.compile(re.escape(BASE) + r"conversations/(\d+)/labels")
        rsps.add_callback("GET", conv, callback=self.get_labels)
        rsps.add_callback("POST", conv, callback=self.set_labels)
        rsps.add_callback("PUT", re.compile(re.escape(BASE) + r"contacts/(\d+)"), callback=self.put_contact)

    @staticmethod
    def _authorized(request) -> bool:
        return request.headers.get("api_access_token") == TOKEN

    def get_labels(self, request):
        if not self._authorized(request):
            return 401, {}, json.dumps(api_fixture("error.invalid_access_token.401"))
        conversation = int(request.url.rsplit("/", 2)[-2])
        return 200, {}, json.dumps({"payload": self.labels.get(conversation, [])})

    def set_labels(self, request):
        if self.fail:
            failure = self.fail.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure, {}, "{}"
        conversation = int(request.url.rsplit("/", 2)[-2])
        labels = json.loads(request.body)["labels"]
        self.labels[conversation] = labels  # replaces the whole list (Labelable#update_labels)
        self.label_posts.append(labels)
        return 200, {}, json.dumps({"payload": labels})

    def put_contact(self, request):
        contact = int(request.url.rsplit("/", 1)[-1])
        attributes = json.loads(request.body)["custom_attributes"]
        self.attributes.setdefault(contact, {}).update(attributes)  # merged (ContactsController#update)
        self.contact_puts.append(attributes)
        answer = api_fixture("contact_update.response")
        answer["payload"]["custom_attributes"] = self.attributes[contact]
        return 200, {}, json.dumps(answer)


def items(engine) -> list:
    with reading(engine) as conn:
        return conn.execute(
            select(OutboxItem).where(OutboxItem.kind == "chatwoot").order_by(OutboxItem.id)
        ).all()


def incoming(text: str, message_id: int = 1201, at: str = "2026-07-28T09:15:42.318Z") -> dict:
    document = payload("message_created.incoming_whatsapp")
    document.update(id=message_id, content=text, created_at=at)
    return document


def drain(app, now):
    """The worker's outbox run for write-backs only (Hot Lead also alerts Slack, not faked here)."""
    senders = {"chatwoot": app.extensions[SENDERS_KEY]["chatwoot"]}
    return run_due(app.extensions["statushub"].engine, senders, now=now)


def test_bank_details_make_a_hot_lead_written_back_by_the_worker(client, engine, db_url):
    answer = post(client, incoming(BANK))
    assert answer.json["customer"]["statuses"]["stage"] == "hot_lead"
    with responses.RequestsMock() as rsps:
        chatwoot = FakeChatwoot(rsps, labels={17: ["vip", "stage-cold-lead", "attention-active"]})
        result = CliRunner().invoke(worker_command, ["--once"], env={"STATUSHUB_DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        assert "sent 1" in result.output
    # The customer's label kept, the old stage label gone, the new one added; other tracks untouched.
    assert chatwoot.labels[17] == ["vip", "attention-active", "stage-hot-lead"]
    assert chatwoot.attributes[42] == {
        "loyalty_tier": "gold",
        "statushub_stage": "hot_lead",
        "statushub_attention": "active",
        "statushub_outcome": "none",
    }
    again = CliRunner().invoke(worker_command, ["--once"], env={"STATUSHUB_DATABASE_URL": db_url})
    assert "sent 0" in again.output


def test_starting_statuses_and_the_reply_track_are_not_written(client, engine):
    post(client, incoming("hello"))  # a new customer: greeting, reply in_progress
    post(client, payload("message_created.outgoing_agent"))  # reply no_reply
    assert items(engine) == []


def test_an_agent_change_writes_its_track_and_all_three_attributes(app, client, engine, workspace):
    cid = post(client, incoming("hello")).json["customer"]["id"]
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        assign_status(conn, catalog, cid, catalog.status("attention", "vip"), actor="api:dana", note="big buyer",
                      classify=classifier_for(conn, catalog))  # fmt: skip
    with responses.RequestsMock() as rsps:
        chatwoot = FakeChatwoot(rsps)
        assert drain(app, utcnow()).sent == 1
    assert chatwoot.labels[17] == ["vip", "attention-vip"]
    assert chatwoot.contact_puts == [
        {"statushub_stage": "greeting", "statushub_attention": "vip", "statushub_outcome": "none"}
    ]


def test_chatwoot_answering_500_then_200_gets_the_write_back_once(app, client, engine):
    post(client, incoming(BANK))
    now = utcnow()
    with responses.RequestsMock() as rsps:
        chatwoot = FakeChatwoot(rsps)
        chatwoot.fail = [500]
        first = drain(app, now)
        assert (first.sent, first.retried) == (0, 1)
        assert chatwoot.label_posts == [] and chatwoot.contact_puts == []
        assert drain(app, now + timedelta(seconds=5)).sent == 0  # not due yet: back-off
        second = drain(app, now + timedelta(seconds=11))
        assert second.sent == 1
        assert drain(app, now + timedelta(hours=2)).sent == 0
    assert chatwoot.label_posts == [["vip", "stage-hot-lead"]]
    assert len(chatwoot.contact_puts) == 1
    assert items(engine) == []  # written back: it leaves the outbox


def test_chatwoot_unreachable_for_a_day_dead_letters_the_write_back(app, client, engine, db_url):
    post(client, incoming(BANK))
    now = utcnow()
    with responses.RequestsMock() as rsps:
        rsps.add("GET", re.compile(re.escape(BASE) + r".*"), body=requests.ConnectionError("refused"))
        moment, dead = now, 0
        while moment < now + timedelta(hours=25) and not dead:
            dead = drain(app, moment).dead
            moment += timedelta(hours=1)
    (item,) = items(engine)
    assert item.dead_at is not None and item.sent_at is None
    assert item.last_error == "ChatwootUnavailable: connection to Chatwoot failed"
    from plugin.cli import main

    shown = CliRunner().invoke(main, ["chatwoot", "status", "--json"], env={"STATUSHUB_DATABASE_URL": db_url})
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["queue"] == {"pending": 0, "dead": 1}


def test_a_refused_token_dead_letters_at_once(app, client, engine):
    post(client, incoming(BANK))
    with responses.RequestsMock() as rsps:
        rsps.add(
            "GET",
            re.compile(re.escape(BASE) + r".*"),
            status=401,
            json=api_fixture("error.invalid_access_token.401"),
        )
        assert drain(app, utcnow()).dead == 1
    assert "Invalid Access Token" in items(engine)[0].last_error


def test_the_echo_of_our_own_write_changes_nothing(app, client, engine):
    post(client, incoming(BANK))
    with responses.RequestsMock() as rsps:
        FakeChatwoot(rsps)
        drain(app, utcnow())
    with reading(engine) as conn:
        changes = conn.execute(select(StatusChange.id)).all()
    before = (len(changes), len(items(engine)))
    echo = payload("contact_updated.custom_attributes_writeback")
    echo["custom_attributes"].update(
        statushub_stage="hot_lead", statushub_attention="active", statushub_outcome="none"
    )
    assert post(client, echo).status_code == 200
    with reading(engine) as conn:
        after = (len(conn.execute(select(StatusChange.id)).all()), len(items(engine)))
    assert after == before


def test_write_back_goes_to_the_latest_conversation_seen(app, client, engine):
    post(client, incoming("hello"))
    later = incoming(BANK, 1250, "2026-07-29T10:00:00.000Z")
    later["conversation"]["id"] = 21
    post(client, later)
    with responses.RequestsMock() as rsps:
        chatwoot = FakeChatwoot(rsps, labels={17: ["vip"], 21: []})
        drain(app, utcnow())
    assert chatwoot.labels == {17: ["vip"], 21: ["stage-hot-lead"]}


def test_a_write_back_never_reaches_an_internal_address(app, client, engine, workspace):
    from plugin.workspace.chatwoot import connect

    post(client, incoming(BANK))
    with transaction(engine) as conn:  # stored behind the CLI's check, as a DNS change could do
        connect(conn, workspace, url="http://127.0.0.1:9", account_id=1, api_token=TOKEN,
                webhook_secret="s", webhook_id=None, now=utcnow())  # fmt: skip
    assert drain(app, utcnow()).dead == 1
    assert "public address" in items(engine)[0].last_error
