"""Alerts in the alert channel: readable (labels, a mention, the message that triggered them), and
dead-lettered at once when Slack says retrying cannot help, then listed by `statushub alerts failed`
and sent again by `statushub alerts retry` (SPEC §11, issue 16 items 6 and 10)."""

from __future__ import annotations

import functools
import json
from datetime import timedelta

import pytest
import responses
from click.testing import CliRunner

from adapters.slack.alerts import send_alert, send_nudge
from plugin.automation.outbox import run_due
from plugin.cli import main
from plugin.customers.naming import add_customer
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status, record_message, record_messages
from plugin.store.db import transaction
from plugin.workspace.intents import classifier_for
from tests.adapters.fixtures import fixture
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer

API = "http://slack.test/api/"
POST = API + "chat.postMessage"
ERRORS = fixture("slack", "chat_postMessage_errors")


@pytest.fixture
def senders():
    return {
        "alert": functools.partial(send_alert, api_url=API),
        "nudge": functools.partial(send_nudge, api_url=API),
    }


def cli(db_url, *args):
    return CliRunner().invoke(main, list(args), env={"STATUSHUB_DATABASE_URL": db_url})


def make_hot(engine, catalog, name="Jane Doe", actor="slack:T0ACME/U0AGENT") -> int:
    with transaction(engine) as conn:
        cid = add_customer(conn, catalog, name, [], "US", at(0))
        assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor=actor,
                      classify=classifier_for(conn, catalog), now=at(0))  # fmt: skip
    return cid


def inbound(workspace, visitor: str, text: str, n: int) -> MessageEvent:
    return MessageEvent(workspace_id=workspace, channel="webchat", identity=f"webchat:{visitor}",
                        direction="inbound", sender="customer", text=text, provider_id=f"evt-{visitor}-{n}",
                        provider_at=at(n), name=visitor.title())  # fmt: skip


def sent_blocks(call) -> str:
    return json.dumps(json.loads(call.request.body)["blocks"], ensure_ascii=False)


def test_an_alert_shows_labels_and_mentions_the_slack_user_who_made_the_change(engine, catalog, senders):
    make_hot(engine, catalog)
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json={"ok": True})
        assert run_due(engine, senders, now=at(1)).sent == 1
        shown = sent_blocks(slack.calls[0])
    assert "Stage: 👋 Greeting → *🔥 Hot Lead* · by <@U0AGENT>" in shown
    assert "greeting →" not in shown and "slack:T0ACME" not in shown  # no keys, no internal ids


@pytest.mark.parametrize("batch", [False, True], ids=["one message", "a batch"])
def test_an_alert_quotes_the_message_that_triggered_it(engine, catalog, workspace, senders, batch):
    text = "how do I pay by bank transfer? <!channel> " + "please " * 300
    with transaction(engine) as conn:
        classify = classifier_for(conn, catalog)
        if batch:
            events = [inbound(workspace, "sam", "hello", 1), inbound(workspace, "sam", text, 2)]
            record_messages(conn, catalog, events, classify, now=at(3))
        else:
            record_message(conn, catalog, inbound(workspace, "sam", text, 2), classify, now=at(3))
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json={"ok": True})
        assert run_due(engine, senders, now=at(4)).sent == 1
        found = json.loads(slack.calls[0].request.body)["blocks"]
    assert "automatically: intent request_payment_info (rules)" in found[1]["elements"][0]["text"]
    quote = found[-1]["text"]["text"]
    assert quote.startswith("> how do I pay by bank transfer? &lt;!channel&gt; please")
    assert quote.endswith("…") and len(quote) < 600  # clipped, far under Block Kit's 3,000


@pytest.mark.parametrize("answer", ERRORS["permanent"], ids=lambda a: a["error"])
def test_a_slack_error_retrying_cannot_fix_dead_letters_the_alert_at_once(
    db_url, engine, catalog, senders, answer
):
    cid = make_hot(engine, catalog)
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json=answer)
        counts = run_due(engine, senders, now=at(1))
        assert (counts.dead, counts.retried) == (1, 0)
        assert run_due(engine, senders, now=at(1) + timedelta(days=2)).sent == 0  # never tried again
        assert len(slack.calls) == 1
    result = cli(db_url, "alerts", "failed", "--json")
    assert result.exit_code == 0, result.output
    (failed,) = json.loads(result.output)
    assert {k: failed[k] for k in ("customer", "name", "change")} == {
        "customer": cid, "name": "Jane Doe", "change": "stage: greeting → hot_lead"}  # fmt: skip
    assert failed["reason"].startswith(answer["error"] + ": ") and failed["at"].startswith("2026-05-04T09:01")
    assert "xoxb" not in result.output  # the token is never shown


def test_not_in_channel_says_to_invite_the_app_and_the_retry_sends_it(db_url, engine, catalog, senders):
    make_hot(engine, catalog)
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json={"ok": False, "error": "not_in_channel"})
        run_due(engine, senders, now=at(1))
        table = cli(db_url, "alerts", "failed")
        assert table.exit_code == 0
        assert "Jane Doe" in table.output and "not a member of the alert channel C0ALERTS" in table.output
        assert "/invite" in table.output
        retried = cli(db_url, "alerts", "retry", "--all")
        assert retried.exit_code == 0 and "queued 1 alert again" in retried.output
        slack.replace("POST", POST, json={"ok": True})
        assert run_due(engine, senders).sent == 1  # the retry is due now
    assert json.loads(cli(db_url, "alerts", "failed", "--json").output) == []


def test_a_nudge_to_a_channel_the_app_is_not_in_is_dead_lettered_too(engine, catalog, workspace, senders):
    from plugin.store.schema import OutboxItem

    with transaction(engine) as conn:
        cid = add_customer(conn, catalog, "Sam", [], "US", at(0))
        conn.execute(OutboxItem.__table__.insert().values(
            workspace_id=workspace, kind="nudge", customer_id=cid, payload={"name": "Sam", "waiting_since": at(0).isoformat()},
            due_at=at(0), attempts=0, last_error="", created_at=at(0)))  # fmt: skip
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json={"ok": False, "error": "channel_not_found"})
        assert run_due(engine, senders, now=at(1)).dead == 1


def test_a_rate_limit_is_retried_not_dead_lettered(db_url, engine, catalog, senders):
    make_hot(engine, catalog)
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, status=429, json=ERRORS["transient"], headers={"Retry-After": "1"})
        counts = run_due(engine, senders, now=at(1))
    assert (counts.dead, counts.retried) == (0, 1)
    assert json.loads(cli(db_url, "alerts", "failed", "--json").output) == []


def test_retrying_an_unknown_alert_exits_non_zero_and_changes_nothing(db_url, engine, catalog, senders):
    result = cli(db_url, "alerts", "retry", "999")
    assert result.exit_code != 0 and "no failed alert 999" in result.output
    huge = cli(db_url, "alerts", "retry", str(2**64))
    assert huge.exit_code != 0 and "ID" in huge.output and "Traceback" not in huge.output
    both = cli(db_url, "alerts", "retry")
    assert both.exit_code != 0 and "name one failed alert's ID, or --all" in both.output
