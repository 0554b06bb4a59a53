"""Would a pack phrase help? Its effect on the stages decided on the corpus's train part (run by hand).

    printf 'opt_out\tunsub\nnot_ready\tget back to you\n' | .venv/bin/python bench/phrase_check.py

Reads `intent<TAB>pattern` lines (a phrase, or a /regex/). For each candidate alone, added to the
shipped packs, it lists the train messages whose stage decision changes, counting those it makes
right and those it makes wrong; the model's part of each decision is its out-of-fold prediction at
the threshold the calibration rule would choose. This is how phrases were added to and removed from
the packs: a phrase whose changes on train are mostly right, and that reads as general, goes in.
Calibration and test are never read.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_cv import PACKS, TEMPLATE, calibrated_threshold, out_of_fold  # noqa: E402

from rules import Matcher, compile_packs, load_packs  # noqa: E402
from rules.corpus import load_corpus  # noqa: E402
from rules.decision import STAGE, combine  # noqa: E402
from rules.training import TrainingConfig  # noqa: E402


def stages_with(matcher, rows, predictions, threshold):
    """The stage decided for each train message by `matcher` first, then the model."""
    decided = {}
    for row in rows:
        found = matcher.match(row.text, template=TEMPLATE)
        if STAGE not in found.assign:
            found = combine(found, predictions[row.text], matcher, threshold=threshold, template=TEMPLATE)
        decided[row.text] = found.assign.get(STAGE)
    return decided


def with_pattern(matcher: Matcher, intent: str, pattern: str) -> Matcher:
    specs = [
        dataclasses.replace(spec, patterns=spec.patterns + (pattern,)) if spec.name == intent else spec
        for spec in matcher.intents
    ]
    return Matcher(specs, matcher.ignore)


def main() -> None:
    matcher = compile_packs(load_packs(PACKS))
    rows = load_corpus("train")
    config = TrainingConfig()
    predictions, _ = out_of_fold(matcher, rows, config)
    ruled = {row.text: matcher.match(row.text, template=TEMPLATE) for row in rows}
    threshold = calibrated_threshold(matcher, rows, ruled, predictions, config.target_precision)
    gold = {
        row.text: matcher.assignment(row.intent, template=TEMPLATE).get(STAGE)
        if matcher.knows(row.intent)
        else None
        for row in rows
    }
    before = stages_with(matcher, rows, predictions, threshold)
    for line in sys.stdin.read().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, pattern = line.split("\t", 1)
        after = stages_with(with_pattern(matcher, intent, pattern), rows, predictions, threshold)
        changed = [row for row in rows if after[row.text] != before[row.text]]
        right = [row for row in changed if after[row.text] == gold[row.text]]
        wrong = [row for row in changed if before[row.text] == gold[row.text]]
        print(
            f"{intent:<20} {pattern!r:<40} changed {len(changed):>3}  right {len(right):>3}  wrong {len(wrong):>3}"
        )
        for row in wrong[:3]:
            print(f"    made wrong: {row.intent}: {row.text[:80]}")


if __name__ == "__main__":
    main()
