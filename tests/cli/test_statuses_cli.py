"""`statushub statuses ...`: the status lists as an admin shapes them (SPEC §3)."""

from __future__ import annotations

import json

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.store.db import transaction


def _stage(cli) -> list[dict]:
    return json.loads(cli("statuses", "list", "--track", "stage", "--json").stdout)


def test_list_shows_every_status_in_order_with_its_settings_and_customer_count(cli, workspace):
    cli("customers", "add", "Ada", "--phone", "5551234567")
    text = cli("statuses", "list", "--track", "stage").stdout
    assert "🔥" in text and "Hot Lead" in text and "upgrade_only" in text
    rows = _stage(cli)
    assert [s["key"] for s in rows] == ["greeting", "cold_lead", "hot_lead", "closed_won", "passed"]
    assert rows[0]["customers"] == 1 and rows[2]["customers"] == 0
    assert {"position", "emoji", "label", "automation", "alert", "terminal", "archived"} <= set(rows[0])
    every = json.loads(cli("statuses", "list", "--json").stdout)
    assert {s["track"] for s in every} == {"stage", "reply", "outcome", "attention"}


def test_add_then_edit_a_status(cli, workspace):
    added = cli(
        "statuses",
        "add",
        "vip_lead",
        "--label",
        "VIP Lead",
        "--emoji",
        "⭐",
        "--color",
        "#ff0000",
        "--automation",
        "upgrade_only",
        "--alert",
    )
    assert "⭐ VIP Lead" in added.stdout
    cli("statuses", "edit", "vip_lead", "--label", "Top Lead", "--no-alert", "--terminal")
    vip = next(s for s in _stage(cli) if s["key"] == "vip_lead")
    assert (vip["label"], vip["color"], vip["alert"], vip["terminal"], vip["automation"]) == (
        "Top Lead",
        "#ff0000",
        False,
        True,
        "upgrade_only",
    )
    assert vip["position"] == 5


def test_delete_unused_status_deletes_it_at_once(cli, workspace):
    out = cli("statuses", "delete", "cold_lead", "--json").stdout
    assert json.loads(out)["deleted"] is True
    assert "cold_lead" not in [s["key"] for s in _stage(cli)]


def test_delete_archives_a_status_in_use_then_restore_makes_it_assignable(cli, fails, workspace):
    cli("customers", "add", "Ada", "--phone", "5551234567")
    cli("set", "Ada", "cold_lead")
    out = cli("statuses", "delete", "cold_lead").stdout
    assert "archived ❄️ Cold Lead" in out and "1 customer(s)" in out
    assert next(s for s in _stage(cli) if s["key"] == "cold_lead")["archived"] is True
    cli("customers", "add", "Bob", "--phone", "5559876543")
    assert "archived" in fails("set", "Bob", "cold_lead")
    assert "restored" in cli("statuses", "restore", "cold_lead").stdout
    assert "Cold Lead" in cli("set", "Bob", "cold_lead").stdout


def test_delete_lists_what_still_names_the_status(cli, workspace):
    out = json.loads(cli("statuses", "delete", "closed_won", "--json").stdout)
    assert "outcome sold → stage:closed_won" in out["dangling"]
    assert "no longer acts: outcome no_sale → stage:passed" in cli("statuses", "delete", "passed").stdout


def test_reorder_changes_what_counts_as_an_upgrade(cli, engine, workspace):
    def message(n: int, text: str) -> str:
        event = MessageEvent(
            workspace, "sms", "sms:+15551234567", "inbound", "customer", text, f"SM{n}", utcnow(), name="Ada"
        )
        with transaction(engine) as conn:
            receive(conn, workspace, [event], now=utcnow())
        return json.loads(cli("customers", "show", "Ada", "--json").stdout)["statuses"]["stage"]

    # Messages arrive after the manual change (provider time = now), so each is decided on its own.

    cli("customers", "add", "Ada", "--phone", "5551234567")
    cli("intents", "assign", "ask_price", "stage:cold_lead")
    cli("set", "Ada", "hot_lead")  # upgrade_only: automation may only move her up
    assert message(1, "How much is this?") == "hot_lead"  # cold_lead is below: a downgrade, blocked

    cli("statuses", "reorder", "greeting", "hot_lead", "cold_lead", "closed_won", "passed")
    assert [s["key"] for s in _stage(cli)] == ["greeting", "hot_lead", "cold_lead", "closed_won", "passed"]
    assert message(2, "How much is this?") == "cold_lead"  # now above hot_lead: an upgrade
