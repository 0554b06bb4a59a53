"""Chatwoot test fixtures: the real app, a connected workspace, and Chatwoot's own payloads and signer.

The payloads are tests/fixtures/recorded/chatwoot/webhooks/*.json, each built from Chatwoot's source
(tests/fixtures/recorded/chatwoot/SOURCES.md names the file and lines for every field). They are sent
as Chatwoot sends them: compact JSON (Ruby's `to_json`), signed over "<timestamp>.<raw body>"."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.workspace.chatwoot import connect

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "chatwoot"
SECRET = "Qm7Xa2Kp9LwT4cRb8NvE3hZs"  # the secret api/webhooks.create.response.json returns
CHATWOOT = "https://chatwoot.example.test"
TOKEN = "cw-admin-token"


def payload(name: str) -> dict:
    """A recorded webhook body (a fresh copy: tests may change it)."""
    return copy.deepcopy(json.loads((RECORDED / "webhooks" / f"{name}.json").read_text(encoding="utf-8")))


def api_fixture(name: str) -> dict:
    return json.loads((RECORDED / "api" / f"{name}.json").read_text(encoding="utf-8"))


def compact(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def chatwoot_signature(secret: str, timestamp: str, raw: bytes) -> str:
    """Chatwoot's signer, written from lib/webhooks/trigger.rb `request_headers` (not the hub's code)."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def post_raw(
    client, raw: bytes, *, slug="acme", secret=SECRET, t=None, delivery=None, signature=None, headers=None
):
    stamp = str(int(time.time()) if t is None else t)
    sent = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Chatwoot-Delivery": delivery or str(uuid.uuid4()),
        "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Signature": signature
        if signature is not None
        else chatwoot_signature(secret, stamp, raw),
    }
    sent.update(headers or {})
    return client.post(
        f"/chatwoot/events/{slug}", data=raw, headers={k: v for k, v in sent.items() if v is not None}
    )


def post(client, document: dict, **kwargs):
    return post_raw(client, compact(document), **kwargs)


@pytest.fixture
def connected(engine, workspace):
    with transaction(engine) as conn:
        connect(
            conn,
            workspace,
            url=CHATWOOT,
            account_id=1,
            api_token=TOKEN,
            webhook_secret=SECRET,
            webhook_id=7,
            now=utcnow(),
        )
    return workspace


@pytest.fixture
def app(db_url, connected):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "ALLOW_PRIVATE_URLS": False})


@pytest.fixture
def client(app):
    return app.test_client()
