"""The shipped corpus: well-formed, big enough, and split into parts that never change or overlap."""

from __future__ import annotations

from collections import Counter

import pytest

from rules import compile_packs, load_packs, normalize
from rules.corpus import PARTS, bucket_of, corpus_files, load_corpus, part_of

ROWS = load_corpus()
INTENTS = {intent.name for intent in compile_packs(load_packs(["sales_en"])).intents}


def test_the_split_is_a_known_function_of_the_normalized_text():
    # Known answers: changing the hash or the bounds would move messages between parts silently.
    assert (bucket_of("Do you ship to Cebu?"), part_of("Do you ship to Cebu?")) == (9, "train")
    assert bucket_of("do you ship to  CEBU?") == 9
    assert (bucket_of("paid"), part_of("paid")) == (75, "calibration")
    assert (bucket_of("how much"), part_of("how much")) == (82, "test")
    assert part_of("ราคาเท่าไหร่คะ") == "train"


def test_the_parts_cover_the_corpus_once_in_the_documented_shares():
    parts = {part: load_corpus(part) for part in PARTS}
    assert sum(len(rows) for rows in parts.values()) == len(ROWS)
    texts = {part: {normalize(row.text) for row in rows} for part, rows in parts.items()}
    assert not texts["train"] & texts["calibration"] and not texts["train"] & texts["test"]
    assert not texts["calibration"] & texts["test"]
    shares = {part: len(rows) / len(ROWS) for part, rows in parts.items()}
    assert shares["train"] == pytest.approx(0.65, abs=0.03)
    assert shares["calibration"] == pytest.approx(0.15, abs=0.03)
    assert shares["test"] == pytest.approx(0.20, abs=0.03)


def test_every_row_names_a_known_intent_and_language():
    assert {row.intent for row in ROWS} <= INTENTS | {"none"}
    assert {row.language for row in ROWS} == {"en", "es", "th"}
    assert [path.name for path in corpus_files()] == ["en.csv", "es.csv", "th.csv"]


def test_no_message_appears_twice():
    counts = Counter(normalize(row.text) for row in ROWS)
    assert [text for text, count in counts.items() if count > 1] == []


@pytest.mark.parametrize(("language", "least"), [("en", 100), ("es", 40), ("th", 40)])
def test_each_language_has_enough_messages_of_every_intent(language, least):
    counts = Counter(row.intent for row in ROWS if row.language == language)
    assert {intent: counts[intent] for intent in INTENTS if counts[intent] < least} == {}
    assert counts["none"] >= least


def test_unknown_part_is_refused():
    with pytest.raises(ValueError, match="unknown corpus part 'dev'"):
        load_corpus("dev")
