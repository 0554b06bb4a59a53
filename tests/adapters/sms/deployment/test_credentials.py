"""Channel credentials changed after `workspace create` (SPEC §11, issue 16): a rotated Twilio token or
web chat secret takes effect at once (old signature 401, new 200), through the CLI and the admin API,
and no secret is ever shown back."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from plugin.store.schema import Workspace
from tests.adapters.sms.recorded import ACCOUNT, TOKEN, form, inbound
from tests.adapters.webchat.conftest import event_body, post_event

NEW_TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
WEBCHAT = "shop-webchat-secret"
NEW_WEBCHAT = "shop-webchat-secret-2"
BOT = "xoxb-111-222-rotated"


def numbered(n: int):
    sid = f"SM{n:032x}"
    return form("inbound_mms_two_media", MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)


def test_a_twilio_token_rotated_with_the_cli_takes_effect_at_once(client, cli):
    assert inbound(client, numbered(1)).status_code == 200
    changed = cli("workspace", "edit", "shop", "--twilio-auth-token", NEW_TOKEN)
    assert "twilio_auth_token" in changed.stdout and NEW_TOKEN not in changed.stdout + changed.stderr
    assert inbound(client, numbered(2)).status_code == 401
    assert inbound(client, numbered(3), token=NEW_TOKEN).status_code == 200


def test_a_twilio_token_rotated_through_the_api_takes_effect_at_once(client, deployment):
    answer = client.patch(
        "/api/v1/settings", json={"twilio_auth_token": NEW_TOKEN}, headers=deployment["admin"]
    )
    assert answer.status_code == 200 and answer.json["twilio_auth_token_set"] is True
    assert NEW_TOKEN not in answer.get_data(as_text=True)
    assert inbound(client, numbered(1)).status_code == 401
    assert inbound(client, numbered(2), token=NEW_TOKEN).status_code == 200


def test_a_webchat_secret_rotated_through_the_api_takes_effect_at_once(client, deployment):
    body = event_body("evt-1", "hello", workspace="shop")
    assert post_event(client, body, secret=WEBCHAT).status_code == 200
    client.patch("/api/v1/settings", json={"webchat_secret": NEW_WEBCHAT}, headers=deployment["admin"])
    assert post_event(client, event_body("evt-2", "hi", workspace="shop"), secret=WEBCHAT).status_code == 401
    assert (
        post_event(client, event_body("evt-3", "hi", workspace="shop"), secret=NEW_WEBCHAT).status_code == 200
    )
    # Cleared: web chat is off for the workspace.
    cleared = client.patch("/api/v1/settings", json={"webchat_secret": None}, headers=deployment["admin"])
    assert cleared.json["webchat_secret_set"] is False
    assert (
        post_event(client, event_body("evt-4", "hi", workspace="shop"), secret=NEW_WEBCHAT).status_code == 401
    )


def test_secrets_are_shown_only_as_set(client, cli, deployment):
    cli("workspace", "edit", "shop", "--slack-team", "T0SHOP", "--slack-bot-token", BOT)
    shown = client.get("/api/v1/settings", headers=deployment["admin"])
    text = shown.get_data(as_text=True)
    assert {k: shown.json[k] for k in ("twilio_account_sid", "slack_team")} == {
        "twilio_account_sid": ACCOUNT,
        "slack_team": "T0SHOP",
    }
    assert (
        shown.json["twilio_auth_token_set"]
        and shown.json["webchat_secret_set"]
        and shown.json["slack_bot_token_set"]
    )
    listed = cli("workspace", "list", "--json").stdout + cli("workspace", "list").stdout
    for secret in (TOKEN, WEBCHAT, BOT):
        assert secret not in text and secret not in listed
    shop = next(w for w in json.loads(cli("workspace", "list", "--json").stdout) if w["slug"] == "shop")
    assert (
        shop["credentials"]["slack_bot_token_set"] is True
        and shop["credentials"]["twilio_auth_token_set"] is True
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"twilio_account_sid": "AC123"}, "twilio_account_sid"),
        ({"twilio_auth_token": "short"}, "twilio_auth_token"),
        ({"slack_bot_token": "xoxp-user-token"}, "slack_bot_token"),
        ({"slack_team": "team one"}, "slack_team"),
        ({"twilio_auth_token": NEW_TOKEN, "webchat_secret": "x y"}, "webchat_secret"),
    ],
)
def test_a_bad_credential_answers_400_naming_it_and_changes_nothing(
    client, engine, deployment, change, field
):
    with engine.connect() as conn:
        before = conn.execute(select(Workspace)).all()
    answer = client.patch("/api/v1/settings", json=change, headers=deployment["admin"])
    assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == field
    with engine.connect() as conn:
        assert conn.execute(select(Workspace)).all() == before


def test_agents_cannot_change_credentials(client, engine, deployment):
    answer = client.patch(
        "/api/v1/settings", json={"twilio_auth_token": NEW_TOKEN}, headers=deployment["agent"]
    )
    assert answer.status_code == 403
    assert inbound(client, numbered(1)).status_code == 200


def test_a_slack_team_another_workspace_has_is_a_conflict(cli, client, deployment):
    cli("workspace", "edit", "other", "--slack-team", "T0SHOP")
    answer = client.patch("/api/v1/settings", json={"slack_team": "T0SHOP"}, headers=deployment["admin"])
    assert answer.status_code == 409 and answer.json["error"]["details"]["field"] == "slack_team"


def test_cli_mistakes_change_nothing(cli, client):
    assert "nothing to change" in cli("workspace", "edit", "shop", ok=False).stderr
    refused = cli(
        "workspace",
        "edit",
        "shop",
        "--twilio-auth-token",
        NEW_TOKEN,
        "--twilio-account-sid",
        "nope",
        ok=False,
    )
    assert "twilio_account_sid must be" in refused.stderr
    assert inbound(client, numbered(1)).status_code == 200  # the old token still works
