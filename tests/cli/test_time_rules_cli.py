"""`statushub time-rules` and `statushub webhooks` as an admin types them (SPEC §9)."""

from __future__ import annotations

import json


def test_time_rules_list_shows_the_template_defaults(cli, workspace):
    out = cli("time-rules", "list", "--workspace", "acme").stdout
    assert "greeting_unanswered" in out and "stage:greeting + reply:no_reply" in out and "2d" in out
    assert "cold_lead_expires" in out and "30d" in out


def test_time_rules_add_then_remove(cli, workspace):
    cli("time-rules", "add", "quick_cold", "--workspace", "acme", "--when", "stage:greeting",
        "--when", "reply:no_reply", "--after", "15m", "--to", "stage:cold_lead")  # fmt: skip
    rules = json.loads(cli("time-rules", "list", "-w", "acme", "--json").stdout)
    assert {"name": "quick_cold", "when": {"stage": "greeting", "reply": "no_reply"}, "after": "15m",
            "to": "stage:cold_lead"}.items() <= next(r for r in rules if r["name"] == "quick_cold").items()  # fmt: skip
    cli("time-rules", "remove", "quick_cold", "-w", "acme")
    assert "quick_cold" not in cli("time-rules", "list", "-w", "acme").stdout


def test_time_rules_mistakes_are_refused_and_change_nothing(cli, fails, workspace):
    cli("time-rules", "list", "-w", "acme")  # seeds the defaults first, so a failure changes nothing
    assert "duration" in fails("time-rules", "add", "x", "-w", "acme", "--when", "stage:greeting",
                               "--after", "0h", "--to", "stage:cold_lead")  # fmt: skip
    assert "track:status" in fails("time-rules", "add", "x", "-w", "acme", "--when", "greeting",
                                   "--after", "1h", "--to", "stage:cold_lead")  # fmt: skip
    fails("time-rules", "add", "x", "-w", "acme", "--when", "stage:greting_typo_zz", "--after", "1h",
          "--to", "stage:cold_lead")  # fmt: skip
    assert "exists" in fails("time-rules", "add", "cold_lead_expires", "-w", "acme", "--when", "stage:cold_lead",
                             "--after", "1d", "--to", "stage:passed")  # fmt: skip
    assert "no time rule" in fails("time-rules", "remove", "nope", "-w", "acme")


def test_webhooks_add_prints_id_and_secret_once_and_list_never_shows_the_secret(cli, fails, workspace):
    added = json.loads(
        cli("webhooks", "add", "https://h.test/x", "-w", "acme", "--track", "stage", "--json").stdout
    )
    assert added["id"] and added["secret"].startswith("whsec_")
    listed = cli("webhooks", "list", "-w", "acme").stdout
    assert "https://h.test/x" in listed and added["secret"] not in listed
    fails("webhooks", "add", "ftp://h.test/x", "-w", "acme")
    fails("webhooks", "replay", "999", "-w", "acme")
    cli("webhooks", "remove", str(added["id"]), "-w", "acme")
    assert "https://h.test/x" not in cli("webhooks", "list", "-w", "acme").stdout
    assert "(none)" in cli("webhooks", "dead-letters", "-w", "acme").stdout


def test_webhooks_add_refuses_internal_addresses_unless_private_urls_are_allowed(cli, fails, workspace):
    assert "public" in fails("webhooks", "add", "http://127.0.0.1:5432/x", "-w", "acme")
    allowed = {"STATUSHUB_ALLOW_PRIVATE_URLS": "1"}
    cli("webhooks", "add", "http://127.0.0.1:5432/x", "-w", "acme", env=allowed)
