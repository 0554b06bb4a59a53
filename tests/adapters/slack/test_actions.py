"""The card's menus and buttons: manual changes by the clicking user, once per click, card replaced."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from plugin.store.db import reading
from plugin.store.schema import Activity, StatusChange

RESPONSE_URL = "http://hooks.slack.test/actions/1"


def click(
    customer_id: int, action_id: str, value: str, *, action_ts="1800000000.000100", select=False
) -> dict:
    action = {"action_id": action_id, "block_id": f"x:{customer_id}", "action_ts": action_ts}
    if select:
        action |= {
            "type": "static_select",
            "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}},
        }
    else:
        action |= {"type": "button", "value": value}
    return {
        "type": "block_actions",
        "team": {"id": "T0ACME"},
        "user": {"id": "U0AGENT", "team_id": "T0ACME"},
        "api_app_id": "A0APP",
        "trigger_id": "trigger-9",
        "response_url": RESPONSE_URL,
        "container": {"type": "message", "is_ephemeral": True},
        "actions": [action],
    }


def applied(engine, customer_id):
    with reading(engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(StatusChange.track, StatusChange.to_status, StatusChange.actor, StatusChange.note)
                .where(StatusChange.customer_id == customer_id, StatusChange.applied.is_(True))
                .order_by(StatusChange.id)
            )
        ]


def test_choosing_a_stage_is_a_manual_change_and_replaces_the_card(slack, slack_api, engine, jane):
    slack_api.add("POST", RESPONSE_URL, json={"ok": True})
    response = slack.interaction(click(jane, "set_stage", f"{jane}:hot_lead", select=True))
    assert response.status_code == 200
    assert applied(engine, jane) == [("stage", "hot_lead", "slack:T0ACME/U0AGENT", "")]
    sent = json.loads(slack_api.calls[0].request.body)
    assert sent["replace_original"] is True and sent["response_type"] == "ephemeral"
    assert sent["blocks"][0]["text"]["text"] == "✅ stage set to *🔥 Hot Lead*"


def test_an_action_delivered_twice_makes_one_change(slack, slack_api, engine, jane):
    slack_api.add("POST", RESPONSE_URL, json={"ok": True})
    payload = click(jane, "log_outcome:sold", f"{jane}:sold")
    assert slack.interaction(payload).status_code == 200
    assert slack.interaction(payload).status_code == 200
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar_one() == 1
    assert len(slack_api.calls) == 1
    assert ("stage", "closed_won", "slack:T0ACME/U0AGENT", "") in applied(engine, jane)


def test_each_outcome_button_logs_its_outcome(slack, slack_api, engine, jane):
    slack_api.add("POST", RESPONSE_URL, json={"ok": True})
    for n, key in enumerate(("left_voicemail", "no_answer", "no_sale")):
        slack.interaction(click(jane, f"log_outcome:{key}", f"{jane}:{key}", action_ts=f"18000.{n}"))
    with reading(engine) as conn:
        outcomes = conn.execute(select(Activity.outcome).order_by(Activity.id)).scalars().all()
    assert outcomes == ["left_voicemail", "no_answer", "no_sale"]
    assert applied(engine, jane)[-1] == ("stage", "passed", "slack:T0ACME/U0AGENT", "")


def test_a_stale_button_answers_a_hint_and_changes_nothing(slack, slack_api, engine, jane):
    slack_api.add("POST", RESPONSE_URL, json={"ok": True})
    slack.interaction(click(jane, "set_stage", f"{jane}:gone_status", select=True))
    slack.interaction(click(jane + 99, "set_stage", f"{jane + 99}:hot_lead", select=True, action_ts="2"))
    assert applied(engine, jane) == []
    hints = [json.loads(c.request.body)["blocks"][0]["text"]["text"] for c in slack_api.calls]
    assert hints == ["🤔 'gone_status' is no longer a stage status; run /status again",
                     f"🤔 no customer matches '#{jane + 99}' (try a phone number, #id or full name)"]  # fmt: skip


def test_attention_opens_a_modal_for_the_note_and_applies_on_submission(slack, slack_api, engine, jane):
    slack_api.add("POST", "http://slack.test/api/views.open", json={"ok": True})
    slack.interaction(click(jane, "set_attention", f"{jane}:caution", select=True))
    assert applied(engine, jane) == []
    opened = json.loads(slack_api.calls[0].request.body)
    assert slack_api.calls[0].request.headers["Authorization"] == "Bearer xoxb-test-token"
    assert opened["trigger_id"] == "trigger-9"
    view = opened["view"]
    assert view["callback_id"] == "attention_note" and view["blocks"][1]["block_id"] == "note"

    def submission(note: str, view_id: str) -> dict:
        return {
            "type": "view_submission",
            "team": {"id": "T0ACME"},
            "user": {"id": "U0AGENT", "team_id": "T0ACME"},
            "api_app_id": "A0APP",
            "view": view
            | {
                "id": view_id,
                "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": note}}}},
            },
        }

    empty = slack.interaction(submission("  ", "V1"))
    assert empty.get_json() == {
        "response_action": "errors",
        "errors": {"note": "Say why: a change of attention needs a note."},
    }
    assert applied(engine, jane) == []
    assert slack.interaction(submission("shouted at staff", "V2")).status_code == 200
    assert slack.interaction(submission("shouted at staff", "V2")).status_code == 200  # a retry
    assert applied(engine, jane) == [("attention", "caution", "slack:T0ACME/U0AGENT", "shouted at staff")]
