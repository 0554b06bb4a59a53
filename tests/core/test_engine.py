"""The status engine's promises (SPEC §3), by example, on the real rule packs and both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.customers.activities import log_activity, resolve_outcome
from plugin.domain.errors import ArchivedStatus, NotAllowed, StatushubError
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status
from plugin.engine.inbox import receive
from plugin.store.db import transaction
from plugin.store.schema import Customer, Message, OutboxItem, Status, StatusChange, StatusCommand
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for
from plugin.workspace.status_lists import delete_status, reorder_statuses, restore_status
from tests.conftest import at

ANN, BOB = "sms:+15550002001", "sms:+15550002002"


def deliver(engine, ws, text, minute, *, who=ANN, direction="inbound", pid=None):
    event = MessageEvent(
        ws,
        "sms",
        who,
        direction,
        "customer" if direction == "inbound" else "agent",
        text,
        pid or f"SM-{who}-{minute}-{direction}",
        at(minute),
    )
    with transaction(engine) as conn:
        return receive(conn, ws, [event], now=at(minute))[0]


def set_status(engine, ws, customer_id, name, *, note="", minute=30):
    with transaction(engine) as conn:
        catalog = load_catalog(conn, ws)
        return assign_status(
            conn,
            catalog,
            customer_id,
            catalog.resolve(name),
            actor="U0AGENT",
            note=note,
            classify=classifier_for(conn, catalog),
            now=at(minute),
        )


def log(engine, ws, customer_id, outcome, *, minute=30):
    with transaction(engine) as conn:
        catalog = load_catalog(conn, ws)
        return log_activity(
            conn,
            catalog,
            customer_id,
            resolve_outcome(catalog, outcome),
            interaction="call",
            actor="U0AGENT",
            classify=classifier_for(conn, catalog),
            now=at(minute),
        )


def statuses(engine, ws, customer_id):
    from plugin.engine import load_states

    with transaction(engine) as conn:
        return load_states(conn, load_catalog(conn, ws), [customer_id], lock=False)[customer_id].keys()


def audit(engine, ws, customer_id, track="stage"):
    with transaction(engine) as conn:
        return conn.execute(
            select(StatusChange)
            .where(
                StatusChange.workspace_id == ws,
                StatusChange.customer_id == customer_id,
                StatusChange.track == track,
            )
            .order_by(StatusChange.id)
        ).all()


def count(engine, table):
    with transaction(engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_new_customer_starts_on_the_first_status_of_every_track(engine, workspace):
    who = deliver(engine, workspace, "ok thanks", 1)
    assert statuses(engine, workspace, who.customer_id) == {
        "stage": "greeting",
        "reply": "in_progress",
        "outcome": "none",
        "attention": "active",
    }


def test_greeting_customer_asking_for_payment_info_becomes_hot_lead(engine, workspace):
    who = deliver(engine, workspace, "what are your payment options", 1)
    assert who.statuses["stage"] == "hot_lead"
    assert "request_payment_info" in who.intents
    [entry] = audit(engine, workspace, who.customer_id)
    assert (entry.from_status, entry.to_status, entry.applied) == ("greeting", "hot_lead", True)
    assert entry.source == "rule:request_payment_info" and entry.message_id == who.message_id
    assert count(engine, OutboxItem) == 1  # Hot Lead alerts the workspace


def test_hot_lead_is_not_downgraded_by_hello(engine, workspace):
    deliver(engine, workspace, "what are your payment options", 1)
    who = deliver(engine, workspace, "hello", 2)
    assert who.statuses["stage"] == "hot_lead"
    blocked = audit(engine, workspace, who.customer_id)[-1]
    assert (blocked.to_status, blocked.applied, blocked.source) == ("greeting", False, "rule:greeting")
    assert "upgrade only" in blocked.reason


def test_manual_changes_apply_up_and_down(engine, workspace):
    cid = deliver(engine, workspace, "what are your payment options", 1).customer_id
    set_status(engine, workspace, cid, "cold", minute=10)
    assert statuses(engine, workspace, cid)["stage"] == "cold_lead"
    set_status(engine, workspace, cid, "🎉", minute=11)
    assert statuses(engine, workspace, cid)["stage"] == "closed_won"
    manual = [e for e in audit(engine, workspace, cid) if e.source == "manual"]
    assert [(e.from_status, e.to_status, e.applied, e.actor) for e in manual] == [
        ("hot_lead", "cold_lead", True, "U0AGENT"),
        ("cold_lead", "closed_won", True, "U0AGENT"),
    ]


def test_reply_cannot_be_set_by_hand_and_nothing_is_stored(engine, workspace):
    cid = deliver(engine, workspace, "ok thanks", 1).customer_id
    before = count(engine, StatusChange)
    with pytest.raises(NotAllowed):
        set_status(engine, workspace, cid, "reply:no_reply")
    assert statuses(engine, workspace, cid)["reply"] == "in_progress"
    assert count(engine, StatusChange) == before and count(engine, StatusCommand) == 0


def test_attention_needs_a_note(engine, workspace):
    cid = deliver(engine, workspace, "ok thanks", 1).customer_id
    with pytest.raises(StatushubError) as error:
        set_status(engine, workspace, cid, "attention:vip", note="  ")
    assert error.value.field == "note"
    assert statuses(engine, workspace, cid)["attention"] == "active"
    assert count(engine, StatusCommand) == 0
    set_status(engine, workspace, cid, "attention:caution", note="shouted at staff")
    assert statuses(engine, workspace, cid)["attention"] == "caution"
    [entry] = audit(engine, workspace, cid, "attention")
    assert entry.note == "shouted at staff"


def test_outcomes_set_stage_as_manual_changes_whatever_the_policy(engine, workspace):
    cid = deliver(engine, workspace, "ok thanks", 1).customer_id
    log(engine, workspace, cid, "sold", minute=10)
    now = statuses(engine, workspace, cid)
    assert (now["outcome"], now["stage"]) == ("sold", "closed_won")
    # Closed Won is upgrade only, yet an agent's outcome moves the customer down to Hot Lead.
    log(engine, workspace, cid, "in-progress", minute=11)
    now = statuses(engine, workspace, cid)
    assert (now["outcome"], now["stage"]) == ("sale_in_progress", "hot_lead")
    last = audit(engine, workspace, cid)[-1]
    assert (last.from_status, last.to_status, last.source, last.applied) == (
        "closed_won",
        "hot_lead",
        "activity",
        True,
    )


def test_outcome_mapped_to_an_archived_stage_sets_only_the_outcome(engine, workspace):
    holder = deliver(engine, workspace, "ok thanks", 1, who=BOB).customer_id
    set_status(engine, workspace, holder, "passed", minute=2)
    with transaction(engine) as conn:
        assert delete_status(conn, load_catalog(conn, workspace), "stage", "passed", at(3)).archived
    cid = deliver(engine, workspace, "ok thanks", 4).customer_id
    log(engine, workspace, cid, "no-sale", minute=5)
    now = statuses(engine, workspace, cid)
    assert (now["outcome"], now["stage"]) == ("no_sale", "greeting")


def test_a_deleted_status_in_use_is_archived_and_purged_when_its_last_customer_leaves(engine, workspace):
    ann = deliver(engine, workspace, "ok thanks", 1).customer_id
    bob = deliver(engine, workspace, "ok thanks", 1, who=BOB).customer_id
    for cid in (ann, bob):
        set_status(engine, workspace, cid, "cold", minute=2)
    with transaction(engine) as conn:
        deletion = delete_status(conn, load_catalog(conn, workspace), "stage", "cold_lead", at(3))
    assert (deletion.archived, deletion.customers) == (True, 2)
    with pytest.raises(ArchivedStatus):
        set_status(engine, workspace, ann, "stage:cold_lead", minute=4)
    deliver(engine, workspace, "what are your payment options", 5)  # Ann leaves by automation
    assert statuses(engine, workspace, bob)["stage"] == "cold_lead"  # customers keep it
    assert stage_keys(engine, workspace).count("cold_lead") == 1
    set_status(engine, workspace, bob, "hot", minute=6)  # the last customer leaves
    assert "cold_lead" not in stage_keys(engine, workspace)


def test_a_deleted_status_nobody_holds_is_gone_at_once(engine, workspace):
    with transaction(engine) as conn:
        deletion = delete_status(conn, load_catalog(conn, workspace), "stage", "cold_lead", at(1))
    assert not deletion.archived
    assert "cold_lead" not in stage_keys(engine, workspace)


def test_a_restored_status_is_assignable_again(engine, workspace):
    bob = deliver(engine, workspace, "ok thanks", 1, who=BOB).customer_id
    set_status(engine, workspace, bob, "cold", minute=2)
    ann = deliver(engine, workspace, "ok thanks", 3).customer_id
    with transaction(engine) as conn:
        delete_status(conn, load_catalog(conn, workspace), "stage", "cold_lead", at(4))
    with pytest.raises(ArchivedStatus):
        set_status(engine, workspace, ann, "stage:cold_lead", minute=5)
    with transaction(engine) as conn:
        restore_status(conn, load_catalog(conn, workspace), "stage", "cold_lead")
    set_status(engine, workspace, ann, "stage:cold_lead", minute=6)
    assert statuses(engine, workspace, ann)["stage"] == "cold_lead"


def test_reorder_changes_what_counts_as_an_upgrade(engine, workspace):
    cid = deliver(engine, workspace, "what are your payment options", 1).customer_id
    assert deliver(engine, workspace, "how much is it", 2).statuses["stage"] == "hot_lead"
    with transaction(engine) as conn:
        order = ["greeting", "hot_lead", "cold_lead", "closed_won", "passed"]
        reorder_statuses(conn, load_catalog(conn, workspace), "stage", order)
    assert deliver(engine, workspace, "how much is it", 3).statuses["stage"] == "cold_lead"
    assert audit(engine, workspace, cid)[-1].reason == "upgrade"


def test_a_late_message_is_replayed_in_place_without_moving_anyone_by_itself(engine, workspace):
    """Reordering moves no customer: a replay starts where the customer really started."""
    cid = deliver(engine, workspace, "ok thanks", 10).customer_id
    with transaction(engine) as conn:
        order = ["cold_lead", "greeting", "hot_lead", "closed_won", "passed"]
        reorder_statuses(conn, load_catalog(conn, workspace), "stage", order)
    deliver(engine, workspace, "ok thanks", 5)
    assert statuses(engine, workspace, cid)["stage"] == "greeting"


def test_the_latest_message_by_provider_time_sets_reply(engine, workspace):
    cid = deliver(engine, workspace, "we have it in blue", 10, direction="outbound").customer_id
    late = deliver(engine, workspace, "ok thanks", 5)
    assert late.statuses["reply"] == "no_reply"
    deliver(engine, workspace, "ok thanks", 11)
    assert statuses(engine, workspace, cid)["reply"] == "in_progress"


def test_a_duplicate_delivery_changes_nothing(engine, workspace):
    first = deliver(engine, workspace, "what are your payment options", 1, pid="SM1")
    changes = count(engine, StatusChange)
    again = deliver(engine, workspace, "what are your payment options", 1, pid="SM1")
    assert (again.duplicate, again.message_id, first.duplicate) == (True, first.message_id, False)
    assert count(engine, Message) == 1 and count(engine, StatusChange) == changes


def test_a_second_copy_in_the_same_batch_is_a_duplicate(engine, workspace):
    event = MessageEvent(workspace, "sms", ANN, "inbound", "customer", "hello", "SM9", at(1))
    with transaction(engine) as conn:
        first, second = receive(conn, workspace, [event, event], now=at(1))
    assert (first.duplicate, second.duplicate) == (False, True)
    assert count(engine, Message) == 1


@pytest.mark.parametrize("text", ["STOP", "  stop. ", "Unsubscribe!", "QUIT"])
def test_a_stop_message_opts_out_and_start_opts_back_in(engine, workspace, text):
    cid = deliver(engine, workspace, text, 1).customer_id
    assert opted_out(engine, workspace, cid)
    deliver(engine, workspace, "START", 2)
    assert not opted_out(engine, workspace, cid)


def test_stop_please_is_a_message_not_an_opt_out(engine, workspace):
    who = deliver(engine, workspace, "stop please", 1)
    assert not opted_out(engine, workspace, who.customer_id)
    assert count(engine, Message) == 1


def test_a_provider_flagged_opt_out_counts_even_without_a_keyword(engine, workspace):
    event = MessageEvent(workspace, "sms", ANN, "inbound", "customer", "bye", "SM7", at(1), opt="out")
    with transaction(engine) as conn:
        [who] = receive(conn, workspace, [event], now=at(1))
    assert opted_out(engine, workspace, who.customer_id)


def opted_out(engine, ws, customer_id):
    with transaction(engine) as conn:
        return conn.execute(
            select(Customer.opted_out).where(Customer.workspace_id == ws, Customer.id == customer_id)
        ).scalar_one()


def stage_keys(engine, ws):
    with transaction(engine) as conn:
        return list(
            conn.execute(
                select(Status.key).where(Status.workspace_id == ws).order_by(Status.position)
            ).scalars()
        )


def test_a_provider_flagged_opt_out_survives_the_replay_of_a_late_message(engine, workspace):
    flagged = MessageEvent(workspace, "sms", ANN, "inbound", "customer", "bye", "SM7", at(5), opt="out")
    with transaction(engine) as conn:
        [who] = receive(conn, workspace, [flagged], now=at(5))
    # Older than the opt-out, so it is folded in again in time order with everything stored.
    deliver(engine, workspace, "hello", 2)
    assert opted_out(engine, workspace, who.customer_id)
    with transaction(engine) as conn:
        stored = conn.execute(select(Message.opt).where(Message.provider_id == "SM7")).scalar_one()
    assert stored == "out"


def test_a_workspace_in_another_database_never_lends_its_catalog(engine, workspace, tmp_path):
    """Same workspace id and catalog version in two databases (a test run, a CLI pointed elsewhere):
    each keeps its own statuses. Sharing them put customers on another database's archived statuses."""
    from plugin.store.db import make_engine, upgrade
    from plugin.workspace.workspaces import create_workspace

    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = make_engine(other_url)
    with transaction(other) as conn:
        other_ws = create_workspace(conn, "acme", template="service", now=at(0))
        other_stage = [s.key for s in load_catalog(conn, other_ws).tracks["stage"].statuses]
    other.dispose()
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
    stage = [s.key for s in catalog.tracks["stage"].statuses]
    assert other_ws == workspace and catalog.version == 1
    assert "greeting" in stage and "greeting" not in other_stage
