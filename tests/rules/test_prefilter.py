"""Regexes run only when the automaton saw a literal they need; that gate must never hide a match."""

from __future__ import annotations

import re
import string
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import load_packs, normalize
from rules.patterns import compile_regex, is_regex
from rules.prefilter import UNGATED_CHARS, required_literals

REGEXES = [
    compile_regex(pattern)
    for pack in load_packs(["sales_en", "sales_es", "sales_th"])
    for intent in pack.intents
    for pattern in intent.patterns
    if is_regex(pattern)
]


def test_literals_are_found_in_alternations_and_runs():
    assert required_literals(re.compile(r"\b(?:card|paypal)\s+no\b", re.I)) == {"card", "paypal"}
    assert required_literals(re.compile(r"\b(?:card|paypal)\s+details?\b", re.I)) == {"detail"}
    assert required_literals(re.compile(r"free shipping", re.I)) == {"free shipping"}
    assert required_literals(re.compile(r"(?:ab)+c?", re.I)) == {"ab"}


def test_a_regex_without_a_required_literal_always_runs():
    assert required_literals(re.compile(r"\d{3}")) is None
    assert required_literals(re.compile(r"(?:foo|\d+)")) is None
    assert required_literals(re.compile(r"x*")) is None


def test_only_the_dotless_i_matches_an_ascii_letter_after_normalization():
    ascii_letter = re.compile(f"[{string.ascii_lowercase}]", re.IGNORECASE)
    lookalikes = {
        chr(code)
        for code in range(0x80, sys.maxunicode + 1)
        if ascii_letter.fullmatch(chr(code)) and normalize(chr(code)) == chr(code)
    }
    assert lookalikes <= UNGATED_CHARS


_vocabulary = st.sampled_from(
    [
        "i",
        "we",
        "have",
        "just",
        "paid",
        "already",
        "how",
        "much",
        "card",
        "details",
        "stop",
        "order",
        "2",
        "take",
        "three",
        "days",
        "does",
        "it",
        "come",
        "in",
        "black",
        "?",
        "'ll",
        "bought",
        "on",
        "amazon",
        "cancel",
        "alto",
        "you",
        "do",
        "$80",
        "would",
        "sent",
        "ı",
        "İ",
        "K",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_vocabulary, max_size=12), st.sampled_from(["", " ", "  "]))
def test_a_regex_that_matches_normalized_text_has_a_literal_in_it(words, separator):
    text = normalize((separator or " ").join(words))
    for regex in REGEXES:
        literals = required_literals(regex)
        if literals is None or not UNGATED_CHARS.isdisjoint(text):
            continue
        if regex.search(text):
            assert any(literal in text for literal in literals), (regex.pattern, text)
