"""Every example in every shipped pack does what it says: `match` yields the intent, `no_match` does not."""

from __future__ import annotations

import pytest

from plugin.domain.templates import TEMPLATES, known_statuses
from rules import available_packs, compile_packs, load_packs

# The packs as a multilingual workspace lists them: extensions after the base pack.
SHIPPED = ("sales_en", "sales_es", "sales_th")
PACKS = load_packs(SHIPPED, known_statuses(), templates={key: known_statuses(key) for key in TEMPLATES})
MATCHER = compile_packs(PACKS)


def _examples(kind: str):
    for pack in PACKS:
        for intent in pack.intents:
            for text in getattr(intent.examples, kind):
                yield pytest.param(intent.name, text, id=f"{pack.name}:{intent.name}:{text[:40]}")


def test_every_shipped_pack_is_tested():
    assert set(available_packs()) == set(SHIPPED)


@pytest.mark.parametrize(("intent", "text"), list(_examples("match")))
def test_match_example_yields_its_intent(intent, text):
    assert intent in MATCHER.match(text).intents


@pytest.mark.parametrize(("intent", "text"), list(_examples("no_match")))
def test_no_match_example_does_not_yield_its_intent(intent, text):
    assert intent not in MATCHER.match(text).intents


REQUIRED_EN = {
    "greeting",
    "ask_price",
    "ask_shipping",
    "ask_specs",
    "request_payment_info",
    "negotiate_price",
    "place_order",
    "payment_sent",
    "not_interested",
    "product_unavailable",
    "purchased_elsewhere",
    "wrong_person",
    "auto_reply",
    "has_question",
    "thanks_satisfied",
    "opt_out",
}
REQUIRED_TRANSLATED = {
    "greeting",
    "ask_price",
    "ask_shipping",
    "request_payment_info",
    "place_order",
    "not_interested",
    "thanks_satisfied",
    "opt_out",
}


def test_english_pack_covers_the_sales_intents_with_enough_examples():
    english = PACKS[0]
    assert {intent.name for intent in english.intents} >= REQUIRED_EN
    for intent in english.intents:
        assert len(intent.examples.match) >= 8, intent.name
        assert len(intent.examples.no_match) >= 4, intent.name


@pytest.mark.parametrize("pack", PACKS[1:], ids=lambda pack: pack.name)
def test_language_packs_extend_the_common_intents_with_examples(pack):
    assert {intent.name for intent in pack.intents} >= REQUIRED_TRANSLATED
    for intent in pack.intents:
        assert intent.extends, intent.name
        assert len(intent.examples.match) >= 3, intent.name
        assert len(intent.examples.no_match) >= 2, intent.name


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_assignment_names_a_status_of_its_template(template):
    known = known_statuses(template)
    for intent in MATCHER.intents:
        for track, status in MATCHER.assignment(intent.name, template=template).items():
            assert status in known[track], (template, intent.name, status)


def test_auto_reply_is_sent_for_review_in_lead_response_only():
    assert MATCHER.assignment("auto_reply", template="lead-response") == {"stage": "lead_to_review"}
    assert MATCHER.assignment("auto_reply", template="online-store") == {}
