"""An SMS conversation through the real app: intents move the stage, the reply track follows (SPEC §3)."""

from __future__ import annotations

from sqlalchemy import select

from plugin.store.db import transaction
from plugin.store.schema import StatusChange
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import assign_intent
from tests.adapters.sms.conftest import inbound_form, post_inbound
from tests.adapters.sms.test_inbound import statuses_of


def test_conversation_walks_greeting_cold_lead_hot_lead_and_stays_hot_on_thanks(client, engine, workspace):
    # Make the path explicit whatever the pack's defaults become.
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        assign_intent(conn, catalog, "ask_price", "stage:cold_lead")
        assign_intent(conn, load_catalog(conn, workspace), "request_payment_info", "stage:hot_lead")
    steps = [
        ("hi there", "greeting"),
        ("how much is the blue one?", "cold_lead"),
        ("how can I pay?", "hot_lead"),
        ("ok thanks", "hot_lead"),
        ("hello", "hot_lead"),  # a Hot Lead who says hello stays Hot Lead
    ]
    for i, (text, stage) in enumerate(steps):
        assert post_inbound(client, inbound_form(f"SM{i}", text)).status_code == 200
        assert statuses_of(client, engine)["stage"] == stage, text
    with engine.connect() as conn:
        changes = conn.execute(
            select(StatusChange.to_status, StatusChange.source, StatusChange.applied)
            .where(StatusChange.track == "stage")
            .order_by(StatusChange.id)
        ).all()
    applied = [(to, source) for to, source, ok in changes if ok]
    assert applied == [("cold_lead", "rule:ask_price"), ("hot_lead", "rule:request_payment_info")]
    assert ("greeting", "rule:greeting", False) in changes  # the blocked downgrade is on record
