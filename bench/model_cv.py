"""Cross-validation of the intent model on the corpus's train part only, to compare settings (run by hand).

    .venv/bin/python bench/model_cv.py '{}' '{"c": 30}' '{"features": {"char_max": 4}}'

Each argument is a JSON object of `TrainingConfig` fields (`features` holds `FeatureConfig` fields).
Folds are `bucket_of(text) % 5` inside train; calibration and test are never read. For each setting it
prints the model alone (macro-F1), and rules plus model: at threshold 0 (the model always assigns)
and at the threshold the calibration rule would choose on these out-of-fold predictions (precision
>= 0.95 where the model acts), macro-F1 and stage accuracy, and the mean fit time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules import compile_packs, load_packs  # noqa: E402
from rules.corpus import bucket_of, load_corpus  # noqa: E402
from rules.decision import STAGE, combine  # noqa: E402
from rules.evaluate import primary_intent, score  # noqa: E402
from rules.features import FeatureConfig  # noqa: E402
from rules.model import NONE  # noqa: E402
from rules.training import TrainingConfig, fit, training_examples  # noqa: E402

PACKS = ("sales_en", "sales_es", "sales_th")
TEMPLATE = "online-store"
FOLDS = 5


def out_of_fold(matcher, rows, config):
    """Each train message's prediction by a model that did not see it; and the mean fit seconds."""
    predictions, seconds = {}, 0.0
    for fold in range(FOLDS):
        teach = [row for row in rows if bucket_of(row.text) % FOLDS != fold]
        held = [row for row in rows if bucket_of(row.text) % FOLDS == fold]
        started = time.process_time()
        model, _ = fit(training_examples(matcher, teach, (), config), config)
        seconds += time.process_time() - started
        texts = [row.text for row in held]
        predictions.update(zip(texts, model.predict_many(texts), strict=True))
    return predictions, seconds / FOLDS


def calibrated_threshold(matcher, rows, ruled, predictions, target):
    """The threshold `choose_threshold` would pick, on out-of-fold predictions."""
    acting = sorted(
        (
            (predictions[row.text].confidence, predictions[row.text].intent == row.intent)
            for row in rows
            if STAGE not in ruled[row.text].assign
            and predictions[row.text].intent != NONE
            and STAGE in matcher.assignment(predictions[row.text].intent, template=TEMPLATE)
        ),
        reverse=True,
    )
    threshold, right = 1.0, 0
    for count, (confidence, correct) in enumerate(acting, start=1):
        right += correct
        if (count == len(acting) or acting[count][0] != confidence) and right / count >= target:
            threshold = confidence
    return threshold


def combined(matcher, rows, ruled, predictions, threshold):
    listed = [intent.name for intent in matcher.intents]
    pairs, stages = [], []
    for row in rows:
        found = ruled[row.text]
        if STAGE in found.assign:
            intents, assign = found.intents, found.assign
        else:
            decision = combine(found, predictions[row.text], matcher, threshold=threshold, template=TEMPLATE)
            intents, assign = decision.intents, decision.assign
        expected = matcher.assignment(row.intent, template=TEMPLATE) if matcher.knows(row.intent) else {}
        pairs.append((row.intent, primary_intent(intents)))
        stages.append((expected.get(STAGE), assign.get(STAGE)))
    return score(pairs, listed, stages)


def main() -> None:
    matcher = compile_packs(load_packs(PACKS))
    rows = load_corpus("train")
    ruled = {row.text: matcher.match(row.text, template=TEMPLATE) for row in rows}
    for spec in sys.argv[1:] or ["{}"]:
        fields = json.loads(spec)
        config = TrainingConfig(features=FeatureConfig(**fields.pop("features", {})), **fields)
        predictions, seconds = out_of_fold(matcher, rows, config)
        alone = score([(row.intent, predictions[row.text].intent) for row in rows], [])
        threshold = calibrated_threshold(matcher, rows, ruled, predictions, config.target_precision)
        at_zero = combined(matcher, rows, ruled, predictions, 0.0)
        at_threshold = combined(matcher, rows, ruled, predictions, threshold)
        print(
            f"{spec}: model alone F1 {alone.macro_f1:.4f} | rules+model at 0: F1 {at_zero.macro_f1:.4f} "
            f"stage {at_zero.stage_accuracy:.4f} | at {threshold:.3f}: F1 {at_threshold.macro_f1:.4f} "
            f"stage {at_threshold.stage_accuracy:.4f} | fit {seconds:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
