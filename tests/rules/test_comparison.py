"""Rules alone against rules plus the model: per intent, per language, and the stage each decision sets."""

from __future__ import annotations

import pytest

from rules.comparison import ALL, compare, compare_on_corpus, format_comparison
from rules.model import Prediction


class Scripted:
    """A model answering from a table; anything else is `none`."""

    threshold = 0.5

    def __init__(self, answers):
        self.answers = answers

    def predict_many(self, texts):
        return [Prediction(*self.answers.get(text, ("none", 0.9))) for text in texts]


def test_stage_accuracy_compares_the_decided_stage_with_the_labelled_intents(shipped_matcher):
    rows = [
        ("how do I pay?", "request_payment_info", "en"),  # rules: hot_lead, right
        ("zq ship", "ask_shipping", "en"),  # model at 0.9: hot_lead, right
        ("zq maybe", "ask_specs", "es"),  # model below the threshold: no stage, wrong
        ("ok", "none", "es"),  # nothing, and nothing was due: right
    ]
    model = Scripted({"zq ship": ("ask_shipping", 0.9), "zq maybe": ("ask_specs", 0.3)})
    comparison = compare(rows, shipped_matcher, model)
    rules_only, combined = comparison.sides
    assert (rules_only.name, combined.name) == ("rules", "rules+model")
    assert rules_only.overall.stage_accuracy == pytest.approx(2 / 4)
    assert combined.overall.stage_accuracy == pytest.approx(3 / 4)
    assert combined.reports["en"].stage_accuracy == 1.0 and combined.reports["es"].stage_accuracy == 0.5
    # The suggestion below the threshold still counts as the message's intent.
    assert combined.reports["es"].confusion["ask_specs"] == {"ask_specs": 1}


def test_without_a_model_only_rules_are_scored(shipped_matcher):
    comparison = compare([("hello", "greeting")], shipped_matcher)
    assert [side.name for side in comparison.sides] == ["rules"]
    assert list(comparison.sides[0].reports) == [ALL]


def test_rules_test_without_a_file_scores_the_corpus_test_part(shipped_matcher, shipped_model):
    comparison = compare_on_corpus(shipped_matcher, shipped_model)
    rules_only, combined = comparison.sides
    assert set(combined.reports) == {ALL, "en", "es", "th"}
    assert combined.overall.total == rules_only.overall.total > 900
    # A floor, not a target: the model must add what SPEC §4 has it for.
    assert combined.overall.macro_f1 >= rules_only.overall.macro_f1 + 0.1
    assert combined.overall.stage_accuracy >= rules_only.overall.stage_accuracy + 0.05
    text = format_comparison(comparison)
    assert text.splitlines()[0] == "corpus test part, template online-store"
    assert "rules+model F1" in text and "== rules+model, all messages" in text
    assert comparison.as_dict()["rules+model"]["th"]["stage_accuracy"] == round(
        combined.reports["th"].stage_accuracy, 4
    )
