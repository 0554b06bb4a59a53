"""The automation policy as a pure function (SPEC §3): hammered by hypothesis, no database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plugin.domain.policy import AUTOMATIONS, StatusRef, decide

refs = st.builds(
    StatusRef,
    key=st.sampled_from(["a", "b", "c", "d", "e"]),
    position=st.integers(0, 6),
    automation=st.sampled_from(AUTOMATIONS),
    archived=st.booleans(),
)


def test_hot_lead_is_not_downgraded_by_automation():
    hot = StatusRef("hot_lead", 2, "upgrade_only")
    greeting = StatusRef("greeting", 0, "any")
    decision = decide(hot, greeting, automatic=True)
    assert not decision.applied
    assert "upgrade only" in decision.reason


def test_greeting_is_upgraded_by_automation():
    assert decide(StatusRef("greeting", 0), StatusRef("hot_lead", 2, "upgrade_only"), automatic=True).applied


def test_manual_only_status_is_never_left_by_automation_even_upward():
    review = StatusRef("lead_to_review", 1, "manual_only")
    assert not decide(review, StatusRef("satisfied", 3), automatic=True).applied
    assert decide(review, StatusRef("satisfied", 3), automatic=False).applied


def test_a_status_that_no_longer_exists_is_never_a_target():
    assert not decide(StatusRef("greeting", 0), None, automatic=False).applied
    assert not decide(StatusRef("greeting", 0), None, automatic=True).applied


@given(refs, refs, st.booleans())
def test_nothing_ever_lands_on_an_archived_status(current, target, automatic):
    if target.archived:
        assert not decide(current, target, automatic=automatic).applied


@given(refs, refs)
def test_manual_changes_apply_up_or_down_to_any_live_status(current, target):
    decision = decide(current, target, automatic=False)
    assert decision.applied == (not target.archived and target.key != current.key)


@given(refs, refs)
def test_automation_never_downgrades_upgrade_only_nor_leaves_manual_only(current, target):
    decision = decide(current, target, automatic=True)
    if current.automation == "manual_only":
        assert not decision.applied
    if current.automation == "upgrade_only" and target.position < current.position:
        assert not decision.applied
    if decision.applied:
        assert current.automation != "manual_only"
        assert current.automation == "any" or target.position >= current.position


@given(refs, refs, st.booleans())
def test_every_decision_says_why(current, target, automatic):
    assert decide(current, target, automatic=automatic).reason
