"""Web chat test fixtures: the real app, and the documented signer."""

from __future__ import annotations

import json
import time

import pytest

from plugin.app import create_app
from plugin.domain.signatures import header

SECRET = "webchat-secret"


@pytest.fixture
def client(db_url, workspace):
    return create_app({"TESTING": True, "DATABASE_URL": db_url}).test_client()


def event_body(event_id: str, text: str, timestamp: str = "2026-05-04T09:00:00Z", **overrides) -> dict:
    body = {
        "workspace": "acme",
        "event_id": event_id,
        "visitor": {"id": "visitor-42", "name": "Ada Lovelace"},
        "direction": "inbound",
        "sender": "customer",
        "text": text,
        "timestamp": timestamp,
    }
    body.update(overrides)
    return body


def post_raw(client, raw: bytes, *, secret: str = SECRET, t: int | None = None, signature: str | None = None):
    t = int(time.time()) if t is None else t
    value = signature if signature is not None else header(secret, t, raw)
    return client.post(
        "/webchat/events",
        data=raw,
        headers={"X-Statushub-Signature": value, "Content-Type": "application/json"},
    )


def post_event(client, body: dict, **kwargs):
    return post_raw(client, json.dumps(body).encode(), **kwargs)
