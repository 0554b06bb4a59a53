"""`statushub slack manifest`: a Slack app manifest a YAML parser (and Slack) accepts, with the
configured slash commands, the bot events, the scopes and the one Request URL (SPEC §11)."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from adapters.slack.manifest import BOT_SCOPES
from plugin.cli import main

EVENTS_URL = "https://hub.example/slack/events"


def manifest(*args, **env):
    return CliRunner().invoke(main, ["slack", "manifest", *args], env={"STATUSHUB_PUBLIC_URL": None, **env})


def test_the_manifest_names_commands_events_scopes_and_urls():
    result = manifest("--url", "https://hub.example/")
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.output)
    commands = doc["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/status", "/log", "/leads"]
    assert {c["url"] for c in commands} == {EVENTS_URL}
    assert all(c["description"] and c["should_escape"] is True for c in commands)
    settings = doc["settings"]
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["event_subscriptions"]["bot_events"] == [
        "message.channels", "message.groups", "message.im", "app_home_opened"]  # fmt: skip
    assert settings["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}
    assert set(doc["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "channels:history", "groups:history", "im:history"}  # fmt: skip
    assert doc["features"]["app_home"]["home_tab_enabled"] is True
    assert doc["display_information"]["name"] == "statushub"


def test_the_scopes_are_exactly_those_the_hub_explains():
    doc = yaml.safe_load(manifest("--url", "https://hub.example").output)
    assert doc["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_renamed_commands_appear_as_configured_and_json_says_the_same():
    env = {"STATUSHUB_SLACK_STATUS_COMMAND": "/crm-status", "STATUSHUB_SLACK_LEADS_COMMAND": "/hot"}
    as_yaml = yaml.safe_load(manifest("--url", "https://hub.example", **env).output)
    as_json = json.loads(manifest("--url", "https://hub.example", "--json", **env).output)
    assert as_yaml == as_json
    assert [c["command"] for c in as_yaml["features"]["slash_commands"]] == ["/crm-status", "/log", "/hot"]


def test_without_url_the_public_url_is_used_under_its_path():
    result = manifest(STATUSHUB_PUBLIC_URL="https://example.com/hub/")
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.output)
    assert doc["settings"]["interactivity"]["request_url"] == "https://example.com/hub/slack/events"


def test_without_url_or_public_url_it_refuses_and_says_what_to_set():
    result = manifest()
    assert result.exit_code != 0
    assert "--url https://hub.example, or set STATUSHUB_PUBLIC_URL" in result.output
    assert "_metadata" not in result.output


@pytest.mark.parametrize(
    "url",
    [
        "http://hub.example",
        "hub.example",
        "ftp://hub.example",
        "https://",
        "https://h.example/?a=1",
        "https://user:pw@hub.example",
    ],  # fmt: skip
)
def test_a_url_slack_cannot_call_is_refused(url):
    result = manifest("--url", url)
    assert result.exit_code != 0 and "plain https URL" in result.output
    assert "_metadata" not in result.output


@pytest.mark.parametrize("name", ["status", "/Status", "/two words", "/" + "x" * 32])
def test_a_command_name_slack_would_refuse_is_named(name):
    result = manifest("--url", "https://hub.example", STATUSHUB_SLACK_LOG_COMMAND=name)
    assert result.exit_code != 0
    assert "is not a Slack command name" in result.output and "STATUSHUB_SLACK_LOG_COMMAND" in result.output


def test_an_app_name_over_slacks_limit_is_refused():
    result = manifest("--url", "https://hub.example", "--name", "x" * 36)
    assert result.exit_code != 0 and "1 to 35 characters" in result.output
