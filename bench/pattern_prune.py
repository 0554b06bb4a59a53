"""Which pack patterns does the model beat? Chosen on some train folds, checked on the others (run by hand).

    .venv/bin/python bench/pattern_prune.py

The rules decide first (SPEC §4): a message they give a stage never reaches the model. For each
pattern, on the train messages where the rules decide and that pattern is one the deciding intent
matched, it counts how often the rules' intent is right and how often the model's out-of-fold
prediction would be. A pattern is a candidate to drop when it decided at least 2 of them and the
model is right on at least one more, and on at least 20% more of them, than the rules. Kept anyway:
patterns of `opt_out` (a request to stop stays a rule's, auditable), the question mark, a phrase whose
own words would read as another intent without it ("no me interesa" keeps "me interesa" from
matching), and any phrase a pack's examples need (each `match` example still matches, each
`no_match` example reads as before).

It first checks the choice itself: chosen on three folds of train, the rules plus the model measured
on the other two, before and after, for four such splits; then lists what it would drop when chosen
on the whole train part. Calibration and test are never read. This is how the shipped packs lost
107 patterns (rules/corpus/README.md).
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_cv import PACKS, TEMPLATE, calibrated_threshold, combined, out_of_fold  # noqa: E402

from rules import Matcher, compile_packs, load_packs  # noqa: E402
from rules.corpus import bucket_of, load_corpus  # noqa: E402
from rules.decision import STAGE  # noqa: E402
from rules.patterns import is_regex  # noqa: E402
from rules.training import TrainingConfig  # noqa: E402

KEEP_INTENTS = {"opt_out"}
SPLITS = ({0, 1, 2}, {2, 3, 4}, {0, 3, 4}, {1, 3, 4})


def beaten(n: int, rules_right: int, model_right: int) -> bool:
    return n >= 2 and model_right - rules_right >= max(1, 0.2 * n)


class Pruner:
    def __init__(self, matcher: Matcher, rows, predictions) -> None:
        self.matcher, self.rows, self.predictions = matcher, rows, predictions
        self.ruled = {row.text: matcher.match(row.text, template=TEMPLATE) for row in rows}
        self._single: dict[tuple[int, str], Matcher] = {}
        packs = load_packs(PACKS)
        self.match_examples = [(i.name, x) for p in packs for i in p.intents for x in i.examples.match]
        self.no_match_examples = [x for p in packs for i in p.intents for x in i.examples.no_match]

    def fires(self, index: int, pattern: str, text: str) -> bool:
        found = self._single.get((index, pattern))
        if found is None:
            spec = dataclasses.replace(self.matcher.intents[index], patterns=(pattern,))
            found = self._single[(index, pattern)] = Matcher([spec])
        return bool(found.intent_names(text))

    def tally(self, rows) -> dict[tuple[str, str], list[int]]:
        """(intent, pattern) → [messages it decided, rules right, model right]."""
        counts: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0, 0])
        for row in rows:
            found = self.ruled[row.text]
            if STAGE not in found.assign:
                continue
            first = found.intents[0]
            index = self.matcher._index[first]
            for pattern in self.matcher.intents[index].patterns:
                if self.fires(index, pattern, row.text):
                    c = counts[(first, pattern)]
                    c[0] += 1
                    c[1] += first == row.intent
                    c[2] += self.predictions[row.text].intent == row.intent
        return counts

    def without(self, drop) -> Matcher:
        specs = [
            dataclasses.replace(s, patterns=tuple(p for p in s.patterns if (s.name, p) not in drop))
            for s in self.matcher.intents
        ]
        return Matcher(specs, self.matcher.ignore)

    def choose(self, counts) -> set[tuple[str, str]]:
        drop = {k for k, c in counts.items() if k[0] not in KEEP_INTENTS and k[1] != "?" and beaten(*c)}
        reduced = self.without(drop)
        keep = {(i, p) for i, p in drop if not is_regex(p) and set(reduced.intent_names(p)) - {i}}
        for intent, text in self.match_examples:
            if intent not in reduced.intent_names(text):
                index = self.matcher._index[intent]
                keep |= {(i, p) for i, p in drop if i == intent and self.fires(index, p, text)}
        for text in self.no_match_examples:
            if reduced.intent_names(text) != self.matcher.intent_names(text):
                keep |= {(i, p) for i, p in drop if self.fires(self.matcher._index[i], p, text)}
        return drop - keep


def main() -> None:
    matcher = compile_packs(load_packs(PACKS))
    rows = load_corpus("train")
    predictions, _ = out_of_fold(matcher, rows, TrainingConfig())
    pruner = Pruner(matcher, rows, predictions)
    threshold = calibrated_threshold(matcher, rows, pruner.ruled, predictions, 0.95)

    def measured(m: Matcher, held) -> tuple[float, float]:
        report = combined(
            m, held, {r.text: m.match(r.text, template=TEMPLATE) for r in held}, predictions, threshold
        )
        return report.macro_f1, report.stage_accuracy

    print(f"{len(rows):,} train messages; model threshold on out-of-fold predictions {threshold:.3f}")
    for folds in SPLITS:
        chosen = pruner.choose(pruner.tally([r for r in rows if bucket_of(r.text) % 5 in folds]))
        held = [r for r in rows if bucket_of(r.text) % 5 not in folds]
        (f1, stage), (f1_after, stage_after) = measured(matcher, held), measured(pruner.without(chosen), held)
        print(
            f"chosen on folds {sorted(folds)}: {len(chosen)} patterns; on the other {len(held):,} messages "
            f"macro-F1 {f1:.4f} -> {f1_after:.4f}, stage {stage:.4f} -> {stage_after:.4f}"
        )
    counts = pruner.tally(rows)
    chosen = sorted(pruner.choose(counts))
    print(f"\nchosen on all of train: {len(chosen)} patterns (decided / rules right / model right)")
    for intent, pattern in chosen:
        n, rules_right, model_right = counts[(intent, pattern)]
        print(f"  {intent:<22} {pattern!r:<40} {n:>3} {rules_right:>3} {model_right:>3}")


if __name__ == "__main__":
    main()
