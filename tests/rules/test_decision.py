"""The combined decision (SPEC §4 "Two matchers"): rules first, the model for what they leave."""

from __future__ import annotations

import pytest

from rules.decision import Decision, StageScorer, decide, decide_many
from rules.matcher import Match
from rules.model import Prediction


class Scripted:
    """A model answering from a table; anything else is `none`."""

    def __init__(self, answers, threshold=0.6):
        self.answers = answers
        self.threshold = threshold
        self.seen = []

    def predict(self, text):
        self.seen.append(text)
        return Prediction(*self.answers.get(text, ("none", 0.9)))

    def predict_many(self, texts):
        return [self.predict(text) for text in texts]


def test_without_a_model_the_rules_decide_alone(shipped_matcher):
    assert decide("how do I pay?", shipped_matcher) == Decision(
        ("request_payment_info", "has_question"), {"stage": "hot_lead"}, "rule", None
    )
    assert decide("ok", shipped_matcher) == Decision((), {}, None, None)


def test_a_stage_assigned_by_the_rules_is_never_sent_to_the_model(shipped_matcher):
    model = Scripted({"how do I pay?": ("opt_out", 0.99)})
    found = decide("how do I pay?", shipped_matcher, model)
    assert found.source == "rule" and found.assign == {"stage": "hot_lead"}
    assert model.seen == []


def test_at_the_threshold_the_model_assigns_through_the_matcher(shipped_matcher):
    model = Scripted({"would it reach glasgow by friday": ("ask_shipping", 0.6)})
    found = decide("would it reach glasgow by friday", shipped_matcher, model, template="online-store")
    assert found == Decision(("ask_shipping",), {"stage": "hot_lead"}, "model", 0.6)


def test_below_the_threshold_the_model_only_suggests(shipped_matcher):
    model = Scripted({"would it reach glasgow by friday": ("ask_shipping", 0.59)})
    found = decide("would it reach glasgow by friday", shipped_matcher, model, template="online-store")
    assert found == Decision(("ask_shipping",), {}, "model", 0.59)


def test_an_explicit_threshold_replaces_the_models(shipped_matcher):
    model = Scripted({"zq": ("payment_sent", 0.3)})
    assert decide("zq", shipped_matcher, model, threshold=0.25).assign == {"stage": "closed_won"}
    assert decide("zq", shipped_matcher, model, threshold=0.35).assign == {}


def test_the_models_intent_comes_first_and_rule_intents_follow(shipped_matcher):
    text = "thanks, can you keep it for me till saturday?"
    ruled = shipped_matcher.match(text)
    assert "stage" not in ruled.assign and ruled.intents
    found = decide(text, shipped_matcher, Scripted({text: ("place_order", 0.95)}))
    assert found.intents == ("place_order", *ruled.intents)
    assert found.assign == {"stage": "hot_lead"} and found.source == "model"


def test_template_and_overrides_apply_to_the_models_intent(shipped_matcher):
    model = Scripted({"zq": ("payment_sent", 0.9)})
    assert decide("zq", shipped_matcher, model, template="b2b").assign == {"stage": "deal_closed"}
    overrides = {"payment_sent": {"stage": "hot_lead"}}
    assert decide("zq", shipped_matcher, model, overrides=overrides).assign == {"stage": "hot_lead"}


def test_none_or_an_intent_the_rules_found_adds_nothing(shipped_matcher):
    assert decide("zq", shipped_matcher, Scripted({})) == Decision()
    model = Scripted({"thank you!": ("thanks_satisfied", 0.99)})
    assert decide("thank you!", shipped_matcher, model) == Decision(("thanks_satisfied",), {}, "rule", None)


def test_an_intent_the_packs_do_not_define_is_ignored(shipped_matcher):
    assert decide("zq", shipped_matcher, Scripted({"zq": ("book_table", 0.99)})) == Decision()


def test_decide_many_is_decide_for_each_message(shipped_matcher):
    answers = {"zq": ("payment_sent", 0.9), "zz": ("ask_specs", 0.2), "thank you!": ("place_order", 0.7)}
    texts = ["zq", "how do I pay?", "zz", "ok", "thank you!"]
    expected = [decide(text, shipped_matcher, Scripted(answers), template="service") for text in texts]
    model = Scripted(answers)
    assert decide_many(texts, shipped_matcher, model, template="service") == expected
    assert "how do I pay?" not in model.seen
    assert decide_many(texts, shipped_matcher) == [decide(text, shipped_matcher) for text in texts]


def test_decision_prints_as_spec_classify_fields():
    found = Decision(("ask_shipping",), {}, "model", 0.41234567)
    assert found.as_dict() == {
        "intents": ["ask_shipping"],
        "assign": {},
        "source": "model",
        "confidence": 0.4123,
    }


def test_the_trained_model_decides_a_message_the_rules_miss(shipped_matcher, shipped_model):
    text = "would it reach glasgow by friday"
    assert shipped_matcher.match(text) == Match()
    found = decide(text, shipped_matcher, shipped_model, template="online-store")
    assert found.source == "model" and found.intents[0] == "ask_shipping"
    # The confidence is the stage's: the intent's own probability plus those agreeing on Hot Lead.
    assert found.confidence >= shipped_model.predict(text).confidence
    stage = StageScorer(shipped_model, shipped_matcher, template="online-store").predict(text)
    assert found.confidence == pytest.approx(stage.confidence)


CONDITIONAL_PACK = """
pack: conditional
language: en
intents:
  - name: sms_only
    assign: {stage: cold_lead}
    conditions: {channel: [sms]}
    patterns: ["text me"]
  - name: from_greeting
    assign: {stage: hot_lead}
    conditions: {status: {stage: [greeting]}}
    patterns: ["deal"]
"""


def test_the_models_intent_obeys_the_intents_conditions_as_a_rules_does():
    """A model that reads "txt me l8r" as sms_only assigns it on SMS and nowhere else; an intent
    allowed only from Greeting does not fire for a customer on another stage (SPEC §4 conditions)."""
    import textwrap

    from rules import compile_packs
    from rules.pack import parse_pack

    matcher = compile_packs([parse_pack(textwrap.dedent(CONDITIONAL_PACK), "conditional.yaml")])
    model = Scripted({"txt me l8r": ("sms_only", 0.9), "ok fine lets do it": ("from_greeting", 0.9)})
    assert decide("txt me l8r", matcher, model, channel="sms").assign == {"stage": "cold_lead"}
    assert decide("txt me l8r", matcher, model, channel="webchat") == Decision((), {}, None, None)
    assert decide_many(["txt me l8r"], matcher, model, channel="webchat")[0].assign == {}
    on_greeting = decide("ok fine lets do it", matcher, model, current={"stage": "greeting"})
    assert on_greeting.assign == {"stage": "hot_lead"}
    assert decide("ok fine lets do it", matcher, model, current={"stage": "cold_lead"}).assign == {}
