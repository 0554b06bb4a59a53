"""The exported model scores exactly as scikit-learn did, and its bytes are versioned and checked."""

from __future__ import annotations

import numpy as np
import pytest

from rules.corpus import load_corpus
from rules.model import FORMAT_VERSION, Model, ModelFormatError, Prediction

CORPUS_TEXTS = [row.text for row in load_corpus()]


def test_exported_scorer_gives_scikit_learns_probabilities_on_the_corpus(fitted):
    model, estimator = fitted
    expected = estimator.predict_proba(model.features.matrix(CORPUS_TEXTS))
    assert list(estimator.classes_) == list(model.classes)
    batch = model.probabilities(CORPUS_TEXTS)
    one_by_one = np.array([model.probabilities_of(text) for text in CORPUS_TEXTS])
    assert np.abs(batch - expected).max() < 1e-6
    assert np.abs(one_by_one - expected).max() < 1e-6
    assert (batch.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_predict_and_predict_many_agree(fitted):
    model, _ = fitted
    texts = CORPUS_TEXTS[:200]
    many = model.predict_many(texts)
    for text, prediction in zip(texts, many, strict=True):
        single = model.predict(text)
        assert single.intent == prediction.intent
        assert single.confidence == pytest.approx(prediction.confidence, abs=1e-9)


def test_a_message_of_unknown_ngrams_gets_the_prior(fitted):
    model, _ = fitted
    prediction = model.predict("")
    assert prediction.intent in model.classes
    assert 0 < prediction.confidence < 1
    assert model.predict_many([]) == []


def test_bytes_round_trip_to_the_same_model(shipped_model):
    data = shipped_model.to_bytes()
    again = Model.from_bytes(data)
    assert again.to_bytes() == data
    assert again.classes == shipped_model.classes
    assert again.threshold == shipped_model.threshold
    assert again.info == shipped_model.info
    texts = CORPUS_TEXTS[:50]
    assert np.array_equal(again.probabilities(texts), shipped_model.probabilities(texts))


def test_with_threshold_keeps_everything_else(shipped_model):
    lowered = shipped_model.with_threshold(0.2)
    assert lowered.threshold == 0.2
    assert lowered.predict("do you ship to cebu?") == shipped_model.predict("do you ship to cebu?")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-1], id="last-byte-missing"),
        pytest.param(lambda data: data + b"\0", id="trailing-byte"),
        pytest.param(lambda data: data[:-100] + bytes([data[-100] ^ 1]) + data[-99:], id="flipped-bit"),
        pytest.param(lambda data: b"PK\x03\x04" + data[4:], id="other-magic"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"statushub-intent-model\n", id="header-only"),
    ],
)
def test_damaged_bytes_raise_the_model_format_error(shipped_model, damage):
    with pytest.raises(ModelFormatError):
        Model.from_bytes(damage(shipped_model.to_bytes()))


def test_another_format_version_is_refused_with_a_hint(shipped_model):
    data = bytearray(shipped_model.to_bytes())
    at = len(b"statushub-intent-model\n")
    data[at : at + 2] = (FORMAT_VERSION + 1).to_bytes(2, "big")
    with pytest.raises(ModelFormatError, match="retrain"):
        Model.from_bytes(bytes(data))


def test_prediction_is_a_plain_pair(shipped_model):
    prediction = shipped_model.predict("how much is the blue one?")
    assert isinstance(prediction, Prediction)
    intent, confidence = prediction
    assert intent == "ask_price" and 0.5 < confidence <= 1
