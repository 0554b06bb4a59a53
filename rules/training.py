"""Training the intent model: which labelled texts it learns from, the fit, and its confidence threshold.

The model learns from the packs (each phrase and each `match` example labelled with its intent), the
corpus's train part, and a workspace's corrections, which outweigh everything else on their own text.
Training is deterministic: inputs are sorted and the solver has no randomness, so the same inputs give
byte-identical `Model.to_bytes()`.

    model = train_model(matcher)                               # shipped corpus, no corrections
    model = train_model(matcher, corrections=[("zorblax pls", "place_order")] * 3)
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rules.corpus import CorpusRow, load_corpus, part_of
from rules.decision import scorer_for
from rules.features import FeatureConfig, FeatureSpace, prepared
from rules.matcher import Matcher, Overrides, compile_packs
from rules.model import NONE, Model, TrainingInfo
from rules.pack import load_packs
from rules.patterns import is_regex

DEFAULT_TEMPLATE = "online-store"
SHIPPED_PACKS = ("sales_en", "sales_es", "sales_th")


class Example(NamedTuple):
    """One training text, its label (`none` for no intent), its weight, and where it came from."""

    text: str
    intent: str
    weight: float
    source: str


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters, chosen by cross-validation on the corpus's train part (bench/model_cv.py)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    # Inverse regularization strength of the logistic regression. Chosen on train (bench/model_cv.py,
    # 18,295 train messages): 10 → 40 → 100 gave model macro-F1 0.926 → 0.930 → 0.930 and rules + model
    # 0.898 → 0.900 → 0.900; the flatter side of the curve was kept.
    c: float = 40.0
    # A pack phrase ("paid", "?") is a fragment, not a message: it teaches less than a whole one.
    phrase_weight: float = 0.2
    example_weight: float = 1.0
    corpus_weight: float = 1.0
    # Three corrections of a new phrase must outweigh what the n-grams they share with other texts say.
    correction_weight: float = 5.0
    solver: str = "newton-cg"
    tol: float = 1e-4
    max_iter: int = 1000
    target_precision: float = 0.95
    # Fewer acting calibration messages than this and the threshold is chosen on all of calibration.
    min_calibration: int = 30

    def as_dict(self) -> dict[str, object]:
        return {
            "features": self.features.as_dict(),
            "c": self.c,
            "phrase_weight": self.phrase_weight,
            "example_weight": self.example_weight,
            "corpus_weight": self.corpus_weight,
            "correction_weight": self.correction_weight,
            "solver": self.solver,
            "tol": self.tol,
            "max_iter": self.max_iter,
        }


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold, the model's precision at it, on how many messages, and which messages."""

    threshold: float
    precision: float | None
    acting: int
    scope: str


def pack_examples(matcher: Matcher, config: TrainingConfig = TrainingConfig()) -> list[Example]:
    """Labelled texts from the packs: phrases and `match` examples with their intent.

    A `no_match` example only says which intent a text is not; it is labelled with what the rules make
    of it (their primary intent) when they match something, and left out when they do not, since it may
    still be an intent no phrase covers rather than `none`. Ignored phrases ("don't need shipping") are
    `none`.
    """
    examples: list[Example] = []
    for intent in matcher.intents:
        for pattern in intent.patterns:
            if not is_regex(pattern):
                examples.append(Example(pattern, intent.name, config.phrase_weight, "phrase"))
        for text in intent.examples.match:
            examples.append(Example(text, intent.name, config.example_weight, "example"))
        for text in intent.examples.no_match:
            found = matcher.intent_names(text)
            if found:
                examples.append(Example(text, found[0], config.example_weight, "no_match"))
    for pattern in matcher.ignore:
        if not is_regex(pattern):
            examples.append(Example(pattern, NONE, config.phrase_weight, "ignore"))
    return examples


def training_examples(
    matcher: Matcher,
    corpus: Iterable[CorpusRow] = (),
    corrections: Iterable[tuple[str, str]] = (),
    config: TrainingConfig = TrainingConfig(),
) -> list[Example]:
    """Everything the model learns from, sorted. A correction's text replaces any other example of it.

    Raises ValueError for a label that is neither an intent of the packs nor `none`.
    """
    known = {intent.name for intent in matcher.intents} | {NONE}
    corrected = []
    for text, intent in corrections:
        if intent not in known:
            raise ValueError(f"unknown intent {intent!r} in a correction (known: {', '.join(sorted(known))})")
        corrected.append(Example(text, intent, config.correction_weight, "correction"))
    replaced = {prepared(example.text) for example in corrected}
    base = pack_examples(matcher, config) + [
        Example(row.text, row.intent, config.corpus_weight, "corpus") for row in corpus if row.intent in known
    ]
    kept = [example for example in base if prepared(example.text) not in replaced and example.text.strip()]
    return sorted(kept + corrected)


# Fits already made in this process, by training digest (equal digests, equal models): a workspace's
# retraining with unchanged corrections, or a second database in one test run, fits once. Few kept:
# each holds a model's arrays.
_FITS: dict[str, tuple[Model, object]] = {}
_FITS_KEPT = 4


def forget_fits() -> None:
    """Drops the fits kept in this process (a test of determinism fits again)."""
    _FITS.clear()


def fit(examples: Sequence[Example], config: TrainingConfig = TrainingConfig()) -> tuple[Model, object]:
    """Fit the model on `examples`; returns it with the scikit-learn estimator it was exported from."""
    examples = sorted(examples)
    digest = training_digest(examples, config)
    found = _FITS.get(digest)
    if found is None:
        found = _fit(examples, config, digest)
        if len(_FITS) >= _FITS_KEPT:
            _FITS.pop(next(iter(_FITS)))
        _FITS[digest] = found
    return found


def _fit(examples: Sequence[Example], config: TrainingConfig, digest: str) -> tuple[Model, object]:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    features = FeatureSpace.fit((example.text for example in examples), config.features)
    matrix = features.matrix([example.text for example in examples])
    labels = np.array([example.intent for example in examples])
    weights = np.array([example.weight for example in examples], dtype=np.float64)
    estimator = LogisticRegression(C=config.c, solver=config.solver, max_iter=config.max_iter, tol=config.tol)
    # One thread: on a shared 2-core machine BLAS threads made the fit six times slower, and a
    # single thread sums in one order, run after run.
    with threadpool_limits(limits=1):
        estimator.fit(matrix, labels, sample_weight=weights)
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.source] = counts.get(example.source, 0) + 1
    info = TrainingInfo(digest=digest, counts=counts)
    coef, intercept = estimator.coef_, estimator.intercept_
    if len(estimator.classes_) == 2:
        # Two classes (a pack of one intent, and none): scikit-learn keeps one row, P(second) =
        # sigmoid(s). Rows -s/2 and +s/2 give the same probabilities through the softmax the model uses.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    model = Model(features, [str(name) for name in estimator.classes_], coef, intercept, info=info)
    return model, estimator


def training_digest(examples: Sequence[Example], config: TrainingConfig) -> str:
    """SHA-256 of the examples and hyper-parameters: equal digests, equal models."""
    digest = hashlib.sha256(json.dumps(config.as_dict(), sort_keys=True).encode())
    for example in sorted(examples):
        digest.update(json.dumps(list(example), ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def choose_threshold(
    model: Model,
    matcher: Matcher,
    rows: Sequence[CorpusRow],
    *,
    template: str = DEFAULT_TEMPLATE,
    overrides: Overrides | None = None,
    target: float = 0.95,
    min_acting: int = 30,
) -> Calibration:
    """The smallest confidence at which the model's assignments on `rows` are right `target` of the time.

    The model acts on messages the rules leave without a stage, when its intent assigns a stage: those
    messages are the scope ("unassigned"). With fewer than `min_acting` of them, every message of `rows`
    whose predicted intent assigns a stage is used instead ("all"). A prediction is right when it sets
    the stage the labelled intent sets (what an assignment changes), and its confidence is the
    StageScorer's: the probability that this stage is right. Returns threshold 1.0 (assign only when certain) if no threshold reaches
    the target.
    """

    def stage_of(intent: str) -> str | None:
        if intent == NONE or not matcher.knows(intent):
            return None
        return matcher.assignment(intent, template=template, overrides=overrides).get("stage")

    texts = [row.text for row in rows]
    predictions = scorer_for(model, matcher, template, overrides).predict_many(texts)
    scored = []
    for row, prediction in zip(rows, predictions, strict=True):
        predicted = stage_of(prediction.intent)
        if predicted is None:
            continue
        ruled = matcher.match(row.text, template=template, overrides=overrides)
        scored.append((prediction.confidence, predicted == stage_of(row.intent), "stage" not in ruled.assign))
    scope = "unassigned"
    acting = [(confidence, right) for confidence, right, unassigned in scored if unassigned]
    if len(acting) < min_acting:
        scope = "all"
        acting = [(confidence, right) for confidence, right, _ in scored]
    acting.sort(key=lambda item: -item[0])
    threshold, precision, right_count = 1.0, None, 0
    count_at = 0
    for count, (confidence, right) in enumerate(acting, start=1):
        right_count += right
        # Ties: a threshold takes every message of its confidence, so judge it after the last of them.
        if count < len(acting) and acting[count][0] == confidence:
            continue
        if right_count / count >= target:
            threshold, precision, count_at = confidence, right_count / count, count
    return Calibration(threshold, precision, count_at, scope)


def train_model(
    matcher: Matcher,
    *,
    corrections: Iterable[tuple[str, str]] = (),
    corpus: Sequence[CorpusRow] | None = None,
    config: TrainingConfig = TrainingConfig(),
    template: str = DEFAULT_TEMPLATE,
    overrides: Overrides | None = None,
) -> Model:
    """Train on the packs of `matcher`, the corpus's train part and `corrections` (`(text, intent or
    "none")` pairs), and set the threshold on the corpus's calibration part.

    `corpus` defaults to the shipped corpus; its rows are split by `part_of`, so only train rows teach
    and only calibration rows choose the threshold. Raises ValueError for an unknown correction intent.
    """
    rows = load_corpus() if corpus is None else list(corpus)
    train = [row for row in rows if part_of(row.text) == "train"]
    calibration = [row for row in rows if part_of(row.text) == "calibration"]
    model, _ = fit(training_examples(matcher, train, corrections, config), config)
    chosen = choose_threshold(
        model,
        matcher,
        calibration,
        template=template,
        overrides=overrides,
        target=config.target_precision,
        min_acting=config.min_calibration,
    )
    info = TrainingInfo(
        model.info.digest,
        model.info.counts,
        calibration=_calibration_notes(chosen),
    )
    return Model(
        model.features, model.classes, model.coef, model.intercept, threshold=chosen.threshold, info=info
    )


def _calibration_notes(chosen: Calibration) -> Mapping[str, object]:
    return {
        "precision": None if chosen.precision is None else round(chosen.precision, 6),
        "acting": chosen.acting,
        "scope": chosen.scope,
    }


@functools.lru_cache(maxsize=8)
def shipped_model(packs: tuple[str, ...] = SHIPPED_PACKS, template: str = DEFAULT_TEMPLATE) -> Model:
    """The model of shipped packs and the shipped corpus, without corrections: what a workspace uses
    until it trains its own, or when its stored model cannot be read. Trained once per process."""
    return train_model(compile_packs(load_packs(list(packs))), template=template)
