"""Held Twilio messages: stored and answered at once, folded into statuses a moment later (SPEC §8).

These tests run the hub with a fold delay, as it runs by default (the rest of the suite folds each
message in its request, STATUSHUB_FOLD_DELAY_MS=0).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from plugin.app.settings import Settings
from plugin.cli.worker_cli import worker_command
from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine import fold_held, hold
from plugin.store.db import transaction
from plugin.store.schema import HeldMessage, Identity, Message, Workspace
from tests.adapters.sms.conftest import CUSTOMER, inbound_form, post_inbound, rows, wait_until
from tests.adapters.sms.test_inbound import statuses_of

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def test_a_held_message_is_stored_before_the_answer_and_folded_after_the_delay(held_app, engine, workspace):
    app = held_app(300)
    answer = post_inbound(app.test_client(), inbound_form("SMheld1", "how much is the blue hoodie?"))
    assert (answer.status_code, answer.data.decode()) == (200, EMPTY)
    # Durably stored when the 200 left: held, not yet a message of its customer.
    assert (rows(engine, HeldMessage), rows(engine, Message)) == (1, 0)
    wait_until(lambda: rows(engine, Message) == 1)
    assert rows(engine, HeldMessage) == 0
    with engine.connect() as conn:
        message = conn.execute(select(Message)).one()
    assert (message.provider_id, message.text, message.intents) == (
        "SMheld1",
        "how much is the blue hoodie?",
        ["ask_price", "has_question"],
    )
    assert statuses_of(None, engine)["reply"] == "in_progress"


def test_messages_held_within_the_delay_fold_in_order_as_the_request_path_folds_them(
    held_app, engine, workspace
):
    texts = [
        "hi, do you have the desk in oak?",
        "how much is it?",
        "ok I'll take it",
        "not interested anymore",
    ]
    app = held_app(10_000)
    client = app.test_client()
    for n, text in enumerate(texts):
        post_inbound(client, inbound_form(f"SMh{n}", text))
    app.extensions["statushub"].folder.stop()  # the test folds them itself, below
    # The same conversation from another customer, folded in each request.
    direct = held_app(0).test_client()
    other = "+15557650000"
    for n, text in enumerate(texts):
        post_inbound(direct, inbound_form(f"SMd{n}", text, sender=other))
    assert rows(engine, HeldMessage) == len(texts)
    assert fold_held(engine, workspace).folded == len(texts)
    assert statuses_of(None, engine) == statuses_of(None, engine, other)
    with engine.connect() as conn:
        held_customer = select(Identity.customer_id).where(Identity.value == "sms:" + CUSTOMER)
        stored = conn.execute(
            select(Message.text)
            .where(Message.customer_id == held_customer.scalar_subquery())
            .order_by(Message.id)
        ).scalars()
        assert list(stored) == texts


def test_a_redelivery_while_held_and_after_the_fold_changes_nothing(held_app, engine, workspace):
    client = held_app(5000).test_client()
    form = inbound_form("SMdup", "I just sent the payment")
    first, again = post_inbound(client, form), post_inbound(client, form)
    assert first.data == again.data and again.status_code == 200
    assert rows(engine, HeldMessage) == 1
    fold_held(engine, workspace)
    late = post_inbound(client, form)  # Twilio retries after the fold
    assert (late.status_code, late.data.decode()) == (200, EMPTY)
    fold_held(engine, workspace)
    assert (rows(engine, Message), rows(engine, HeldMessage)) == (1, 0)


def test_a_workspace_with_an_auto_reply_folds_in_the_request(held_app, engine, workspace):
    with transaction(engine) as conn:
        conn.execute(update(Workspace).values(settings={"sms_auto_reply": "Thanks, we'll answer soon"}))
    answer = post_inbound(held_app(5000).test_client(), inbound_form("SMar", "hello"))
    assert "<Message>Thanks, we" in answer.data.decode()
    assert (rows(engine, Message), rows(engine, HeldMessage)) == (1, 0)


def test_a_forged_request_holds_nothing(held_app, engine, workspace):
    client = held_app(50).test_client()
    answer = post_inbound(client, inbound_form("SMforged", "hello"), token="not-the-token")
    assert answer.status_code == 401
    time.sleep(0.2)
    assert (rows(engine, HeldMessage), rows(engine, Message)) == (0, 0)


def _event(workspace: int, n: int, text: str = "how much?") -> MessageEvent:
    return MessageEvent(
        workspace,
        "sms",
        f"sms:+1555765{n % 7:04d}",
        "inbound",
        "customer",
        text,
        f"SMp{n}",
        utcnow() - timedelta(minutes=5) + timedelta(seconds=n),
    )


def test_a_message_that_cannot_be_folded_is_set_aside_and_the_others_fold(engine, workspace):
    with transaction(engine) as conn:
        for n in range(5):
            hold(conn, _event(workspace, n), utcnow())
        conn.execute(  # a row this version cannot read (as a hand edit or a bug could leave it)
            update(HeldMessage).where(HeldMessage.provider_id == "SMp2").values(event={"text": "no identity"})
        )
    done = fold_held(engine, workspace)
    assert (done.folded, done.failed) == (4, 1)
    with engine.connect() as conn:
        kept = conn.execute(select(HeldMessage.provider_id, HeldMessage.error, HeldMessage.failed_at)).one()
        assert (kept.provider_id, kept.error) == ("SMp2", "KeyError") and kept.failed_at is not None
        assert conn.execute(select(func.count()).select_from(Message)).scalar_one() == 4
    assert fold_held(engine, workspace) == (0, 0, False)  # set aside: not tried again and again


def test_a_message_held_under_an_id_another_fold_freed_is_folded_as_itself(engine, workspace, monkeypatch):
    """Between a fold's read ahead and its claim another folder may fold a message and a new one be
    held in its place; SQLite may give the newcomer the freed id. The newcomer is folded, not the
    event read ahead under that id."""
    from plugin.engine import held as held_module

    with transaction(engine) as conn:
        hold(conn, _event(workspace, 1, "hi there"), utcnow())
    read_ahead = held_module._read_ahead

    def then_replaced(*args, **kwargs):
        found = read_ahead(*args, **kwargs)
        with transaction(engine) as conn:  # folded elsewhere meanwhile; a new message takes its id
            (old_id,) = conn.execute(select(HeldMessage.id)).one()
            conn.execute(HeldMessage.__table__.delete())
            hold(conn, _event(workspace, 2, "how much is the blue hoodie?"), utcnow())
            conn.execute(update(HeldMessage).values(id=old_id))
        return found

    monkeypatch.setattr(held_module, "_read_ahead", then_replaced)
    assert fold_held(engine, workspace).folded == 1
    with engine.connect() as conn:
        stored = conn.execute(select(Message.provider_id, Message.text)).all()
    assert [tuple(r) for r in stored] == [("SMp2", "how much is the blue hoodie?")]


def test_messages_a_stopped_process_left_held_are_folded_by_the_worker(db_url, engine, workspace):
    with transaction(engine) as conn:
        for n in range(3):
            hold(conn, _event(workspace, n), utcnow() - timedelta(minutes=1))
        hold(conn, _event(workspace, 9), utcnow())  # just held: its own process folds it
    result = CliRunner().invoke(worker_command, ["--once"], env={"STATUSHUB_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    # The sweep folds each workspace with a message held too long, and then all of its held messages.
    assert (rows(engine, Message), rows(engine, HeldMessage)) == (4, 0)


def test_two_processes_folding_one_workspace_fold_each_message_once(engine, workspace):
    with transaction(engine) as conn:
        for n in range(60):
            hold(conn, _event(workspace, n, "is it still available?"), utcnow())
    results, errors = [], []

    def fold_some():
        try:
            results.append(fold_held(engine, workspace, batch=7))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fold_some) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.folded for r in results) == 60
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Message)).scalar_one() == 60
    assert rows(engine, HeldMessage) == 0


@pytest.mark.parametrize("value", ["abc", "-1", "10001", "1.5", "999999"])
def test_a_bad_fold_delay_is_refused_by_name(value):
    with pytest.raises(ValueError, match="STATUSHUB_FOLD_DELAY_MS must be milliseconds from 0 to 10000"):
        Settings.from_env({"STATUSHUB_FOLD_DELAY_MS": value})


def test_the_fold_delay_is_250_ms_unless_set():
    assert Settings.from_env({}).fold_delay_ms == 250
    assert Settings.from_env({"STATUSHUB_FOLD_DELAY_MS": "0"}).fold_delay_ms == 0
    assert Settings.from_env({"STATUSHUB_FOLD_DELAY_MS": " 40 "}).fold_delay_ms == 40
