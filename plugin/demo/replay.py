"""`statushub demo`: a demo workspace, its bundled traffic replayed through the hub's real, signed
webhook endpoints (the WSGI app's own test client: the full request path, no network)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from plugin.demo.traffic import deliveries
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.signatures import header
from plugin.store.db import reading, transaction
from plugin.store.schema import Message, Workspace
from plugin.workspace.workspaces import create_workspace

SLUG = "demo"
# Demo credentials: they only sign the demo's own replayed traffic.
ACCOUNT_SID = "AC" + "de" * 16
AUTH_TOKEN = "demo-twilio-auth-token"
NUMBER = "+15550100000"
WEBCHAT_SECRET = "demo-webchat-secret"
BASE_URL = "http://localhost"


@dataclass(frozen=True)
class Replay:
    workspace_id: int
    delivered: int
    new: int
    refused: int

    @property
    def duplicate(self) -> int:
        return self.delivered - self.new - self.refused


def ensure_workspace(engine: Engine) -> int:
    """The demo workspace, created with Twilio and web chat secrets on first use."""
    with transaction(engine) as conn:
        found = conn.execute(select(Workspace.id).where(Workspace.slug == SLUG)).scalar()
        if found is not None:
            return found
        return create_workspace(
            conn,
            SLUG,
            name="Demo Store",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_number=NUMBER,
            webchat_secret=WEBCHAT_SECRET,
            now=utcnow(),
        )


def replay(engine: Engine) -> Replay:
    """Posts every bundled delivery, signed, to the hub's webhooks; a second run only finds duplicates."""
    from plugin.app import create_app

    ws = ensure_workspace(engine)
    with reading(engine) as conn:
        creds = conn.execute(
            select(
                Workspace.twilio_account_sid,
                Workspace.twilio_auth_token,
                Workspace.twilio_number,
                Workspace.webchat_secret,
            ).where(Workspace.id == ws)
        ).one()
    if not (creds.twilio_auth_token and creds.twilio_number and creds.webchat_secret):
        raise StatushubError(
            f"workspace {SLUG!r} exists without Twilio and web chat secrets", field="workspace"
        )
    before = _messages(engine, ws)
    url = engine.url.render_as_string(hide_password=False)
    # The signed URL is the test client's own, whatever STATUSHUB_PUBLIC_URL says for production. Each
    # message is folded in its request: the board printed next shows every one.
    app = create_app({"DATABASE_URL": url, "PUBLIC_URL": None, "BEHIND_PROXY": 0, "FOLD_DELAY_MS": 0})
    client = app.test_client()
    twilio = RequestValidator(creds.twilio_auth_token)
    start = (utcnow() - timedelta(days=2)).replace(second=0, microsecond=0)
    refused = 0
    plan = deliveries(SLUG, creds.twilio_number, creds.twilio_account_sid or "", start)
    try:
        for item in plan:
            if item.channel == "sms":
                path = "/sms/twilio/inbound"
                signature = twilio.compute_signature(BASE_URL + path, item.form)
                answer = client.post(path, data=item.form, headers={"X-Twilio-Signature": signature})
            else:
                raw = json.dumps(item.event).encode()
                headers = {"X-Statushub-Signature": header(creds.webchat_secret, int(time.time()), raw)}
                answer = client.post(
                    "/webchat/events", data=raw, headers=headers, content_type="application/json"
                )
            if answer.status_code != 200:
                refused += 1
    finally:
        app.extensions["statushub"].engine.dispose()
    return Replay(ws, len(plan), _messages(engine, ws) - before, refused)


def load_demo(engine: Engine) -> str:
    """Creates the demo workspace with its traffic replayed; returns its slug (`statushub init --demo`)."""
    replay(engine)
    return SLUG


def _messages(engine: Engine, workspace_id: int) -> int:
    with reading(engine) as conn:
        return conn.execute(
            select(func.count()).select_from(Message).where(Message.workspace_id == workspace_id)
        ).scalar_one()
