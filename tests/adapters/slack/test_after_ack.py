"""The acknowledgement never waits on Slack's Web API (SPEC §11, issue 16 item 4): with Slack's API
faked 4 s slow, a card menu click, an attention choice and App Home are answered while the call is
still pending, the change is already stored, and the call is made after the answer."""

from __future__ import annotations

import json
import threading

import pytest

from tests.adapters.slack.test_actions import RESPONSE_URL, applied, click

pytestmark = pytest.mark.pgbouncer

SLOW = 4  # seconds Slack takes, unless the test lets it answer sooner


class SlowSlack:
    """A Web API method that answers after SLOW seconds or when released; records what it was sent."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.answered = threading.Event()
        self.bodies: list[dict] = []

    def __call__(self, request):
        self.bodies.append(json.loads(request.body))
        self.release.wait(SLOW)
        self.answered.set()
        return (200, {}, json.dumps({"ok": True}))


@pytest.fixture
def slow_slack(slack, slack_api):
    slack.wait_for_calls = False  # the test looks at the answer while Slack is still busy
    fake = SlowSlack()
    yield fake
    fake.release.set()
    slack.settle()


def test_a_card_menu_click_is_answered_before_slack_and_the_card_is_refreshed_after(
    slack, slack_api, slow_slack, engine, jane
):
    slack_api.add_callback("POST", RESPONSE_URL, callback=slow_slack)
    response = slack.interaction(click(jane, "set_stage", f"{jane}:hot_lead", select=True))
    assert response.status_code == 200
    assert not slow_slack.answered.is_set()  # the answer did not wait for the card refresh
    assert applied(engine, jane) == [("stage", "hot_lead", "slack:T0ACME/U0AGENT", "")]
    slow_slack.release.set()
    slack.settle()
    assert slow_slack.answered.is_set()
    assert slow_slack.bodies[0]["blocks"][0]["text"]["text"] == "✅ stage set to *🔥 Hot Lead*"


def test_an_outcome_button_is_answered_before_slack(slack, slack_api, slow_slack, engine, jane):
    slack_api.add_callback("POST", RESPONSE_URL, callback=slow_slack)
    response = slack.interaction(click(jane, "log_outcome:sold", f"{jane}:sold"))
    assert response.status_code == 200 and not slow_slack.answered.is_set()
    assert ("stage", "closed_won", "slack:T0ACME/U0AGENT", "") in applied(engine, jane)


def test_app_home_is_answered_before_slack_and_published_after(slack, slack_api, slow_slack, jane):
    slack.command("/status", "jane hot")
    slack_api.add_callback("POST", "http://slack.test/api/views.publish", callback=slow_slack)
    response = slack.event({"type": "app_home_opened", "user": "U0AGENT", "channel": "D1", "tab": "home"})
    assert response.status_code == 200
    assert not slow_slack.answered.is_set()
    slow_slack.release.set()
    slack.settle()
    published = slow_slack.bodies[0]
    assert published["user_id"] == "U0AGENT"
    assert "🔥 Hot Lead: *1*" in json.dumps(published["view"], ensure_ascii=False)


def test_the_attention_form_opens_after_the_answer(slack, slack_api, slow_slack, engine, jane):
    slack_api.add_callback("POST", "http://slack.test/api/views.open", callback=slow_slack)
    response = slack.interaction(click(jane, "set_attention", f"{jane}:caution", select=True))
    assert response.status_code == 200 and not slow_slack.answered.is_set()
    slow_slack.release.set()
    slack.settle()
    assert slow_slack.bodies[0]["trigger_id"] == "trigger-9"
    assert slow_slack.bodies[0]["view"]["callback_id"] == "attention_note"


def test_a_failed_card_refresh_keeps_the_change_and_is_not_retried(slack, slack_api, engine, jane):
    slack_api.add("POST", RESPONSE_URL, status=500)
    response = slack.interaction(click(jane, "set_stage", f"{jane}:hot_lead", select=True))
    assert response.status_code == 200  # Slack must not retry (and redo) a change that was saved
    assert applied(engine, jane) == [("stage", "hot_lead", "slack:T0ACME/U0AGENT", "")]
    assert len(slack_api.calls) == 1
