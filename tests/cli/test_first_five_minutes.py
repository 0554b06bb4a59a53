"""A new user's first five minutes on the command line, end to end (SPEC §7), and `init`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from plugin.store.db import make_engine
from plugin.store.schema import ApiToken, Customer, Workspace
from plugin.workspace.workspaces import authenticate_token


def test_first_five_minutes_from_init_to_the_priority_list(cli, engine):
    assert "up to date" in cli("init").stdout
    created = cli("workspace", "create", "acme", "--name", "Acme Store", "--twilio-number", "+15550001111")
    assert "created workspace acme" in created.stdout

    added = cli("customers", "add", "Ada Lovelace", "--phone", "(555) 123-4567")
    assert "sms:+15551234567" in added.stdout
    cli("customers", "add", "Grace Hopper", "--phone", "555 987 6543")

    changed = cli("set", "+1 555.123.4567", "hot", "--note", "asked for a quote")
    assert "👋 Greeting → 🔥 Hot Lead" in changed.stdout
    logged = cli("log", "5551234567", "vm", "--note", "no pickup")
    assert "📼 Left a Voicemail" in logged.stdout

    history = cli("history", "Ada", "--json")
    entries = [(e["track"], e["from"], e["to"], e["source"]) for e in json.loads(history.stdout)]
    assert entries == [
        ("stage", "greeting", "hot_lead", "manual"),
        ("outcome", "none", "left_voicemail", "activity"),
    ]
    assert "cli:" in cli("history", "Ada").stdout
    why = cli("why", "Ada").stdout
    assert "stage: 🔥 Hot Lead — manual" in why and "asked for a quote" in why
    assert "outcome: 📼 Left a Voicemail — activity" in why

    listed = json.loads(
        cli(
            "customers", "list", "--track", "stage", "--status", "hot_lead", "--sort", "priority", "--json"
        ).stdout
    )
    assert [c["name"] for c in listed] == ["Ada Lovelace"]
    assert listed[0]["statuses"]["stage"] == "hot_lead"


def test_init_twice_keeps_the_data(cli, engine):
    cli("workspace", "create", "acme")
    cli("customers", "add", "Ada", "--phone", "5551234567")
    cli("init")
    again = cli("init")
    assert "up to date" in again.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 1


def test_init_creates_a_sqlite_database_file_and_db_upgrade_is_idempotent(tmp_path, cli):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    created = cli("init", env={"STATUSHUB_DATABASE_URL": url})
    assert "created database" in created.stdout
    assert (tmp_path / "fresh.db").exists()
    assert "up to date" in cli("db", "upgrade", env={"STATUSHUB_DATABASE_URL": url}).stdout
    eng = make_engine(url)
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Workspace)).scalar_one() == 0
    eng.dispose()


def test_init_demo_fills_an_empty_database_once_and_prints_a_working_admin_token(cli, engine):
    out = cli("init", "--demo").stdout
    token = next(line for line in out.splitlines() if line.startswith("shub_"))
    assert "try next" in out
    with engine.connect() as conn:
        owner = authenticate_token(conn, token)
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
        stored = conn.execute(select(ApiToken.token_hash)).scalars().all()
    assert owner is not None and owner.role == "admin"
    assert customers > 0 and token not in stored
    assert "adds nothing" in cli("init", "--demo").stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Workspace)).scalar_one() == 1
