"""Isolation of secrets: no log line carries a channel secret or a token, API tokens are stored hashed,
and a leaked agent token cannot make itself an admin (SPEC §5 roles, STYLE logs)."""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import urlencode

import pytest
import responses
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import MetaData, select
from twilio.request_validator import RequestValidator

from plugin.app import create_app
from plugin.app.api import routes
from plugin.domain.clock import utcnow
from plugin.domain.signatures import header
from plugin.store.db import reading, transaction
from plugin.store.schema import ApiToken
from plugin.workspace.workspaces import create_token, create_workspace, hash_token

TWILIO_TOKEN = "twilio-canary-3f9a1c"
WEBCHAT_SECRET = "webchat-canary-8b2d4e"
SLACK_SECRET = "slack-signing-canary-6e0f7a"
BOT_TOKEN = "xoxb-bot-canary-1a2b3c"
ACCOUNT = "AC" + "7" * 32
NUMBER = "+15550007777"
SLACK_API = "http://slack.test/api/"


@pytest.fixture
def hub(db_url, engine):
    with transaction(engine) as conn:
        ws = create_workspace(
            conn,
            "canary",
            name="Canary",
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TWILIO_TOKEN,
            twilio_number=NUMBER,
            webchat_secret=WEBCHAT_SECRET,
            slack_team="T0CANARY",
            slack_bot_token=BOT_TOKEN,
            alert_channel="C0ALERTS",
            now=utcnow(),
        )
        agent = create_token(conn, ws, "agent", "desk", utcnow())[1]
        admin = create_token(conn, ws, "admin", "root", utcnow())[1]
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": SLACK_API,
            "SECRET_KEY": "console-secret-canary-55",
        }
    )
    return {"client": app.test_client(), "agent": agent, "admin": admin, "workspace_id": ws}


def _twilio(client, path: str, form: dict, token: str = TWILIO_TOKEN):
    signature = RequestValidator(token).compute_signature("http://localhost" + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def _webchat(client, body: dict, secret: str = WEBCHAT_SECRET):
    raw = json.dumps(body).encode()
    return client.post(
        "/webchat/events",
        data=raw,
        headers={
            "X-Statushub-Signature": header(secret, int(time.time()), raw),
            "Content-Type": "application/json",
        },
    )


def _slack(client, text: str, secret: str = SLACK_SECRET):
    body = urlencode(
        {
            "command": "/status",
            "text": text,
            "team_id": "T0CANARY",
            "user_id": "U0AGENT",
            "channel_id": "C0GENERAL",
            "response_url": "http://hooks.slack.test/1",
            "trigger_id": "t1",
        }
    )
    ts = str(int(time.time()))
    return client.post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
        },
    )


@responses.activate
def test_no_secret_or_token_reaches_the_logs(hub, caplog):
    responses.add(responses.POST, re.compile(r"http://(slack|hooks\.slack)\.test/.*"), json={"ok": True})
    client, agent, admin = hub["client"], hub["agent"], hub["admin"]
    caplog.set_level(logging.DEBUG)
    sms = {
        "MessageSid": "SMcanary1",
        "AccountSid": ACCOUNT,
        "From": "+15557654321",
        "To": NUMBER,
        "Body": "How much is the walnut table?",
        "NumMedia": "0",
    }
    assert _twilio(client, "/sms/twilio/inbound", sms).status_code == 200
    assert (
        _twilio(client, "/sms/twilio/inbound", {**sms, "MessageSid": "SMbad"}, token="wrong").status_code
        == 401
    )
    status = {"MessageSid": "SMcanary1", "AccountSid": ACCOUNT, "From": NUMBER, "MessageStatus": "delivered"}
    assert _twilio(client, "/sms/twilio/status", status).status_code == 200
    event = {
        "workspace": "canary",
        "event_id": "e1",
        "visitor": {"id": "v1"},
        "direction": "inbound",
        "sender": "customer",
        "text": "hi",
        "timestamp": "2026-05-04T09:00:00Z",
    }
    assert _webchat(client, event).status_code == 200
    assert _webchat(client, {**event, "event_id": "e2"}, secret="wrong").status_code == 401
    assert _slack(client, "+15557654321").status_code == 200
    assert _slack(client, "help", secret="wrong").status_code == 401
    for token in (agent, admin, admin + "x"):
        client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    client.post(
        "/api/v1/tokens", json={"role": "agent", "name": "n2"}, headers={"Authorization": f"Bearer {admin}"}
    )
    page = client.get("/console/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    client.post("/console/signin", data={"token": agent, "csrf": csrf})

    assert caplog.records, "the run logged nothing: the check would prove nothing"
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (
        TWILIO_TOKEN,
        WEBCHAT_SECRET,
        SLACK_SECRET,
        BOT_TOKEN,
        agent,
        admin,
        "console-secret-canary-55",
    ):
        assert secret not in logged


def test_api_tokens_are_stored_only_hashed(hub, engine):
    dump = []
    with reading(engine) as conn:
        meta = MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            dump.extend(repr(tuple(row)) for row in conn.execute(select(table)))
        hashes = set(conn.execute(select(ApiToken.token_hash)).scalars())
    text = "\n".join(dump)
    assert hash_token(hub["agent"]) in hashes and hash_token(hub["admin"]) in hashes
    assert hub["agent"] not in text and hub["admin"] not in text


def _dump(engine) -> str:
    with reading(engine) as conn:
        meta = MetaData()
        meta.reflect(conn)
        return "\n".join(
            repr(tuple(row)) for table in meta.sorted_tables for row in conn.execute(select(table))
        )


def test_a_token_created_with_an_idempotency_key_is_never_stored_or_replayed(hub, engine):
    client = hub["client"]
    headers = {"Authorization": f"Bearer {hub['admin']}", "Idempotency-Key": "make-bot-token"}
    first = client.post("/api/v1/tokens", json={"role": "agent", "name": "bot"}, headers=headers)
    assert first.status_code == 201
    token = first.json["token"]
    assert token.startswith("shub_")
    assert token not in _dump(engine)
    replay = client.post("/api/v1/tokens", json={"role": "agent", "name": "bot"}, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replay"] == "true"
    assert replay.json["token"] == "<shown once>"
    assert {k: v for k, v in replay.json.items() if k != "token"} == {
        k: v for k, v in first.json.items() if k != "token"
    }
    assert token not in replay.get_data(as_text=True)


ADMIN_ROUTES = [r for r in routes() if r.role == "admin"]


def _url(rule: str) -> str:
    for name, value in (
        ("<int:customer_id>", "1"),
        ("<int:other_id>", "2"),
        ("<track>", "stage"),
        ("<key>", "new"),
        ("<name>", "desk"),
        ("<user_id>", "U0AGENT"),
    ):
        rule = rule.replace(name, value)
    return "/api/v1" + rule


def test_a_leaked_agent_token_cannot_escalate(hub, engine):
    client, bearer = hub["client"], {"Authorization": f"Bearer {hub['agent']}"}
    with reading(engine) as conn:
        before = sorted(map(tuple, conn.execute(select(ApiToken.name, ApiToken.role, ApiToken.revoked_at))))
    assert ADMIN_ROUTES
    for r in ADMIN_ROUTES:
        answer = client.open(
            _url(r.rule), method=r.method, json={"role": "admin", "name": "mine"}, headers=bearer
        )
        assert answer.status_code == 403, (r.method, r.rule)
    for attempt in (
        client.post("/api/v1/tokens", json={"role": "admin", "name": "escalated"}, headers=bearer),
        client.patch("/api/v1/tokens/desk", json={"role": "admin"}, headers=bearer),
        client.put("/api/v1/tokens/desk", json={"role": "admin"}, headers=bearer),
        client.post("/api/v1/slack-admins", json={"user_id": "U0AGENT"}, headers=bearer),
    ):
        assert attempt.status_code in (403, 405)
    with reading(engine) as conn:
        after = sorted(map(tuple, conn.execute(select(ApiToken.name, ApiToken.role, ApiToken.revoked_at))))
    assert after == before
