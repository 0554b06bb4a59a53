"""The matcher's promises (SPEC §4): normalized, word-bounded, leftmost-longest, first listed wins."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Match, compile_packs, load_packs, normalize
from rules.pack import parse_pack

SHIPPED = compile_packs(load_packs(["sales_en", "sales_es", "sales_th"]))
ENGLISH = compile_packs(load_packs(["sales_en"]))


def matcher_of(*texts: str):
    return compile_packs([parse_pack(textwrap.dedent(text), f"pack{i}.yaml") for i, text in enumerate(texts)])


FUNNEL = """
    pack: funnel
    language: en
    ignore: ["no rush"]
    intents:
      - name: not_interested
        assign: {stage: passed}
        patterns: ["not interested"]
      - name: pay
        assign: {stage: hot_lead, attention: vip}
        assign_by_template:
          b2b: {stage: negotiation}
        patterns: ["how do i pay", "/\\\\b(?:card|paypal)\\\\s+details?\\\\b/"]
      - name: price
        assign: {stage: cold_lead}
        patterns: ["price", "how much"]
      - name: interested
        assign: {stage: hot_lead}
        patterns: ["interested"]
      - name: rush
        assign: {}
        patterns: ["rush"]
      - name: sms_only
        assign: {stage: cold_lead}
        conditions: {channel: [sms]}
        patterns: ["text me"]
      - name: from_greeting
        assign: {stage: cold_lead}
        conditions: {status: {stage: [greeting]}}
        patterns: ["maybe"]
      - name: greeting
        assign: {stage: greeting}
        patterns: ["hi", "hello", "👋"]
"""


@pytest.fixture(scope="module")
def funnel():
    return matcher_of(FUNNEL)


def test_not_interested_beats_interested(funnel):
    assert funnel.match("I'm not interested").intents == ("not_interested",)
    assert funnel.match("I'm not interested").assign == {"stage": "passed"}


def test_interested_alone_still_matches(funnel):
    assert funnel.match("very interested!").intents == ("interested",)


def test_shipped_packs_resolve_not_interested_leftmost_longest():
    assert ENGLISH.match("not interested").intents == ("not_interested",)
    assert SHIPPED.match("ไม่สนใจครับ").intents == ("not_interested",)
    assert SHIPPED.match("no me interesa").intents == ("not_interested",)


def test_price_does_not_match_inside_priceless(funnel):
    assert funnel.match("this is priceless").intents == ()


def test_hi_does_not_match_inside_this(funnel):
    assert funnel.match("this one").intents == ()
    assert funnel.match("this, hi!").intents == ("greeting",)


def test_fullwidth_and_upper_case_match_like_plain_text(funnel):
    assert funnel.match("ＰＲＩＣＥ").intents == ("price",)
    assert funnel.match("PRICE?").intents == ("price",)
    assert funnel.match("How\tMUCH\n\n is it").intents == ("price",)


def test_curly_apostrophes_match_straight_ones():
    assert "not_interested" in ENGLISH.match("I don’t need it").intents
    assert normalize("Don’t  WAIT ") == "don't wait"


def test_intents_come_in_listed_order_not_text_order(funnel):
    found = funnel.match("hi, what's the price? how do I pay?")
    assert found.intents == ("pay", "price", "greeting")


def test_first_listed_intent_wins_each_track(funnel):
    found = funnel.match("price? how do i pay")
    assert found.assign == {"stage": "hot_lead", "attention": "vip"}


def test_a_later_intent_fills_tracks_the_first_does_not_assign(funnel):
    found = funnel.match("not interested, how do i pay")
    assert found.assign == {"stage": "passed", "attention": "vip"}


def test_regex_patterns_take_part_in_matching(funnel):
    assert funnel.match("send your PayPal details").intents == ("pay",)
    assert funnel.match("card detail pls").intents == ("pay",)


def test_regex_and_phrase_compete_leftmost_longest():
    matcher = matcher_of(
        """
        pack: compete
        language: en
        intents:
          - name: long_regex
            patterns: ["/free shipping\\\\b/"]
          - name: short_phrase
            patterns: ["free"]
        """
    )
    assert matcher.match("is it free shipping").intents == ("long_regex",)
    assert matcher.match("is it free").intents == ("short_phrase",)


def test_ignored_phrase_swallows_what_it_contains(funnel):
    assert funnel.match("no rush").intents == ()
    assert funnel.match("rush").intents == ("rush",)


def test_negated_shipping_is_not_a_shipping_question():
    assert "ask_shipping" not in ENGLISH.match("I don't need shipping, I'm local").intents
    assert "ask_shipping" in ENGLISH.match("how much is shipping").intents


def test_channel_condition_filters_after_matching(funnel):
    assert funnel.match("text me", channel="sms").intents == ("sms_only",)
    assert funnel.match("text me", channel="webchat").intents == ()
    assert funnel.match("text me").intents == ()


def test_status_condition_needs_the_current_status(funnel):
    assert funnel.match("maybe", current={"stage": "greeting"}).intents == ("from_greeting",)
    assert funnel.match("maybe", current={"stage": "hot_lead"}).intents == ()
    assert funnel.match("maybe").intents == ()


def test_template_assignment_replaces_the_default(funnel):
    assert funnel.match("how do i pay", template="b2b").assign == {"stage": "negotiation"}
    assert funnel.match("how do i pay", template="service").assign == {
        "stage": "hot_lead",
        "attention": "vip",
    }


def test_override_replaces_the_pack_assignment(funnel):
    found = funnel.match("what's the price", overrides={"price": {"stage": "hot_lead"}})
    assert found.assign == {"stage": "hot_lead"}


def test_override_to_none_clears_the_track_so_the_next_intent_assigns_it(funnel):
    overrides = {"pay": {"stage": None}}
    found = funnel.match("how do i pay, price?", overrides=overrides)
    assert found.intents == ("pay", "price")
    assert found.assign == {"attention": "vip", "stage": "cold_lead"}
    assert funnel.assignment("pay", overrides=overrides) == {"attention": "vip"}


def test_an_intent_assigning_nothing_is_still_recorded(funnel):
    found = funnel.match("rush")
    assert found == Match(("rush",), {})


def test_thai_phrases_match_without_spaces():
    assert SHIPPED.match("ขอบคุณค่ะ ราคาเท่าไหร่คะ").intents == ("ask_price", "thanks_satisfied")
    assert SHIPPED.match("ขอเลขบัญชีหน่อยครับ").assign == {"stage": "hot_lead"}
    assert SHIPPED.match("สั่งซื้อiphoneราคาเท่าไร").intents[:2] == ("place_order", "ask_price")


def test_a_greeting_counts_only_when_it_is_the_whole_message():
    assert SHIPPED.match("สวัสดีค่ะ แอดมิน").intents == ("greeting",)
    assert SHIPPED.match("Hello there!! 👋").intents == ("greeting",)
    assert "greeting" not in SHIPPED.match("Hi, this is an automatic reply, I am away").intents
    assert "greeting" not in SHIPPED.match("Hola, ya no me envíen el catálogo").intents


def test_thai_text_with_zero_width_spaces_matches():
    assert SHIPPED.match("ราคา\u200bเท่าไหร่").intents == ("ask_price",)


def test_spanish_extends_english_intents_and_their_assignments():
    found = SHIPPED.match("¿Cómo puedo pagar? Me lo llevo")
    assert found.intents[:2] == ("request_payment_info", "place_order")
    assert found.assign == {"stage": "hot_lead"}
    assert SHIPPED.match("Hola, ¿cuánto cuesta?", template="lead-response").assign == {
        "stage": "further_action"
    }


def test_emoji_phrases_match_anywhere(funnel):
    assert funnel.match("hey👋👋").intents == ("greeting",)
    assert "ask_price" in ENGLISH.match("this one💰?").intents


def test_emoji_with_or_without_variation_selector_match_alike():
    assert normalize("❤️") == normalize("❤")


def test_hot_lead_signals_in_the_english_pack():
    assert ENGLISH.match("can I get payment info?").assign == {"stage": "hot_lead"}
    assert ENGLISH.match("hello").assign == {"stage": "greeting"}
    assert ENGLISH.match("Out of office until Monday", template="lead-response").assign == {
        "stage": "lead_to_review"
    }


def test_matcher_without_phrases_matches_nothing():
    matcher = matcher_of(
        """
        pack: only_regex
        language: en
        intents:
          - name: digits
            patterns: ["/\\\\d{3}/"]
        """
    )
    assert matcher.match("call 555").intents == ("digits",)
    assert matcher.match("").intents == ()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_match_never_raises(text):
    found = SHIPPED.match(text, channel="sms", current={"stage": "greeting"}, template="b2b")
    assert isinstance(found.intents, tuple)


_padding = st.text(alphabet=" \t\n\r\u00a0\u3000", max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.text(), _padding, _padding)
def test_surrounding_whitespace_changes_nothing(text, before, after):
    assert SHIPPED.match(before + text + after) == SHIPPED.match(text)


_words = st.lists(
    st.sampled_from(
        [
            "how",
            "much",
            "is",
            "shipping",
            "not",
            "interested",
            "hi",
            "this",
            "price",
            "paid",
            "I",
            "thanks",
            "ราคา",
            "ไม่สนใจ",
            "hola",
            "envío",
            "💰",
            "?",
            "!",
            "PayPal",
            "details",
            "stop",
            "don't",
            "need",
        ]
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_words, st.data())
def test_case_changes_nothing(words, data):
    text = " ".join(words)
    flipped = "".join(c.upper() if data.draw(st.booleans()) else c for c in text)
    assert SHIPPED.match(flipped) == SHIPPED.match(text)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)
