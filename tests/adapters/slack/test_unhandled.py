"""What the hub does not handle is acknowledged (200) and ignored: Slack counts any other answer as a
failed delivery and retries it (SPEC §11). Payloads are bolt-python's recorded shapes."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from plugin.store.db import reading
from plugin.store.schema import Customer, Delivery, Message, StatusChange
from tests.adapters.fixtures import fixture
from tests.adapters.slack.conftest import TEAM

pytestmark = pytest.mark.pgbouncer

EVENTS = (
    "event_reaction_added",
    "event_app_mention",
    "event_app_uninstalled",
    "event_app_home_opened_messages_tab",
)
INTERACTIONS = ("block_actions_button", "shortcut_global", "view_closed")


def rows(engine) -> dict[str, int]:
    with reading(engine) as conn:
        return {
            table.__name__: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Customer, Message, StatusChange, Delivery)
        }


def in_team(body: dict, team: str) -> dict:
    """The recorded body as if sent from `team` (the recordings come from a test team, T111)."""
    text = json.dumps(body).replace('"T111"', json.dumps(team))
    return json.loads(text)


def post_event(slack, body: dict):
    return slack.post(json.dumps(body), "application/json")


def post_interaction(slack, payload: dict):
    return slack.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


@pytest.mark.parametrize("team", [TEAM, "T111"], ids=["our team", "a team no workspace owns"])
@pytest.mark.parametrize("name", EVENTS)
def test_an_event_type_the_hub_does_not_handle_is_acknowledged_and_ignored(
    slack, slack_api, engine, jane, name, team
):
    before = rows(engine)
    response = post_event(slack, in_team(fixture("slack", name)["body"], team))
    assert response.status_code == 200
    assert rows(engine) == before
    assert len(slack_api.calls) == 0  # no views.publish for the Messages tab, nothing else either


@pytest.mark.parametrize("team", [TEAM, "T111"], ids=["our team", "a team no workspace owns"])
@pytest.mark.parametrize("name", INTERACTIONS)
def test_an_action_shortcut_or_view_the_hub_did_not_send_is_acknowledged_and_ignored(
    slack, slack_api, engine, jane, name, team
):
    before = rows(engine)
    response = post_interaction(slack, in_team(fixture("slack", name)["body"], team))
    assert response.status_code == 200
    assert rows(engine) == before
    assert len(slack_api.calls) == 0


def test_a_message_from_a_team_no_workspace_owns_is_acknowledged_and_stores_nothing(slack, engine, jane):
    before = rows(engine)
    response = post_event(slack, fixture("slack", "message")["body"])  # team T111
    assert response.status_code == 200
    assert rows(engine) == before


def test_app_home_opened_in_a_team_no_workspace_owns_is_acknowledged_and_calls_nothing(
    slack, slack_api, engine, jane
):
    body = fixture("slack", "event_app_home_opened_messages_tab")["body"]
    body["event"]["tab"] = "home"
    response = post_event(slack, body)  # team T111, no bot token to publish with
    assert response.status_code == 200
    assert len(slack_api.calls) == 0
