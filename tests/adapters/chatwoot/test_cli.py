"""`statushub chatwoot connect|status`: the connection stored, the webhook registered and the labels
created through Chatwoot's API (faked with `responses`, answering with the recorded shapes)."""

from __future__ import annotations

import json

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import main
from plugin.store.db import reading
from plugin.store.schema import ChatwootConnection
from tests.adapters.chatwoot.conftest import CHATWOOT, SECRET, api_fixture

BASE = CHATWOOT + "/api/v1/accounts/1/"
ARGS = ["chatwoot", "connect", "--url", CHATWOOT + "/", "--account-id", "1", "--api-token", "cw-admin-token"]


def run(db_url, *args, public_url="https://hub.example.com"):
    env = {"STATUSHUB_DATABASE_URL": db_url, "STATUSHUB_PUBLIC_URL": public_url, "STATUSHUB_WORKSPACE": None}
    return CliRunner().invoke(main, list(args), env=env)


def stored(engine):
    with reading(engine) as conn:
        return conn.execute(select(ChatwootConnection)).first()


def test_connect_register_creates_the_webhook_and_labels_and_keeps_the_secret(db_url, engine, workspace):
    with responses.RequestsMock() as rsps:
        hook = rsps.add("POST", BASE + "webhooks", json=api_fixture("webhooks.create.response"))
        rsps.add("GET", BASE + "labels", json={"payload": [{"id": 1, "title": "stage-hot-lead"}]})
        made = rsps.add("POST", BASE + "labels", json=api_fixture("labels.create.response"))
        result = run(db_url, *ARGS, "--register", "--json")
        assert result.exit_code == 0, result.output
        sent = json.loads(hook.calls[0].request.body)
        assert hook.calls[0].request.headers["api_access_token"] == "cw-admin-token"
        assert sent == {"name": "statushub", "url": "https://hub.example.com/chatwoot/events/acme",
                        "subscriptions": ["message_created", "contact_updated"]}  # fmt: skip
        titles = [json.loads(c.request.body)["title"] for c in made.calls]
    assert "stage-hot-lead" not in titles  # already there
    assert {"stage-cold-lead", "stage-closed-won", "attention-do-not-serve", "outcome-left-voicemail"} <= set(
        titles
    )
    assert not any(t.startswith("reply-") for t in titles)
    row = stored(engine)
    assert (row.url, row.account_id, row.webhook_id, row.webhook_secret) == (CHATWOOT, 1, 7, SECRET)
    assert SECRET not in result.output and "cw-admin-token" not in result.output


def test_connect_with_a_webhook_secret_needs_no_registration(db_url, engine, workspace):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", BASE + "labels", json={"payload": []})
        rsps.add("POST", BASE + "labels", json=api_fixture("labels.create.response"))
        result = run(db_url, *ARGS, "--webhook-secret", "my-secret")
        assert result.exit_code == 0, result.output
    assert stored(engine).webhook_secret == "my-secret"
    assert "/chatwoot/events/acme" in result.output


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ([], "exactly one of --webhook-secret"),
        (["--register", "--webhook-secret", "s"], "exactly one of --webhook-secret"),
    ],
)
def test_connect_mistakes_exit_1_and_store_nothing(db_url, engine, workspace, extra, reason):
    result = run(db_url, *ARGS, *extra)
    assert result.exit_code == 1 and reason in result.stderr
    assert stored(engine) is None


def test_a_private_chatwoot_url_is_refused(db_url, engine, workspace):
    args = ["chatwoot", "connect", "--url", "http://127.0.0.1:3000", "--account-id", "1", "--api-token", "t",
            "--webhook-secret", "s"]  # fmt: skip
    result = run(db_url, *args)
    assert result.exit_code == 1 and "public" in result.stderr
    assert stored(engine) is None


def test_register_needs_the_public_url(db_url, engine, workspace):
    result = run(db_url, *ARGS, "--register", public_url="")
    assert result.exit_code == 1 and "STATUSHUB_PUBLIC_URL" in result.stderr


def test_a_refused_admin_token_is_one_line_and_stores_nothing(db_url, engine, workspace):
    with responses.RequestsMock() as rsps:
        rsps.add("POST", BASE + "webhooks", status=401, json=api_fixture("error.invalid_access_token.401"))
        result = run(db_url, *ARGS, "--register")
    assert result.exit_code == 1
    assert "Invalid Access Token" in result.stderr and "administrator" in result.stderr
    assert stored(engine) is None


def test_status_shows_secrets_only_as_set(db_url, engine, connected):
    result = run(db_url, "chatwoot", "status", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["connection"] == {"url": CHATWOOT, "account_id": 1, "api_token": "set", "webhook_secret": "set",
                                   "webhook_id": 7}  # fmt: skip
    assert shown["last_event"] is None and shown["queue"] == {"pending": 0, "dead": 0}
    assert SECRET not in result.output and "cw-admin-token" not in result.output
    text = run(db_url, "chatwoot", "status")
    assert "last event" in text.output and "none yet" in text.output


def test_status_shows_the_last_event_received(db_url, client):
    from tests.adapters.chatwoot.conftest import payload, post

    post(client, payload("message_created.incoming_whatsapp"))
    shown = json.loads(run(db_url, "chatwoot", "status", "--json").stdout)
    assert shown["last_event"]["event"] == "message_created"
    assert shown["connected"] is True


def test_disconnect_stops_deliveries_and_write_backs(db_url, engine, client):
    from plugin.store.schema import OutboxItem
    from tests.adapters.chatwoot.conftest import payload, post

    assert run(db_url, "chatwoot", "disconnect").exit_code == 0
    assert stored(engine) is None
    assert post(client, payload("message_created.incoming_whatsapp")).status_code == 401
    with reading(engine) as conn:
        assert conn.execute(select(OutboxItem)).first() is None
    again = run(db_url, "chatwoot", "disconnect")
    assert again.exit_code == 1 and "not connected" in again.stderr
