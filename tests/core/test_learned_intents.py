"""The learned classifier behind the rules: assigns above the threshold, suggests below, goes through
the automation policy, learns from corrections, survives a corrupt stored model (SPEC §4)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.domain.errors import NotFound, StatushubError
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status, load_states, receive
from plugin.store.db import reading, transaction
from plugin.store.schema import IntentCorrection, IntentModel, Message, StatusChange, Workspace
from plugin.workspace.catalog import load_catalog
from plugin.workspace.context import CommandContext
from plugin.workspace.intent_model import (
    RETRAIN_AFTER,
    correct_intent,
    list_corrections,
    retrain_due,
    train_workspace,
)
from plugin.workspace.intents import classifier_for
from tests.conftest import at

# Made-up words no pack and no corpus holds: only the workspace's corrections can teach them.
PHRASE = "zorblax wubbly flenn"
GREETING = "quorvish plimby dax"
# What the tests teach, all in one training: equal corrections fit once per process (rules.training),
# and a fit of the shipped corpus takes tens of seconds on a small machine.
LESSONS = ((PHRASE, "payment_sent"), (GREETING, "greeting"))


def inbound(ws: int, text: str, n: int, phone: str = "+15551230001", minute: int = 0) -> MessageEvent:
    return MessageEvent(ws, "sms", f"sms:{phone}", "inbound", "customer", text, f"SM{n}", at(minute))


def send(engine, ws: int, *events: MessageEvent):
    with transaction(engine) as conn:
        return receive(conn, ws, list(events), now=at(59))


def stage_of(engine, ws: int, customer_id: int) -> str:
    with reading(engine) as conn:
        state = load_states(conn, load_catalog(conn, ws), [customer_id], lock=False)[customer_id]
    return state.statuses["stage"][0]


def classify(engine, ws: int, text: str):
    with reading(engine) as conn:
        return classifier_for(conn, load_catalog(conn, ws))(text, "sms", {})


def set_threshold(engine, ws: int, value: float | None) -> None:
    with transaction(engine) as conn:
        settings = dict(conn.execute(select(Workspace.settings).where(Workspace.id == ws)).scalar() or {})
        settings["intent_threshold"] = value
        conn.execute(
            update(Workspace)
            .where(Workspace.id == ws)
            .values(settings=settings, catalog_version=Workspace.catalog_version + 1)
        )


def teach(engine, ws: int) -> None:
    """For each of LESSONS, three customers write its text; an agent corrects each message to its
    intent; then the model retrains."""
    n = 900
    for text, intent in LESSONS:
        for _ in range(3):
            [recorded] = send(engine, ws, inbound(ws, text, n, phone=f"+155599{n:05d}"))
            n += 1
            with transaction(engine) as conn:
                correct_intent(
                    CommandContext(conn, load_catalog(conn, ws), "dana", at(1)), recorded.message_id, intent
                )
    train_workspace(engine, ws, at(2))


def changes(engine, customer_id: int) -> list:
    with reading(engine) as conn:
        return conn.execute(
            select(StatusChange)
            .where(StatusChange.customer_id == customer_id, StatusChange.track == "stage")
            .order_by(StatusChange.id)
        ).all()


@pytest.mark.slow  # trains a model
def test_three_corrections_of_a_new_phrase_then_training_classify_it_as_corrected(engine, workspace):
    for text, intent in LESSONS:
        before = classify(engine, workspace, text)
        assert before.source != "model" or before.intents[0] != intent
    teach(engine, workspace)
    for text, intent in LESSONS:
        after = classify(engine, workspace, text)
        assert after.source == "model"
        assert after.intents[0] == intent


@pytest.mark.slow  # trains a model
def test_the_model_assigns_above_the_threshold_and_only_suggests_below(engine, workspace):
    teach(engine, workspace)
    confidence = classify(engine, workspace, PHRASE).confidence
    assert confidence is not None

    set_threshold(engine, workspace, min(1.0, confidence + 0.01))
    [below] = send(engine, workspace, inbound(workspace, PHRASE, 1))
    assert stage_of(engine, workspace, below.customer_id) == "greeting"
    with reading(engine) as conn:
        stored = conn.execute(select(Message.intents).where(Message.id == below.message_id)).scalar()
    assert stored[0] == "payment_sent"  # kept as a suggestion
    assert changes(engine, below.customer_id) == []

    set_threshold(engine, workspace, max(0.01, confidence - 0.01))
    [above] = send(engine, workspace, inbound(workspace, PHRASE, 2, phone="+15551230002"))
    assert stage_of(engine, workspace, above.customer_id) == "closed_won"
    [entry] = changes(engine, above.customer_id)
    assert entry.source == "model:payment_sent"
    assert entry.confidence == pytest.approx(confidence)
    assert entry.applied


@pytest.mark.slow  # trains a model
def test_a_hot_lead_the_model_reads_as_greeting_stays_hot_and_the_block_is_audited(engine, workspace):
    teach(engine, workspace)
    set_threshold(engine, workspace, 0.01)
    [first] = send(engine, workspace, inbound(workspace, "how do I pay by bank transfer?", 1))
    assert stage_of(engine, workspace, first.customer_id) == "hot_lead"
    send(engine, workspace, inbound(workspace, GREETING, 2, minute=5))
    assert stage_of(engine, workspace, first.customer_id) == "hot_lead"
    rule, blocked = changes(engine, first.customer_id)
    assert rule.source == "rule:request_payment_info" and rule.confidence is None
    assert blocked.source == "model:greeting"
    assert not blocked.applied
    assert blocked.confidence is not None
    assert "downgrade" in blocked.reason or "upgrade" in blocked.reason


def test_a_correction_changes_no_status_and_keeps_actor_and_previous_intents(engine, workspace):
    [recorded] = send(engine, workspace, inbound(workspace, "how much is the blue one", 1))
    stage = stage_of(engine, workspace, recorded.customer_id)
    with transaction(engine) as conn:
        command = CommandContext(conn, load_catalog(conn, workspace), "dana", at(3))
        correct_intent(command, recorded.message_id, "negotiate_price")
    assert stage_of(engine, workspace, recorded.customer_id) == stage
    with reading(engine) as conn:
        [found] = list_corrections(conn, workspace)
    assert (found.intent, found.actor, found.previous) == ("negotiate_price", "dana", ["ask_price"])


@pytest.mark.parametrize("intent", ["ask_prize", "", "none "])
def test_an_unknown_intent_is_refused_and_stores_nothing(engine, workspace, intent):
    [recorded] = send(engine, workspace, inbound(workspace, "hello", 1))
    with pytest.raises(StatushubError) as error, transaction(engine) as conn:
        correct_intent(
            CommandContext(conn, load_catalog(conn, workspace), "x", at(2)), recorded.message_id, intent
        )
    assert "ask_price" in error.value.choices and "none" in error.value.choices
    with reading(engine) as conn:
        assert conn.execute(select(IntentCorrection)).all() == []


def test_another_workspaces_message_is_not_found(engine, workspace):
    from plugin.workspace.workspaces import create_workspace

    with transaction(engine) as conn:
        other = create_workspace(conn, "other", name="Other", now=at(0))
    [theirs] = send(engine, other, inbound(other, "hello", 1))
    with pytest.raises(NotFound), transaction(engine) as conn:
        correct_intent(
            CommandContext(conn, load_catalog(conn, workspace), "x", at(2)), theirs.message_id, "greeting"
        )


@pytest.mark.slow  # trains a model
def test_the_worker_retrains_after_twenty_new_corrections(engine, workspace):
    events = [
        inbound(workspace, f"message number {n}", n, phone=f"+1555100{n:04d}") for n in range(RETRAIN_AFTER)
    ]
    recorded = send(engine, workspace, *events)
    assert retrain_due(engine, at(10)) == 0
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        for r in recorded[:-1]:
            correct_intent(CommandContext(conn, catalog, "dana", at(3)), r.message_id, "none")
    assert retrain_due(engine, at(10)) == 0  # 19: not yet
    with transaction(engine) as conn:
        correct_intent(
            CommandContext(conn, load_catalog(conn, workspace), "dana", at(3)),
            recorded[-1].message_id,
            "none",
        )
    assert retrain_due(engine, at(10)) == 1
    with reading(engine) as conn:
        assert conn.execute(select(IntentModel.version, IntentModel.corrections)).one() == (1, RETRAIN_AFTER)
    assert retrain_due(engine, at(11)) == 0  # nothing new since


def test_a_corrupt_stored_model_falls_back_to_the_shipped_one_with_a_warning(engine, workspace, caplog):
    with transaction(engine) as conn:
        conn.execute(
            IntentModel.__table__.insert(),
            {
                "workspace_id": workspace,
                "version": 1,
                "data": b"not a model at all",
                "digest": "x",
                "corrections": 0,
                "trained_at": at(0),
            },
        )
        conn.execute(
            update(Workspace)
            .where(Workspace.id == workspace)
            .values(catalog_version=Workspace.catalog_version + 1)
        )
    with caplog.at_level(logging.WARNING, logger="statushub.intent_model"):
        [recorded] = send(engine, workspace, inbound(workspace, "how do I pay?", 1))
    assert stage_of(engine, workspace, recorded.customer_id) == "hot_lead"
    assert "unreadable" in caplog.text


@pytest.mark.slow  # trains a model
def test_a_manual_change_still_applies_over_a_model_decision(engine, workspace):
    teach(engine, workspace)
    set_threshold(engine, workspace, 0.01)
    [recorded] = send(engine, workspace, inbound(workspace, PHRASE, 1))
    assert stage_of(engine, workspace, recorded.customer_id) == "closed_won"
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        assign_status(
            conn,
            catalog,
            recorded.customer_id,
            catalog.resolve("cold"),
            actor="dana",
            note="",
            classify=classifier_for(conn, catalog),
            now=at(30) + timedelta(minutes=1),
        )
    assert stage_of(engine, workspace, recorded.customer_id) == "cold_lead"


WARM_TEXTS = [
    "how much is the blue hoodie?",
    "ok I'll take two of the black ones",
    "not interested anymore, thanks",
    "STOP",
    "¿Cuánto cuesta el envío a Monterrey?",
    "โอนแล้วนะคะ",
    "hey so my daughter keeps asking about the standing desk you posted",
    "👍",
    "",
]
CURRENTS = [{}, {"stage": "hot_lead"}, {"stage": "customer", "reply": "no_reply"}]


def test_texts_worked_out_ahead_classify_as_they_would_inside_the_transaction(engine, workspace):
    """Webhooks read ahead (patterns, the model) before the writer lock: the result must not change."""
    with reading(engine) as conn:
        catalog = load_catalog(conn, workspace)
        warmed = classifier_for(conn, catalog)
    cold = build_workspace_classifier(engine, workspace, catalog)
    warmed.warm(WARM_TEXTS)
    for text in WARM_TEXTS:
        for channel in ("sms", "whatsapp", "webchat"):
            for current in CURRENTS:
                assert warmed(text, channel, current) == cold(text, channel, current), (
                    text,
                    channel,
                    current,
                )


def build_workspace_classifier(engine, workspace, catalog):
    """A second classifier for the same workspace, built apart from the process's cache (never warmed)."""
    from plugin.workspace.intent_model import load_model
    from plugin.workspace.intents import build_classifier, workspace_overrides, workspace_packs

    with reading(engine) as conn:
        packs = workspace_packs(conn, workspace)
        return build_classifier(
            catalog,
            packs,
            workspace_overrides(conn, workspace),
            model=load_model(conn, workspace, packs).model,
        )
