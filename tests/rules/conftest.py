"""Shared, pure fixtures for the intent model tests: the shipped packs and a model trained once."""

from __future__ import annotations

import pytest

from rules import compile_packs, load_packs
from rules.corpus import load_corpus
from rules.training import fit, train_model, training_examples

SHIPPED_PACKS = ("sales_en", "sales_es", "sales_th")


@pytest.fixture(scope="session")
def shipped_matcher():
    return compile_packs(load_packs(SHIPPED_PACKS))


@pytest.fixture(scope="session")
def fitted(shipped_matcher):
    """The exported model and the scikit-learn estimator it came from (packs and corpus train part)."""
    return fit(training_examples(shipped_matcher, load_corpus("train")))


@pytest.fixture(scope="session")
def shipped_model(shipped_matcher):
    """The model as `statushub rules train` makes it: threshold chosen on the calibration part."""
    return train_model(shipped_matcher)
