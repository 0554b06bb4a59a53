"""A hub killed mid-stream loses nothing: Twilio's retries of every unacknowledged webhook converge on
what an uninterrupted run stores (SPEC §5 duplicates, §8 correctness from the database)."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from plugin.app import create_app
from plugin.store.db import make_engine
from plugin.store.schema import HeldMessage
from tests.reliability.conftest import (
    PUBLIC_URL,
    TEXTS,
    TWILIO_TOKEN,
    WEBCHAT_SECRET,
    make_workspace,
    outcome,
    pg_only,
    sms_form,
    twilio_headers,
)

EVENTS = 300
CUSTOMERS = 30
KILL_AFTER = 120  # acknowledged events before the SIGKILL


def stream() -> list[dict]:
    """300 inbound texts with distinct MessageSids from 30 customers, each one's in conversation order."""
    return [
        sms_form(f"SM{i:032d}", f"+1555300{i % CUSTOMERS:04d}", TEXTS[(i // CUSTOMERS) % len(TEXTS)])
        for i in range(EVENTS)
    ]


def held(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(HeldMessage)).scalar_one()
    finally:
        engine.dispose()


def post(session: requests.Session, base: str, form: dict) -> int | None:
    try:
        return session.post(
            base + "/sms/twilio/inbound", data=form, headers=twilio_headers(form), timeout=10
        ).status_code
    except requests.RequestException:
        return None


@pytest.mark.slow
# Held for 2 s, so that the kill surely leaves messages acknowledged and not yet folded.
@pytest.mark.parametrize("fold_delay", ["0", "2000"], ids=["folded-in-request", "held"])
def test_a_hub_killed_mid_stream_stores_every_message_once_after_retries(
    db_url, fresh_pg, gunicorn, capsys, record_property, fold_delay
):
    """Folded in each request, or held and folded a moment later (PostgreSQL's default): a kill
    between a message's 200 and its fold leaves it held, and the next fold of its workspace takes it."""
    pg_only(db_url)
    make_workspace(db_url)
    forms = stream()
    hub = gunicorn(db_url, env={"STATUSHUB_FOLD_DELAY_MS": fold_delay})
    session = requests.Session()
    killed = threading.Event()

    def killer():
        killed.wait(timeout=60)
        hub.kill()

    threading.Thread(target=killer, daemon=True).start()
    acked, unacked = 0, []
    for form in forms:
        status = post(session, hub.base, form)
        if status == 200:
            acked += 1
            if acked == KILL_AFTER:
                killed.set()  # the kill lands while the next requests are in flight
        else:
            unacked.append(form)
    assert unacked, "the kill must have interrupted the stream"
    held_at_kill = held(db_url)
    assert held_at_kill > 0 if fold_delay != "0" else held_at_kill == 0
    hub.start()  # same port, same database: Twilio retries to the same URL
    retried, rounds = len(unacked), 0
    while unacked and rounds < 5:
        unacked = [f for f in unacked if post(session, hub.base, f) != 200]
        rounds += 1
    assert not unacked, f"{len(unacked)} events never acknowledged"
    deadline = time.monotonic() + 20
    while held(db_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held(db_url) == 0, "held messages left unfolded"

    clean_url = fresh_pg()
    make_workspace(clean_url)
    client = create_app({"DATABASE_URL": clean_url, "PUBLIC_URL": PUBLIC_URL}).test_client()
    for form in forms:
        assert client.post("/sms/twilio/inbound", data=form, headers=twilio_headers(form)).status_code == 200

    crashed, clean = outcome(db_url), outcome(clean_url)
    stored = len(crashed["messages"])
    figures = (
        f"\n[crash, fold delay {fold_delay} ms] events sent={EVENTS} acknowledged before kill={acked} retried={retried} "
        f"held at the kill={held_at_kill} stored={stored} lost={EVENTS - len({m[3] for m in crashed['messages']})}"
    )
    record_property("figures", figures.strip())
    with capsys.disabled():
        print(figures)
    assert stored == EVENTS == len({m[3] for m in crashed["messages"]})
    assert crashed["messages"] == clean["messages"]
    assert crashed["statuses"] == clean["statuses"]
    assert crashed["audit"] == clean["audit"]
    assert len({status for _, _, status in clean["statuses"]}) > 2, "the stream must move statuses"
    # The hub's own log (gunicorn's stderr) of the whole run names no secret.
    logs = "".join(p.read_text(errors="replace") for p in hub.log_path.parent.glob("gunicorn-*.log"))
    for secret in (TWILIO_TOKEN, WEBCHAT_SECRET, "slack-signing-secret-for-reliability"):
        assert secret not in logs
