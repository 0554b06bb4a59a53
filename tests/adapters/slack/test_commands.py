"""Slash commands over the real app and database: answers, changes, mistakes, roles, signatures."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from plugin.store.db import reading
from plugin.store.schema import Activity, Identity, OutboxItem, StatusChange
from tests.adapters.slack.conftest import ADMIN, signed_headers


def texts(response) -> str:
    return json.dumps(response.get_json()["blocks"], ensure_ascii=False)


def current(engine, customer_id):
    with reading(engine) as conn:
        rows = conn.execute(
            select(StatusChange.track, StatusChange.to_status, StatusChange.actor, StatusChange.note)
            .where(StatusChange.customer_id == customer_id, StatusChange.applied.is_(True))
            .order_by(StatusChange.id)
        ).all()
    return [tuple(r) for r in rows]


def count(engine, table) -> int:
    with reading(engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_status_with_a_customer_answers_the_card_in_the_ack(slack, jane):
    response = slack.command("/status", "(415) 555-0100")
    assert response.status_code == 200
    body = response.get_json()
    assert body["response_type"] == "ephemeral"
    assert (
        body["blocks"][0]["text"]["text"]
        == f"*Jane Doe*  (#{jane})\n👋 Greeting  🆕 New  — No outcome  🟢 Active"
    )
    assert '"action_id": "set_stage"' in json.dumps(body["blocks"])


def test_status_with_a_status_is_a_manual_change_by_that_slack_user(slack, engine, jane):
    response = slack.command("/status", "Jane Doe hot wants the blue one")
    assert response.get_json()["blocks"][0]["text"]["text"] == "✅ stage set to *🔥 Hot Lead*"
    assert current(engine, jane) == [("stage", "hot_lead", "slack:T0ACME/U0AGENT", "wants the blue one")]
    assert count(engine, OutboxItem) == 1  # hot_lead alerts, through the outbox


def test_attention_by_command_needs_a_note(slack, engine, jane):
    response = slack.command("/status", "jane attention:vip")
    assert "needs a note" in texts(response)
    assert current(engine, jane) == []
    slack.command("/status", "jane attention:vip spends a lot")
    assert current(engine, jane) == [("attention", "vip", "slack:T0ACME/U0AGENT", "spends a lot")]


def test_a_misspelled_status_suggests_the_closest_and_changes_nothing(slack, engine, jane):
    body = texts(slack.command("/status", "jane hott"))
    assert "did you mean 🔥 Hot Lead?" in body and f"Understood: customer #{jane}" in body
    assert "`cold_lead`" in body
    assert current(engine, jane) == []


def test_the_reply_track_cannot_be_set_by_hand(slack, engine, jane):
    assert "set by the system only" in texts(slack.command("/status", "jane reply:no_reply"))
    assert current(engine, jane) == []


def test_an_unknown_customer_says_so_and_what_was_understood(slack, engine, jane):
    body = texts(slack.command("/status", "Janet hot"))
    assert "no customer matches 'Janet'" in body and "status 'hot'" in body


def test_help_after_any_command_explains_it(slack, jane):
    assert "*/status &lt;customer&gt;* shows the customer's card." in texts(slack.command("/status", "help"))
    assert "voicemail" in texts(slack.command("/log", "help"))
    assert "funnel" in texts(slack.command("/leads", "help"))


def test_log_records_the_activity_and_its_outcome_mapping(slack, engine, jane):
    response = slack.command("/log", "+14155550100 sold in-store paid cash")
    assert "📝 logged *💰 Sold* (in-store)" in texts(response)
    with reading(engine) as conn:
        activity = conn.execute(select(Activity.interaction, Activity.outcome, Activity.note)).one()
    assert tuple(activity) == ("in_store", "sold", "paid cash")
    assert ("stage", "closed_won", "slack:T0ACME/U0AGENT", "paid cash") in current(engine, jane)


def test_log_with_an_unknown_outcome_lists_the_outcomes(slack, engine, jane):
    body = texts(slack.command("/log", "jane soled"))
    assert "`outcome:sold`" in body and count(engine, Activity) == 0


def test_leads_lists_hot_leads_and_the_funnel_counts(slack, jane):
    slack.command("/status", "jane hot")
    assert f"*Jane Doe* (#{jane})" in texts(slack.command("/leads", ""))
    assert "No customers on ❄️ Cold Lead" in texts(slack.command("/leads", "cold"))
    funnel = texts(slack.command("/leads", "funnel"))
    assert "🔥 Hot Lead: *1*" in funnel and "👋 Greeting: *0*" in funnel


def test_admins_link_a_channel_and_then_the_customer_may_be_left_out(slack, engine, jane, admin):
    refused = texts(slack.command("/status", "link jane", channel="C0JANE"))
    assert "only workspace admins" in refused
    assert count(engine, Identity) == 1
    slack.command("/status", "link jane", user=ADMIN, channel="C0JANE")
    assert "*Jane Doe*" in texts(slack.command("/status", "", channel="C0JANE"))
    slack.command("/status", "cold not now", channel="C0JANE")
    assert current(engine, jane)[-1] == ("stage", "cold_lead", "slack:T0ACME/U0AGENT", "not now")


def test_a_forged_or_stale_signature_is_refused_and_stores_nothing(slack, engine, jane):
    body = "team_id=T0ACME&user_id=U0AGENT&command=%2Fstatus&text=jane+hot&channel_id=C1"
    forged = slack.client.post(
        "/slack/events", data=body, content_type="application/x-www-form-urlencoded",
        headers=signed_headers(body, secret="not-the-secret"),
    )  # fmt: skip
    stale = slack.client.post(
        "/slack/events", data=body, content_type="application/x-www-form-urlencoded",
        headers=signed_headers(body, timestamp=int(time.time()) - 600),
    )  # fmt: skip
    assert (forged.status_code, stale.status_code) == (401, 401)
    assert current(engine, jane) == [] and count(engine, OutboxItem) == 0


def test_a_database_failure_answers_5xx_so_slack_retries(slack, engine, jane, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr("adapters.slack.commands.assign_status", down)
    response = slack.command("/status", "jane hot")
    assert response.status_code == 503
    assert "x-slack-no-retry" not in {k.lower() for k, _ in response.headers}
    assert current(engine, jane) == []


def test_the_answer_comes_within_slacks_3_seconds_even_when_slack_is_slow(slack, slack_api, jane):
    def slow(request):
        time.sleep(2)
        return (200, {}, json.dumps({"ok": True}))

    slack_api.add_callback("POST", "http://slack.test/api/chat.postMessage", callback=slow)
    started = time.monotonic()
    response = slack.command("/status", "jane hot")  # enters an alerting status
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 3
    assert len(slack_api.calls) == 0  # the alert waits in the outbox for the worker


@pytest.mark.parametrize("command", ["/status", "/log", "/leads"])
def test_an_unknown_slack_team_changes_nothing(slack, slack_api, engine, jane, command):
    slack_api.add("POST", "http://hooks.slack.test/commands/1", json={"ok": True})
    response = slack.command(command, "jane sold", team="T0OTHER")
    assert response.status_code == 200
    assert current(engine, jane) == [] and count(engine, Activity) == 0
