"""Shared fixtures for the intent model tests: the shipped packs, the shipped model (from the cache), a fit."""

from __future__ import annotations

import pytest

from plugin.workspace.intent_model import shipped_model as cached_shipped_model
from rules import compile_packs, load_packs
from rules.corpus import load_corpus
from rules.training import fit, training_examples

SHIPPED_PACKS = ("sales_en", "sales_es", "sales_th")


@pytest.fixture(scope="session")
def shipped_matcher():
    return compile_packs(load_packs(SHIPPED_PACKS))


@pytest.fixture(scope="session")
def fitted(shipped_matcher):
    """An exported model and the scikit-learn estimator it came from: the packs and a quarter of the
    corpus's train part (what these tests check, the export and the fit's mechanics, needs no more;
    a fit of the whole part takes tens of seconds here)."""
    return fit(training_examples(shipped_matcher, load_corpus("train")[::4]))


@pytest.fixture(scope="session")
def shipped_model():
    """The model as `statushub rules train` makes it (`train_model` of the shipped packs, threshold
    chosen on the calibration part), read from the user's cache when an earlier process trained it:
    training is deterministic, so the bytes are the same."""
    return cached_shipped_model(SHIPPED_PACKS)
