"""Every mistake exits 1 with one line on stderr naming what would be valid, and changes nothing (SPEC §7)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import snapshot


@pytest.fixture
def ada(cli, workspace):
    cli("customers", "add", "Ada Lovelace", "--phone", "5551234567")
    cli("customers", "add", "Ada Byron", "--phone", "5559876543")
    cli("customers", "add", "Grace", "--phone", "5550000001")


def test_unknown_workspace_names_the_known_ones(fails, ada):
    line = fails("set", "Grace", "hot", "--workspace", "nope")
    assert "no workspace 'nope'" in line and "acme" in line


def test_several_workspaces_need_workspace(cli, fails, ada):
    cli("workspace", "create", "other")
    line = fails("set", "Grace", "hot")
    assert "--workspace" in line and "STATUSHUB_WORKSPACE" in line and "acme" in line and "other" in line
    # The variable the line names picks the workspace as --workspace does.
    changed = cli("set", "Grace", "hot", env={"STATUSHUB_WORKSPACE": "acme"})
    assert "🔥 Hot Lead" in changed.stdout


def test_unknown_customer(fails, ada):
    assert "no customer matches 'Linus'" in fails("set", "Linus", "hot")


def test_ambiguous_customer_lists_the_choices(fails, ada):
    line = fails("set", "Ada", "hot")
    assert "Ada Lovelace" in line and "Ada Byron" in line


def test_unknown_status_suggests_the_closest(fails, ada):
    line = fails("set", "Grace", "hto")
    assert "no status called 'hto'; did you mean 🔥 Hot Lead?" in line and "choices: greeting" in line


def test_archived_status_cannot_be_set(cli, fails, ada):
    cli("set", "Grace", "cold_lead")
    cli("statuses", "delete", "cold_lead")
    assert "archived" in fails("set", "Ada Lovelace", "cold_lead")


def test_reply_track_cannot_be_set_by_hand(fails, ada):
    assert "system only" in fails("set", "Grace", "reply:no_reply")


def test_attention_needs_a_note(fails, ada):
    assert "note" in fails("set", "Grace", "attention:vip")


def test_unknown_outcome_and_interaction(fails, ada):
    assert "no status called 'vmm'" in fails("log", "Grace", "vmm")
    assert "in-store" in fails("log", "Grace", "vm", "--via", "pigeon")


# One database per backend for the whole table (a fresh PostgreSQL database per case is slow);
# `fails` still proves each case left every table as it was.
BAD_STATUS_LIST_CHANGES = [
    (("statuses", "add", "gold", "--color", "red"), "#rrggbb"),
    (("statuses", "edit", "hot_lead", "--automation", "sometimes"), "upgrade_only"),
    (("statuses", "add", "Bad Key"), "lowercase"),
    (("statuses", "add", "hot_lead"), "already"),
    (("statuses", "edit", "nope", "--label", "X"), "no status 'nope'"),
    (("statuses", "edit", "hot_lead"), "nothing to change"),
    (("statuses", "list", "--track", "mood"), "no track 'mood'"),
    (("statuses", "reorder", "hot_lead", "greeting"), "exactly once"),
    (("statuses", "restore", "hot_lead"), "not archived"),
    (("statuses", "delete", "new", "--track", "reply"), "new customers start"),
]


def test_bad_status_list_changes(fails, workspace):
    for args, expected in BAD_STATUS_LIST_CHANGES:
        assert expected in fails(*args), args


BAD_INPUT = [
    (("customers", "add", "Zed", "--phone", "12"), "not a phone number"),
    (("customers", "add", "Zed", "--identity", "fax:123"), "channel one of"),
    (("customers", "add", "Zed", "--phone", "(555) 123-4567"), "already belongs"),
    (("customers", "add", "  "), "needs a name"),
    (("customers", "list", "--status", "hto"), "did you mean"),
    (("customers", "list", "--track", "stage"), "--track needs --status"),
    (("customers", "show", "#999"), "no customer"),
    (("workspace", "create", "Bad Slug"), "lowercase"),
    (("workspace", "create", "acme"), "already"),
    (("workspace", "create", "shop", "--template", "bakery"), "unknown template"),
    (("workspace", "create", "shop", "--twilio-number", "call me"), "not a phone number"),
    (("workspace", "create", "shop", "--default-region", "XX"), "unknown region"),
    (("token", "create", "acme", "--role", "root"), "root"),
    (("token", "create", "nope", "--role", "admin"), "no workspace"),
    (("token", "revoke", "acme", "ghost"), "no active token"),
    (("intents", "assign", "no_such_intent", "hot"), "no intent"),
    (("intents", "assign", "ask_price", "stage:hto"), "did you mean"),
    (("intents", "unassign", "ask_price", "--track", "mood"), "no track"),
    (("intents", "reset", "no_such_intent"), "no intent"),
    (("set", "Grace"), "Missing argument"),
    (("frobnicate",), "No such command"),
]


def test_bad_input_is_one_line_and_stores_nothing(fails, ada):
    for args, expected in BAD_INPUT:
        assert expected in fails(*args), args


def test_a_mistake_after_a_partial_change_rolls_it_all_back(cli, fails, ada):
    # The customer would be created before the second identity is refused: the unit of work undoes it.
    fails("customers", "add", "Zed", "--phone", "5551112222", "--identity", "sms:5551234567")
    assert "no customer" in fails("customers", "show", "5551112222")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("STATUSHUB_PREPARED_STATEMENTS", "maybe", "must be on or off"),
        ("STATUSHUB_FOLD_DELAY_MS", "soon", "must be milliseconds from 0 to 10000"),
        ("STATUSHUB_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_changes_nothing(
    cli, engine, ada, variable, value, says
):
    before = snapshot(engine)
    for args in (("set", "Grace", "hot"), ("workspace", "admins", "list", "acme")):
        result = cli(*args, ok=False, env={variable: value})
        assert result.exit_code == 1, result.stdout
        assert result.stderr.splitlines() == [f"error: {variable} {says}, not {value!r}"]
    assert snapshot(engine) == before
