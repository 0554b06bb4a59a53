"""Retention (SPEC §8): `statushub prune` deletes old messages and idempotency records in batches,
keeps audit entries and statuses, and a replay after it ends where it would have without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from plugin.app.settings import Settings
from plugin.automation.retention import prune, prune_due
from plugin.cli import main
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status
from plugin.engine.inbox import receive
from plugin.store.db import reading, transaction
from plugin.store.idempotency import remember
from plugin.store.schema import Customer, Delivery, Message, RetentionCheckpoint, StatusChange
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for
from plugin.workspace.workspaces import create_workspace

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ANN, BOB = "sms:+15550002001", "sms:+15550002002"


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def event(ws: int, text: str, when: datetime, *, who=ANN, direction="inbound", pid=None) -> MessageEvent:
    sender = "customer" if direction == "inbound" else "agent"
    return MessageEvent(ws, "sms", who, direction, sender, text, pid or f"SM{who}{when.isoformat()}", when)


def deliver(engine, ws: int, text: str, when: datetime, **kw):
    with transaction(engine) as conn:
        return receive(conn, ws, [event(ws, text, when, **kw)], now=max(when, days_ago(0)))[0]


def statuses(engine, ws: int, who=ANN) -> dict[str, str]:
    from plugin.engine import customer_of_identity, load_states

    with reading(engine) as conn:
        catalog = load_catalog(conn, ws)
        cid = customer_of_identity(conn, ws, who)
        return load_states(conn, catalog, [cid], lock=False)[cid].keys()


def count(engine, model, **where) -> int:
    with reading(engine) as conn:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return conn.execute(query).scalar_one()


def history(engine, workspace) -> None:
    """Ann: paid-attention Hot Lead 500 days ago, agent answers, an opt-out and back 450 days ago, a
    manual VIP 420 days ago, "hello" 10 days ago (a Hot Lead stays Hot). Bob: only recent messages."""
    deliver(engine, workspace, "can I pay by bank transfer?", days_ago(500))
    deliver(engine, workspace, "sure, here are the details", days_ago(499), direction="outbound")
    deliver(engine, workspace, "STOP", days_ago(450))
    deliver(engine, workspace, "START", days_ago(449))
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        from plugin.engine import customer_of_identity

        cid = customer_of_identity(conn, workspace, ANN)
        assign_status(conn, catalog, cid, catalog.status("attention", "vip"), actor="cli:ann", note="big buyer",
                      classify=classifier_for(conn, catalog), now=days_ago(420))  # fmt: skip
    deliver(engine, workspace, "hello", days_ago(10))
    deliver(engine, workspace, "hi there", days_ago(5), who=BOB)


def test_prune_deletes_old_messages_and_keeps_statuses_and_every_audit_entry(engine, workspace):
    history(engine, workspace)
    before, audit = statuses(engine, workspace), count(engine, StatusChange)
    assert before["stage"] == "hot_lead" and before["attention"] == "vip"
    [done] = prune(engine, timedelta(days=400), now=NOW)
    assert done.messages == 4 and done.workspace == "acme"
    assert count(engine, Message) == 2  # Ann's "hello" and Bob's
    assert statuses(engine, workspace) == before and count(engine, StatusChange) == audit
    assert count(engine, RetentionCheckpoint) == 1
    assert prune(engine, timedelta(days=400), now=NOW)[0].messages == 0  # nothing older is left


@pytest.mark.parametrize("budget", [1000, 1])
def test_a_late_message_after_a_prune_ends_where_it_would_have_without_it(engine, workspace, budget):
    history(engine, workspace)
    late = event(workspace, "hello", days_ago(300), pid="SM-late")
    # What the late message does to the whole history, in a transaction rolled back.
    with engine.connect() as conn, conn.begin() as tx:
        receive(conn, workspace, [late], now=NOW)
        catalog = load_catalog(conn, workspace)
        from plugin.engine import customer_of_identity, load_states

        cid = customer_of_identity(conn, workspace, ANN)
        expected = load_states(conn, catalog, [cid], lock=False)[cid].keys()
        tx.rollback()
    assert expected["stage"] == "hot_lead"  # the pruned Hot Lead message still counts
    prune(engine, timedelta(days=400), now=NOW, budget=budget)
    with transaction(engine) as conn:
        receive(conn, workspace, [late], now=NOW)
    assert statuses(engine, workspace) == expected


def test_a_customer_with_more_old_messages_than_a_batch_is_pruned_in_several(engine, workspace):
    for n in range(7):  # two share a time: a batch never splits one moment
        deliver(engine, workspace, f"message {n}", days_ago(600 - min(n, 5)), pid=f"SM-{n}")
    deliver(engine, workspace, "can I pay by bank transfer?", days_ago(550))
    before = statuses(engine, workspace)
    [done] = prune(engine, timedelta(days=400), now=NOW, budget=3)
    assert done.messages == 8 and count(engine, Message) == 0
    assert statuses(engine, workspace) == before
    with reading(engine) as conn:
        [checkpoint] = conn.execute(select(RetentionCheckpoint)).all()
    assert checkpoint.pruned == 8 and checkpoint.state["statuses"]["stage"][0] == "hot_lead"


def test_a_dry_run_counts_and_deletes_nothing(engine, workspace):
    history(engine, workspace)
    with transaction(engine) as conn:
        remember(conn, workspace, "webchat", "evt-old", 200, "{}", days_ago(401))
    [done] = prune(engine, timedelta(days=400), now=NOW, dry_run=True)
    assert (done.messages, done.idempotency_records) == (4, 1)
    assert count(engine, Message) == 6 and count(engine, Delivery) == 1
    assert count(engine, RetentionCheckpoint) == 0


def test_old_idempotency_records_go_and_recent_ones_stay(engine, workspace):
    with transaction(engine) as conn:
        for n in range(5):
            remember(conn, workspace, "webchat", f"evt-old-{n}", 200, "{}", days_ago(401))
        remember(conn, workspace, "webchat", "evt-new", 200, "{}", days_ago(1))
    [done] = prune(engine, timedelta(days=400), now=NOW, budget=2)
    assert done.idempotency_records == 5
    with reading(engine) as conn:
        assert conn.execute(select(Delivery.key)).scalars().all() == ["evt-new"]


def test_pruning_one_workspace_leaves_the_others(engine, workspace):
    with transaction(engine) as conn:
        other = create_workspace(conn, "other", name="Other", twilio_number="+15550009999", now=NOW)
    deliver(engine, workspace, "hello", days_ago(500))
    deliver(engine, other, "hello", days_ago(500))
    [done] = prune(engine, timedelta(days=400), workspace_ids=[workspace], now=NOW)
    assert done.messages == 1
    assert (
        count(engine, Message, workspace_id=other) == 1
        and count(engine, Message, workspace_id=workspace) == 0
    )
    assert {p.workspace for p in prune(engine, timedelta(days=400), now=NOW)} == {"acme", "other"}


def test_a_customer_page_still_counts_their_statuses_after_a_prune(engine, workspace):
    history(engine, workspace)
    prune(engine, timedelta(days=400), now=NOW)
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


def test_the_worker_prunes_each_workspace_once_a_day(engine, workspace):
    deliver(engine, workspace, "hello", days_ago(500))
    assert prune_due(engine, NOW, days=None) == []
    assert [p.messages for p in prune_due(engine, NOW, days=400)] == [1]
    deliver(engine, workspace, "hi", days_ago(450))
    assert prune_due(engine, NOW + timedelta(hours=23), days=400) == []  # pruned today already
    assert [p.messages for p in prune_due(engine, NOW + timedelta(days=1), days=400)] == [1]


def test_the_command_prunes_counts_and_refuses_bad_durations(db_url, engine, workspace, monkeypatch):
    monkeypatch.setenv("STATUSHUB_DATABASE_URL", db_url)
    deliver(engine, workspace, "hello", datetime.now(UTC) - timedelta(days=500))
    runner = CliRunner()
    dry = runner.invoke(main, ["prune", "--older-than", "400d", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert '"messages": 1' in dry.output and count(engine, Message) == 1
    for bad in ("0d", "400", "3651d", "-1d", "400 days"):
        result = runner.invoke(main, ["prune", "--older-than", bad])
        assert result.exit_code != 0 and "older-than" in result.output, (bad, result.output)
    unknown = runner.invoke(main, ["prune", "--older-than", "400d", "--workspace", "nope"])
    assert unknown.exit_code != 0 and count(engine, Message) == 1
    done = runner.invoke(main, ["prune", "--older-than", "400d", "--workspace", "acme"])
    assert done.exit_code == 0 and count(engine, Message) == 0


@pytest.mark.parametrize("value", ["abc", "0", "3651", "-5", "1e3", "99999999999999"])
def test_a_bad_retention_setting_is_refused_at_start(value):
    with pytest.raises(ValueError, match="STATUSHUB_RETENTION_DAYS"):
        Settings.from_env({"STATUSHUB_RETENTION_DAYS": value})


def test_a_retention_setting_in_days_is_read():
    assert Settings.from_env({"STATUSHUB_RETENTION_DAYS": "400"}).retention_days == 400
    assert Settings.from_env({}).retention_days is None


def test_a_message_older_than_the_cutoff_arriving_during_a_batch_leaves_its_customer_to_the_next(
    engine, workspace
):
    from plugin.engine import apply_batch, plan_batch

    deliver(engine, workspace, "can I pay by bank transfer?", days_ago(500))
    deliver(engine, workspace, "hi there", days_ago(500), who=BOB)
    with reading(engine) as conn:
        catalog = load_catalog(conn, workspace)
        plan = plan_batch(conn, catalog, classifier_for(conn, catalog), days_ago(400))
    deliver(engine, workspace, "not interested anymore", days_ago(450))  # Ann's, folded by no plan
    with transaction(engine) as conn:
        assert apply_batch(conn, catalog, plan, NOW) == 1  # Bob's only
    assert count(engine, Message) == 2
    before = statuses(engine, workspace)
    assert prune(engine, timedelta(days=400), now=NOW)[0].messages == 2
    assert statuses(engine, workspace) == before and count(engine, Message) == 0


PROPERTY_TEXTS = ["hello", "what are your payment options", "how much is it", "not interested",
                  "I want to buy it", "ok thanks", "STOP", "START"]  # fmt: skip
_property_slugs = iter(range(10**6))


@given(
    history=st.lists(
        st.tuples(
            st.integers(0, 900), st.sampled_from(PROPERTY_TEXTS), st.sampled_from(["inbound", "outbound"])
        ),
        min_size=1,
        max_size=10,
    ),
    manual_at=st.one_of(st.none(), st.integers(0, 900)),
    manual_to=st.sampled_from(["cold_lead", "hot_lead", "passed"]),
    cutoff=st.integers(1, 900),
    late_at=st.integers(0, 900),
    late_text=st.sampled_from(PROPERTY_TEXTS),
    budget=st.sampled_from([1, 2, 1000]),
)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_history_pruned_at_any_time_replays_a_late_kept_message_as_if_nothing_was_pruned(
    engine, history, manual_at, manual_to, cutoff, late_at, late_text, budget
):
    """Random messages (and maybe a manual change) over 900 days, pruned at a random day, then a late
    message at a random earlier day: the statuses equal those of the same late message on the unpruned
    history (computed first, in a transaction rolled back), unless it is older than what was pruned."""
    with transaction(engine) as conn:
        ws = create_workspace(conn, f"prune-{next(_property_slugs)}", now=NOW)
    for n, (day, text_, direction) in enumerate(sorted(history)):
        deliver(engine, ws, text_, days_ago(1000 - day), direction=direction, pid=f"SM-{n}")
        if manual_at is not None and n == 0:
            from plugin.engine import customer_of_identity

            with transaction(engine) as conn:
                catalog = load_catalog(conn, ws)
                cid = customer_of_identity(conn, ws, ANN)
                assign_status(conn, catalog, cid, catalog.status("stage", manual_to), actor="cli:ann",
                              classify=classifier_for(conn, catalog), now=days_ago(1000 - manual_at))  # fmt: skip
    newest = max(day for day, _, _ in history)
    late = event(ws, late_text, days_ago(1000 - min(late_at, newest)), pid="SM-late")
    with engine.connect() as conn, conn.begin() as tx:
        receive(conn, ws, [late], now=NOW)
        expected = _statuses_in(conn, ws)
        tx.rollback()
    prune(engine, timedelta(days=1000 - cutoff), workspace_ids=[ws], now=NOW, budget=budget)
    with reading(engine) as conn:
        pruned = _statuses_in(conn, ws)
    with transaction(engine) as conn:
        receive(conn, ws, [late], now=NOW)
        after = _statuses_in(conn, ws)
    settled = any(day < cutoff for day, _, _ in history) and min(late_at, newest) < cutoff
    # A late message within the kept history replays as if nothing was pruned; one from the pruned
    # past (older than the customer's checkpoint) is stored and changes nothing.
    assert after == (pruned if settled else expected)


def _statuses_in(conn, ws: int) -> dict[str, str]:
    from plugin.engine import customer_of_identity, load_states

    catalog = load_catalog(conn, ws)
    cid = customer_of_identity(conn, ws, ANN)
    return load_states(conn, catalog, [cid], lock=False)[cid].keys()
