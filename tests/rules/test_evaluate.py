"""Accuracy figures for `rules test`: per-intent precision, recall, F1, macro-F1 and confusion."""

from __future__ import annotations

from pathlib import Path

import pytest

import rules
from rules import Match, compile_packs, load_packs
from rules.evaluate import EvalDataError, evaluate, format_report, parse_labelled_csv, read_labelled_csv


class Scripted:
    """A matcher answering from a table, so the arithmetic can be checked by hand."""

    def __init__(self, answers: dict[str, tuple[str, ...]]) -> None:
        self.answers = answers

    def match(self, text: str, **context) -> Match:
        return Match(self.answers.get(text, ()))


def test_scores_are_computed_per_intent_from_the_first_listed_intent():
    matcher = Scripted({"a1": ("a",), "a2": ("b", "a"), "b1": ("b",), "n1": ("a",), "n2": ()})
    rows = [("a1", "a"), ("a2", "a"), ("b1", "b"), ("n1", "none"), ("n2", "none")]
    report = evaluate(rows, matcher)
    scores = {score.intent: score for score in report.scores}
    assert scores["a"].precision == pytest.approx(1 / 2)
    assert scores["a"].recall == pytest.approx(1 / 2)
    assert scores["b"].precision == pytest.approx(1 / 2)
    assert scores["b"].recall == pytest.approx(1.0)
    assert scores["b"].f1 == pytest.approx(2 / 3)
    assert report.macro_f1 == pytest.approx((0.5 + 2 / 3) / 2)
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.confusion == {"a": {"a": 1, "b": 1}, "b": {"b": 1}, "none": {"a": 1, "none": 1}}


def test_none_counts_in_the_confusion_table_but_not_in_macro_f1():
    report = evaluate([("x", "none"), ("y", "a")], Scripted({"y": ("a",)}))
    assert [score.intent for score in report.scores] == ["a"]
    assert report.macro_f1 == 1.0
    assert report.confusion["none"] == {"none": 1}


def test_an_intent_only_predicted_scores_zero():
    report = evaluate([("x", "none")], Scripted({"x": ("a",)}))
    assert [(score.intent, score.f1, score.support) for score in report.scores] == [("a", 0.0, 0)]
    assert report.below(0.5)[0].intent == "a"


def test_report_prints_aligned_tables():
    report = evaluate([("a", "a"), ("b", "none")], Scripted({"a": ("a",), "b": ("a",)}))
    text = format_report(report)
    assert text.splitlines()[0].split() == ["intent", "precision", "recall", "f1", "support"]
    assert "macro-F1 0.667 over 1 intents" in text
    assert "confusion (rows: expected, columns: predicted)" in text


def test_csv_rows_carry_their_line_numbers():
    rows = parse_labelled_csv('text,intent\n"hi, there",greeting\n\n"two\nlines",none\n')
    assert [row[:3] for row in rows] == [("hi, there", "greeting", 2), ("two\nlines", "none", 4)]


def test_csv_may_name_each_row_language():
    rows = parse_labelled_csv("intent,language,text\ngreeting,es,hola\nnone,,ok\n")
    assert [(row.text, row.intent, row.language) for row in rows] == [
        ("hola", "greeting", "es"),
        ("ok", "none", ""),
    ]


def test_csv_with_a_byte_order_mark_and_extra_columns_is_read(tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("\ufeffnote,text,intent\nx,hello,greeting\n", encoding="utf-8")
    assert [row[:3] for row in read_labelled_csv(path)] == [("hello", "greeting", 2)]


def test_csv_without_the_columns_is_refused():
    with pytest.raises(EvalDataError, match="must name the columns text and intent"):
        parse_labelled_csv("message,label\nhi,greeting\n")


def test_csv_row_without_intent_is_refused():
    with pytest.raises(EvalDataError, match=r"<csv>:3: no intent"):
        parse_labelled_csv("text,intent\nhi,greeting\nhello,\n")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(EvalDataError, match="no such file"):
        read_labelled_csv(tmp_path / "missing.csv")


def test_shipped_english_pack_reaches_the_accuracy_bar():
    rows = read_labelled_csv(Path(rules.__file__).parent / "eval" / "sales_en.csv")
    assert len(rows) >= 300
    report = evaluate(rows, compile_packs(load_packs(["sales_en"])))
    assert report.macro_f1 >= 0.85
