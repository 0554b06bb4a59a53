"""Reading customers, their conversation and their audit trail; `--json` for scripts (SPEC §7)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.store.db import transaction
from plugin.store.schema import ApiToken
from plugin.workspace.workspaces import authenticate_token

CUSTOMER_KEYS = {
    "id",
    "name",
    "identities",
    "statuses",
    "opted_out",
    "message_count",
    "waiting_since",
    "last_inbound_at",
    "last_outbound_at",
}
ENTRY_KEYS = {"track", "from", "to", "source", "actor", "note", "applied", "reason", "message_id", "at"}


def _deliver(engine, workspace, identity, messages, name=None):
    """messages: (minutes from now, direction, text); the provider id follows from time and direction.
    Received when the latest was sent: provider times ahead of the receipt time are replaced (SPEC §12)."""
    start = utcnow()
    events = [
        MessageEvent(
            workspace,
            identity.split(":")[0],
            identity,
            direction,
            "customer" if direction == "inbound" else "agent",
            text,
            f"{identity}-{minutes}-{direction}",
            start + timedelta(minutes=minutes),
            name=name,
        )
        for minutes, direction, text in messages
    ]
    with transaction(engine) as conn:
        return receive(conn, workspace, events, now=max(e.provider_at for e in events))


def test_customer_json_carries_the_documented_keys(cli, engine, workspace):
    _deliver(engine, workspace, "sms:+15551234567", [(0, "inbound", "hello"), (1, "outbound", "hi!")], "Ada")
    shown = json.loads(cli("customers", "show", "+1 (555) 123-4567", "--json").stdout)
    assert set(shown) >= CUSTOMER_KEYS
    assert shown["identities"] == ["sms:+15551234567"]
    assert shown["statuses"] == {
        "stage": "greeting",
        "reply": "no_reply",
        "outcome": "none",
        "attention": "active",
    }
    assert shown["message_count"] == 2 and shown["opted_out"] is False
    listed = json.loads(cli("customers", "list", "--json").stdout)
    assert set(listed[0]) >= CUSTOMER_KEYS and listed[0]["message_count"] == 2
    added = json.loads(cli("customers", "add", "Bob", "--identity", "webchat:v42", "--json").stdout)
    assert set(added) >= CUSTOMER_KEYS and added["identities"] == ["webchat:v42"]


def test_opted_out_customer_shows_it(cli, engine, workspace):
    _deliver(engine, workspace, "sms:+15551234567", [(0, "inbound", "STOP")], "Ada")
    assert json.loads(cli("customers", "show", "5551234567", "--json").stdout)["opted_out"] is True
    assert "opted out" in cli("customers", "list").stdout


def test_history_json_entries_and_why_explain_a_blocked_downgrade(cli, engine, workspace):
    cli("customers", "add", "Ada", "--phone", "5551234567")
    cli("set", "Ada", "Hot Lead", "--note", "asked for a quote")
    cli("intents", "assign", "greeting", "stage:greeting")
    _deliver(engine, workspace, "sms:+15551234567", [(1, "inbound", "hello")])
    entries = json.loads(cli("history", "Ada", "--json").stdout)
    assert all(set(e) >= ENTRY_KEYS for e in entries)
    blocked = [e for e in entries if not e["applied"]]
    assert [(e["track"], e["from"], e["to"]) for e in blocked] == [("stage", "hot_lead", "greeting")]
    assert blocked[0]["message_id"] is not None and blocked[0]["reason"]
    why = json.loads(cli("why", "Ada", "--json").stdout)["tracks"]
    assert why["stage"]["status"] == "hot_lead" and why["stage"]["because"]["note"] == "asked for a quote"
    assert [b["to"] for b in why["stage"]["blocked_since"]] == ["greeting"]
    assert "blocked 👋 Greeting" in cli("why", "Ada").stdout


def test_messages_are_oldest_first_by_provider_time_whatever_the_arrival_order(cli, engine, workspace):
    _deliver(engine, workspace, "webchat:v1", [(5, "inbound", "second")], "Ada")
    _deliver(engine, workspace, "webchat:v1", [(10, "outbound", "third"), (0, "inbound", "first")], "Ada")
    rows = json.loads(cli("messages", "webchat:v1", "--json").stdout)
    assert [m["text"] for m in rows] == ["first", "second", "third"]
    assert {"channel", "direction", "sender", "text", "provider_id", "provider_at", "delivery_status"} <= set(
        rows[0]
    )
    latest = json.loads(cli("messages", "webchat:v1", "--limit", "2", "--json").stdout)
    assert [m["text"] for m in latest] == ["second", "third"]
    text = cli("messages", "webchat:v1").stdout
    assert text.index("first") < text.index("second") < text.index("third")


def test_priority_sort_puts_open_high_stage_long_waiting_first_and_terminal_last(cli, engine, workspace):
    _deliver(engine, workspace, "sms:+15550000001", [(3, "inbound", "hello")], "Recent hot")
    _deliver(engine, workspace, "sms:+15550000002", [(1, "inbound", "hello")], "Long-waiting hot")
    _deliver(engine, workspace, "sms:+15550000003", [(0, "inbound", "hello")], "Greeting")
    _deliver(engine, workspace, "sms:+15550000004", [(0, "inbound", "hello")], "Won")
    for name in ("Recent hot", "Long-waiting hot"):
        cli("set", name, "hot_lead")
    cli("set", "Won", "closed_won")
    names = [c["name"] for c in json.loads(cli("customers", "list", "--sort", "priority", "--json").stdout)]
    assert names == ["Long-waiting hot", "Recent hot", "Greeting", "Won"]


def test_token_create_prints_the_token_once_and_stores_only_its_hash(cli, engine, workspace):
    out = cli("token", "create", "acme", "--role", "agent", "--name", "zapier").stdout
    token = out.strip().splitlines()[-1]
    with engine.connect() as conn:
        stored = conn.execute(select(ApiToken.token_hash)).scalars().all()
        owner = authenticate_token(conn, token)
    assert owner is not None and (owner.name, owner.role) == ("zapier", "agent")
    assert token not in stored and all(token not in h for h in stored)
    listed = cli("token", "list", "acme").stdout
    assert "zapier" in listed and token not in listed
    assert token not in cli("token", "list", "acme", "--json").stdout
    cli("token", "revoke", "acme", "zapier")
    with engine.connect() as conn:
        assert authenticate_token(conn, token) is None


def test_workspace_list_never_shows_secrets(cli, workspace):
    out = cli("workspace", "list", "--json").stdout
    assert json.loads(out)[0]["channels"] == ["sms", "webchat", "slack"]
    assert "12345" not in out and "webchat-secret" not in out and "xoxb" not in out


def test_intents_assign_unassign_and_reset(cli, workspace):
    def ask_price() -> dict:
        rows = json.loads(cli("intents", "list", "--json").stdout)
        return next(r for r in rows if r["intent"] == "ask_price")

    default = ask_price()["default"]
    cli("intents", "assign", "ask_price", "stage:hot_lead")
    assert ask_price()["assigns"]["stage"] == "hot_lead"
    cli("intents", "unassign", "ask_price")
    assert "stage" not in ask_price()["assigns"]
    cli("intents", "reset", "ask_price")
    assert ask_price()["assigns"] == default and ask_price()["override"] is None
