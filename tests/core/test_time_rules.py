"""Time rules fire when due, once per stay, as automatic changes under the policy (SPEC §9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.automation.time_rules import (
    InvalidRule,
    add_rule,
    evaluate_time_rules,
    list_rules,
    parse_duration,
)
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status, load_states
from plugin.engine.inbox import receive
from plugin.store.db import reading, transaction
from plugin.store.schema import StatusChange, TimeRuleDecision
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

T0 = at(0)


def message(ws: int, direction: str, when, n: int, phone: str = "+15551230001") -> MessageEvent:
    sender = "customer" if direction == "inbound" else "bot"
    return MessageEvent(ws, "sms", f"sms:{phone}", direction, sender, "hello there", f"SM{n}", when)


def greet(engine, ws: int, when=T0, n: int = 1) -> int:
    """A customer we greeted and who has not answered: stage greeting, reply no_reply since `when`."""
    with transaction(engine) as conn:
        return receive(conn, ws, [message(ws, "outbound", when, n)], now=when)[0].customer_id


def stage_of(engine, ws: int, customer_id: int) -> str:
    with reading(engine) as conn:
        return load_states(conn, load_catalog(conn, ws), [customer_id], lock=False)[customer_id].statuses[
            "stage"
        ][0]


def time_entries(engine, customer_id: int) -> list:
    with reading(engine) as conn:
        return conn.execute(
            select(StatusChange)
            .where(StatusChange.customer_id == customer_id, StatusChange.source.like("time:%"))
            .order_by(StatusChange.id)
        ).all()


def test_the_online_store_template_ships_its_two_default_rules(engine, workspace):
    with transaction(engine) as conn:
        rules = {r.name: r.as_dict() for r in list_rules(conn, workspace, T0)}
    assert rules == {
        "greeting_unanswered": {
            "id": rules["greeting_unanswered"]["id"],
            "name": "greeting_unanswered",
            "when": {"stage": "greeting", "reply": "no_reply"},
            "after": "2d",
            "to": "stage:cold_lead",
        },
        "cold_lead_expires": {
            "id": rules["cold_lead_expires"]["id"],
            "name": "cold_lead_expires",
            "when": {"stage": "cold_lead"},
            "after": "30d",
            "to": "stage:passed",
        },
    }


def test_an_unanswered_greeting_turns_cold_exactly_after_48_hours_and_only_once(engine, workspace):
    cid = greet(engine, workspace)
    due = T0 + timedelta(hours=48)
    assert evaluate_time_rules(engine, due - timedelta(minutes=1)) == 0
    assert stage_of(engine, workspace, cid) == "greeting"
    assert evaluate_time_rules(engine, due + timedelta(minutes=3)) == 1
    assert stage_of(engine, workspace, cid) == "cold_lead"
    [entry] = time_entries(engine, cid)
    assert (entry.source, entry.from_status, entry.to_status, entry.applied) == (
        "time:greeting_unanswered",
        "greeting",
        "cold_lead",
        True,
    )
    assert due.isoformat() in entry.note  # the entry records when the rule became due
    assert entry.actor == "system"
    assert evaluate_time_rules(engine, due + timedelta(hours=1)) == 0
    assert len(time_entries(engine, cid)) == 1


def test_a_cold_lead_passes_after_30_days_in_cold_lead_not_30_days_after_the_greeting(engine, workspace):
    cid = greet(engine, workspace)
    cold_at = T0 + timedelta(hours=49)
    evaluate_time_rules(engine, cold_at)
    assert evaluate_time_rules(engine, cold_at + timedelta(days=30) - timedelta(minutes=1)) == 0
    assert stage_of(engine, workspace, cid) == "cold_lead"
    assert evaluate_time_rules(engine, cold_at + timedelta(days=30)) == 1
    assert stage_of(engine, workspace, cid) == "passed"
    assert [e.source for e in time_entries(engine, cid)] == [
        "time:greeting_unanswered",
        "time:cold_lead_expires",
    ]


def test_an_answer_before_the_rule_is_due_stops_it(engine, workspace):
    cid = greet(engine, workspace)
    with transaction(engine) as conn:
        receive(conn, workspace, [message(workspace, "inbound", T0 + timedelta(hours=47), 2)], now=T0)
    assert evaluate_time_rules(engine, T0 + timedelta(hours=60)) == 0
    assert stage_of(engine, workspace, cid) == "greeting"


def test_a_rule_fires_again_in_a_new_stay(engine, workspace, catalog):
    cid = greet(engine, workspace)
    evaluate_time_rules(engine, T0 + timedelta(hours=48))
    back = T0 + timedelta(hours=50)
    with transaction(engine) as conn:
        assign_status(conn, catalog, cid, catalog.status("stage", "greeting"), actor="cli:ann",
                      classify=classifier_for(conn, catalog), now=back)  # fmt: skip
        receive(conn, workspace, [message(workspace, "outbound", back, 3)], now=back)
    assert evaluate_time_rules(engine, back + timedelta(hours=47)) == 0
    assert evaluate_time_rules(engine, back + timedelta(hours=48)) == 1
    assert [e.to_status for e in time_entries(engine, cid)] == ["cold_lead", "cold_lead"]
    with reading(engine) as conn:
        assert len(conn.execute(select(TimeRuleDecision)).all()) == 2


def test_a_rule_never_downgrades_past_the_policy_and_its_block_is_audited_once(engine, workspace, catalog):
    cid = greet(engine, workspace)
    with transaction(engine) as conn:
        add_rule(conn, catalog, "hot_cools", ["stage:hot_lead"], "1d", "stage:cold_lead", T0)
        assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor="cli:ann",
                      classify=classifier_for(conn, catalog), now=T0)  # fmt: skip
    assert evaluate_time_rules(engine, T0 + timedelta(days=1)) == 1
    assert evaluate_time_rules(engine, T0 + timedelta(days=2)) == 0
    assert stage_of(engine, workspace, cid) == "hot_lead"
    [entry] = time_entries(engine, cid)
    assert (entry.source, entry.applied) == ("time:hot_cools", False)
    assert "upgrade only" in entry.reason


def test_each_workspace_has_its_own_rules(engine, workspace):
    from plugin.workspace.workspaces import create_workspace

    with transaction(engine) as conn:
        other = create_workspace(conn, "other", name="Other", now=T0)
        catalog = load_catalog(conn, other)
        add_rule(conn, catalog, "quick", ["stage:greeting"], "15m", "stage:cold_lead", T0)
    cid = greet(engine, workspace)
    assert evaluate_time_rules(engine, T0 + timedelta(minutes=20)) == 0
    assert stage_of(engine, workspace, cid) == "greeting"


@pytest.mark.parametrize(
    "text", ["", "0m", "15", "15s", "-1h", "1.5h", "h", "3651d", "740000d", "99999999999999999999m"]
)
def test_a_bad_duration_is_refused(text):
    with pytest.raises(InvalidRule):
        parse_duration(text)


def test_durations_are_minutes_hours_or_days():
    assert [parse_duration(t) for t in ("15m", "48h", "30d", "1m", "3650d")] == [15, 2880, 43200, 1, 5256000]


def test_a_rule_stored_with_an_impossible_duration_stops_only_itself(engine, workspace, catalog):
    """One workspace's poisoned rule (stored before durations were bounded) must not stop the worker
    for everyone: the other workspaces' rules still fire (SPEC §12)."""
    from sqlalchemy import update

    from plugin.store.schema import TimeRule
    from plugin.workspace.workspaces import create_workspace

    with transaction(engine) as conn:
        poisoned = create_workspace(conn, "poisoned", name="Poisoned", now=T0)
        add_rule(
            conn, load_catalog(conn, poisoned), "broken", ["stage:greeting"], "15m", "stage:cold_lead", T0
        )
        conn.execute(
            update(TimeRule)
            .where(TimeRule.workspace_id == poisoned, TimeRule.name == "broken")
            .values(after_minutes=740000 * 1440)
        )
    bad = greet(engine, poisoned, n=2)
    good = greet(engine, workspace)
    assert evaluate_time_rules(engine, T0 + timedelta(hours=49)) == 2
    assert stage_of(engine, workspace, good) == "cold_lead"
    assert stage_of(engine, poisoned, bad) == "cold_lead"  # its default rule still fires


def test_every_template_ships_default_rules_that_name_its_own_statuses():
    from plugin.automation.time_rules import default_rules, parse_duration
    from plugin.domain.templates import TEMPLATES, known_statuses

    defaults = default_rules()
    assert set(defaults) == set(TEMPLATES)
    for template, rules_of_template in defaults.items():
        known = known_statuses(template)
        for rule in rules_of_template:
            assert parse_duration(rule["after"]) >= 1
            track, status = rule["to"].split(":", 1)
            assert status in known[track], (template, rule["name"])
            assert all(key in known[t] for t, key in rule["when"].items()), (template, rule["name"])


def test_a_customer_created_by_an_old_message_entered_greeting_at_its_provider_time(engine, workspace):
    """SPEC §3: the first statuses date from the message that created the customer, so a greeting
    answered by nobody for 73 h (delivered late, or imported) turns cold at the next run."""
    with transaction(engine) as conn:
        [recorded] = receive(
            conn, workspace, [message(workspace, "outbound", T0, 1)], now=T0 + timedelta(hours=73)
        )
    assert evaluate_time_rules(engine, T0 + timedelta(hours=73, minutes=1)) == 1
    assert stage_of(engine, workspace, recorded.customer_id) == "cold_lead"


def test_the_batch_path_dates_new_customers_from_their_first_message_too(engine, workspace):
    late = [
        message(workspace, "outbound", T0 + timedelta(minutes=n), n, phone=f"+1555123{n:04d}")
        for n in range(3)
    ]
    with transaction(engine) as conn:
        recorded = receive(conn, workspace, late, now=T0 + timedelta(hours=73))
    assert evaluate_time_rules(engine, T0 + timedelta(hours=73)) == 3
    assert {stage_of(engine, workspace, r.customer_id) for r in recorded} == {"cold_lead"}
