"""Training: what the model learns from, corrections that win, determinism, and the threshold choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rules.corpus import CorpusRow, load_corpus
from rules.model import NONE, Prediction
from rules.training import (
    TrainingConfig,
    choose_threshold,
    fit,
    forget_fits,
    pack_examples,
    train_model,
    training_examples,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_model_classifies_phrases_it_was_trained_on(fitted):
    model, _ = fitted
    assert model.predict("unsubscribe").intent == "opt_out"
    assert model.predict("wrong number").intent == "wrong_person"
    assert model.predict("โอนเงินแล้วครับ").intent == "payment_sent"
    assert model.predict("¿hacen envíos a Monterrey?").intent == "ask_shipping"


def test_the_model_knows_every_intent_of_the_packs_and_none(fitted, shipped_matcher):
    model, _ = fitted
    assert set(model.classes) == {intent.name for intent in shipped_matcher.intents} | {NONE}


def test_no_match_examples_are_labelled_by_what_the_rules_make_of_them(shipped_matcher):
    examples = {(example.text, example.source): example.intent for example in pack_examples(shipped_matcher)}
    # A no_match example of ask_price that the rules read as negotiation teaches negotiation...
    assert examples[("Can you do it cheaper?", "no_match")] == "negotiate_price"
    # ...and one the rules find nothing in is left out rather than called `none`.
    assert ("this one please", "no_match") not in examples
    assert examples[("unsubscribe", "phrase")] == "opt_out"
    assert examples[("don't need shipping", "ignore")] == NONE


@pytest.mark.slow  # trains a model
def test_three_corrections_of_a_new_phrase_flip_its_prediction(shipped_matcher, shipped_model):
    corpus = load_corpus("train")
    phrase = "zorblax the quintuple wibble"
    before = shipped_model  # the same packs and corpus, without corrections
    assert before.predict(phrase).intent != "place_order"
    corrections = [(phrase, "place_order")] * 3
    after, _ = fit(training_examples(shipped_matcher, corpus, corrections))
    assert after.predict(phrase).intent == "place_order"


def test_a_correction_replaces_other_labels_of_its_text(shipped_matcher):
    examples = training_examples(shipped_matcher, [], [("Sorry, wrong number", NONE)])
    labels = {example.intent for example in examples if example.text == "Sorry, wrong number"}
    assert labels == {NONE}


def test_a_correction_to_an_unknown_intent_is_refused(shipped_matcher):
    with pytest.raises(ValueError, match="unknown intent 'buy_now'"):
        training_examples(shipped_matcher, [], [("hi", "buy_now")])


def test_training_twice_gives_identical_bytes(shipped_matcher):
    corpus = load_corpus()[:600]
    first = train_model(shipped_matcher, corpus=corpus).to_bytes()
    forget_fits()  # fitted again, not taken from this process's kept fits
    second = train_model(shipped_matcher, corpus=list(reversed(corpus))).to_bytes()
    assert first == second


def test_training_gives_identical_bytes_whatever_the_hash_seed():
    script = (
        "import hashlib, rules\n"
        "from rules.corpus import load_corpus\n"
        "from rules.training import train_model\n"
        "matcher = rules.compile_packs(rules.load_packs(['sales_en', 'sales_th']))\n"
        "model = train_model(matcher, corpus=load_corpus()[:300])\n"
        "print(hashlib.sha256(model.to_bytes()).hexdigest())\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "2")
    ]
    digests = {run.communicate()[0] for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(digests) == 1


class Scripted:
    """A model answering from a table, for threshold arithmetic by hand."""

    def __init__(self, answers):
        self.answers = answers

    def predict_many(self, texts):
        return [Prediction(*self.answers[text]) for text in texts]


def test_the_threshold_is_the_smallest_confidence_reaching_the_target_precision(shipped_matcher):
    # Texts the packs do not match, so all are in the model's scope; ask_specs assigns a stage.
    answers = {f"zq{i}": ("ask_specs", confidence) for i, confidence in enumerate([0.9, 0.8, 0.7, 0.6, 0.5])}
    gold = {"zq0": "ask_specs", "zq1": "ask_specs", "zq2": "ask_specs", "zq3": "none", "zq4": "ask_specs"}
    rows = [CorpusRow(text, gold[text], "en") for text in answers]
    chosen = choose_threshold(Scripted(answers), shipped_matcher, rows, target=0.75, min_acting=1)
    assert chosen.threshold == 0.5 and chosen.precision == pytest.approx(0.8) and chosen.acting == 5
    strict = choose_threshold(Scripted(answers), shipped_matcher, rows, target=0.95, min_acting=1)
    assert strict.threshold == 0.7 and strict.precision == 1.0 and strict.acting == 3
    assert strict.scope == "unassigned"


def test_too_few_acting_messages_widen_the_scope_to_all(shipped_matcher):
    answers = {"zq0": ("ask_specs", 0.9), "how much is it?": ("ask_price", 0.8)}
    rows = [CorpusRow("zq0", "ask_specs", "en"), CorpusRow("how much is it?", "ask_price", "en")]
    chosen = choose_threshold(Scripted(answers), shipped_matcher, rows, min_acting=2)
    assert chosen.scope == "all" and chosen.acting == 2 and chosen.threshold == 0.8


def test_no_threshold_reaching_the_target_means_assign_only_when_certain(shipped_matcher):
    answers = {"zq0": ("ask_specs", 0.9)}
    chosen = choose_threshold(
        Scripted(answers), shipped_matcher, [CorpusRow("zq0", "none", "en")], min_acting=1
    )
    assert chosen.threshold == 1.0 and chosen.precision is None


def test_the_shipped_model_records_how_its_threshold_was_chosen(shipped_model):
    calibration = shipped_model.info.calibration
    assert calibration["precision"] >= TrainingConfig().target_precision
    assert calibration["scope"] == "unassigned" and calibration["acting"] >= 30
    assert 0 < shipped_model.threshold < 1
    assert shipped_model.info.counts["corpus"] == len(load_corpus("train"))


def test_a_pack_of_one_intent_trains_a_two_class_model_that_scores_like_scikit_learn():
    """One intent and none: scikit-learn keeps a single row of weights; the exported model must still
    load, score and agree with it (a workspace with one custom pack once crashed its classifier)."""
    from rules.matcher import compile_packs
    from rules.pack import parse_pack

    pack = parse_pack(
        "pack: one\nlanguage: en\nintents:\n  - name: text_me\n    assign: {stage: cold_lead}\n"
        "    patterns: [text me, please text me, send me a text]\n",
        "one.yaml",
    )
    rows = [CorpusRow(f"just chatting {n}", NONE, "en") for n in range(40)]
    rows += [CorpusRow(f"text me about it {n}", "text_me", "en") for n in range(40)]
    model, estimator = fit(training_examples(compile_packs([pack]), rows, ()))
    assert set(model.classes) == {"text_me", NONE}
    texts = ["text me later", "just chatting away"]
    expected = estimator.predict_proba(model.features.matrix(texts))
    assert model.probabilities(texts) == pytest.approx(expected, abs=1e-6)
    assert model.predict("text me later").intent == "text_me"
