"""Slack test kit: the real app, requests signed as bolt-python's own tests sign them, a faked Web API."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
import responses
from slack_sdk.signature import SignatureVerifier

from plugin.app import create_app
from plugin.customers.naming import add_customer
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.workspace.workspaces import add_admin

SECRET = "slack-signing-secret"
API = "http://slack.test/api/"
TEAM = "T0ACME"
AGENT = "U0AGENT"
ADMIN = "U0ADMIN"


def signed_headers(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


class Slack:
    """Posts what Slack posts to /slack/events, signed; by default then waits for the Web API calls
    the answer started (they run after it), so a test sees them."""

    def __init__(self, client):
        self.client = client
        self.wait_for_calls = True

    def post(self, body: str, content_type: str, headers: dict | None = None):
        response = self.client.post(
            "/slack/events",
            data=body,
            content_type=content_type,
            headers={**signed_headers(body), **(headers or {})},
        )
        if self.wait_for_calls:
            self.settle()
        return response

    def settle(self, timeout: float = 30) -> None:
        """Waits for the calls made after the answers so far (card refreshes, App Home, modals)."""
        assert self.client.application.extensions["statushub_slack_after_ack"].join(timeout)

    def command(self, command: str, text: str, *, user: str = AGENT, channel: str = "C0GENERAL", team=TEAM):
        body = urlencode(
            {
                "token": "legacy",
                "team_id": team,
                "channel_id": channel,
                "user_id": user,
                "command": command,
                "text": text,
                "response_url": "http://hooks.slack.test/commands/1",
                "trigger_id": "trigger-1",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded")

    def interaction(self, payload: dict):
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def event(self, event: dict, *, event_id: str = "Ev001", retry: int | None = None):
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": 1_800_000_000,
                "event": event,
            }
        )
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.post(body, "application/json", headers)


@pytest.fixture
def app(db_url, workspace):
    return create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": API}
    )


@pytest.fixture
def slack(app):
    return Slack(app.test_client())


@pytest.fixture
def slack_api():
    """The Slack Web API, faked; any call not registered fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def jane(engine, catalog, workspace):
    with transaction(engine) as conn:
        return add_customer(conn, catalog, "Jane Doe", ["sms:+1 (415) 555-0100"], "US", utcnow())


@pytest.fixture
def admin(engine, workspace):
    with transaction(engine) as conn:
        add_admin(conn, workspace, ADMIN)
    return ADMIN
