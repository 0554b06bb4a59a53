"""Reliability kit: real gunicorn processes on loopback, fresh PostgreSQL databases, signed traffic."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from plugin.domain.clock import utcnow
from plugin.domain.signatures import header
from plugin.store.db import make_engine, transaction
from plugin.store.schema import Customer, CustomerStatus, Identity, Message, Status, StatusChange, Track
from plugin.workspace.workspaces import create_workspace
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
PUBLIC_URL = "http://hub.test"  # the URL Twilio "called": signatures do not depend on the random port
ACCOUNT = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-auth-token-5b1e"
HUB_NUMBER = "+15550001111"
WEBCHAT_SECRET = "webchat-secret-9f3c"
# What customers say in the bundled demo: enough to move statuses through the intent rules.
TEXTS = (
    "Hi! Do you still have the walnut side table?",
    "How much is it with delivery?",
    "Great, how can I pay? Do you take Apple Pay?",
    "I want to order two of the ceramic planters in sage",
    "Can you send me the payment link?",
    "Paid! Just sent the payment",
    "Where is my order? Tracking hasn't updated",
    "hmm that's a bit much. maybe later",
    "ok thanks!",
    "do you ship to Canada?",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: several processes share the database")


def make_workspace(url: str) -> int:
    eng = make_engine(url)
    try:
        with transaction(eng) as conn:
            return create_workspace(
                conn,
                "acme",
                name="Acme Store",
                twilio_account_sid=ACCOUNT,
                twilio_auth_token=TWILIO_TOKEN,
                twilio_number=HUB_NUMBER,
                webchat_secret=WEBCHAT_SECRET,
                now=utcnow(),
            )
    finally:
        eng.dispose()


@pytest.fixture
def fresh_pg(request):
    """A factory of extra PostgreSQL databases cloned from the migrated template, dropped afterwards."""
    databases = request.getfixturevalue("pg_databases")
    names = []

    def make() -> str:
        names.append(databases.take())
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + names[-1]

    yield make
    for name in names:
        databases.drop(name)


class Gunicorn:
    """`gunicorn -k sync -w 2 'plugin.app:create_app()'` on a free loopback port, in its own process
    group so that SIGKILL takes the master and every worker at once."""

    def __init__(self, database_url: str, log_path: Path, workers: int = 2, env: dict | None = None):
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "STATUSHUB_DATABASE_URL": self.database_url,
            "STATUSHUB_PUBLIC_URL": PUBLIC_URL,
            "SLACK_SIGNING_SECRET": "slack-signing-secret-for-reliability",
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.proc = subprocess.Popen(
            [
                str(GUNICORN),
                "-k",
                "sync",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                "--log-level",
                "info",
                "plugin.app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.log_path.read_text(errors="replace")[-2000:])
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer /healthz within 30 s")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no graceful shutdown, requests in flight die."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def gunicorn(tmp_path):
    started: list[Gunicorn] = []

    def start(database_url: str, workers: int = 2, env: dict | None = None) -> Gunicorn:
        g = Gunicorn(database_url, tmp_path / f"gunicorn-{len(started)}.log", workers, env)
        started.append(g)
        g.start()
        return g

    yield start
    for g in started:
        g.stop()


def sms_form(sid: str, sender: str, body: str) -> dict:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": HUB_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


def twilio_headers(form: dict, path: str = "/sms/twilio/inbound") -> dict:
    return {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, form)}


def webchat_event(event_id: str, visitor: str, text_: str, timestamp: str, **extra) -> dict:
    body = {
        "workspace": "acme",
        "event_id": event_id,
        "visitor": {"id": visitor, "name": f"Visitor {visitor}"},
        "direction": "inbound",
        "sender": "customer",
        "text": text_,
        "timestamp": timestamp,
    }
    body.update(extra)
    return body


def webchat_request(body: dict | bytes, secret: str = WEBCHAT_SECRET, t: int | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = int(time.time()) if t is None else t
    return raw, {"X-Statushub-Signature": header(secret, t, raw), "Content-Type": "application/json"}


def outcome(url: str, workspace_id: int | None = None) -> dict:
    """What a run left behind, keyed by customer identity so that ids may differ between databases:
    messages, current statuses, and the audit trail as a multiset."""
    eng = make_engine(url)
    C, IDS, M, CS, S, T, SC = (
        Customer.__table__,
        Identity.__table__,
        Message.__table__,
        CustomerStatus.__table__,
        Status.__table__,
        Track.__table__,
        StatusChange.__table__,
    )
    try:
        with eng.connect() as conn:
            who = dict(conn.execute(select(IDS.c.customer_id, IDS.c.value)).all())
            messages = sorted(
                (who.get(r.customer_id, "?"), r.channel, r.direction, r.provider_id or "", r.text)
                for r in conn.execute(
                    select(M.c.customer_id, M.c.channel, M.c.direction, M.c.provider_id, M.c.text)
                )
            )
            statuses = sorted(
                (who.get(r.customer_id, "?"), r.track, r.status)
                for r in conn.execute(
                    select(CS.c.customer_id, T.c.key.label("track"), S.c.key.label("status"))
                    .join(S, S.c.id == CS.c.status_id)
                    .join(T, T.c.id == CS.c.track_id)
                )
            )
            audit = sorted(
                (
                    who.get(r.customer_id, "?"),
                    r.track,
                    r.from_status or "",
                    r.to_status,
                    r.source,
                    bool(r.applied),
                )
                for r in conn.execute(
                    select(
                        SC.c.customer_id,
                        SC.c.track,
                        SC.c.from_status,
                        SC.c.to_status,
                        SC.c.source,
                        SC.c.applied,
                    )
                )
            )
            customers = conn.execute(select(C.c.id)).all()
    finally:
        eng.dispose()
    return {"messages": messages, "statuses": statuses, "audit": audit, "customers": len(customers)}
