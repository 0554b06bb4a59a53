"""Rules alone against rules plus the model, on labelled messages: per intent, per language, and stages.

A message counts as its decision's first intent (`none` when there is none). Its stage is right when
the decision assigns the stage its labelled intent assigns on the template (`none`, or an intent that
assigns no stage: no change). `rules test` with no file runs this on the corpus's test part.

    comparison = compare(load_corpus("test"), matcher, model)
    print(format_comparison(comparison))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.corpus import load_corpus
from rules.decision import STAGE, Decision, decide_many
from rules.evaluate import NONE, Report, format_report, primary_intent, score
from rules.matcher import Matcher, Overrides
from rules.model import Model

DEFAULT_TEMPLATE = "online-store"
ALL = "all"


@dataclass(frozen=True)
class Side:
    """One way of deciding, scored on all messages (`ALL`) and on each language's."""

    name: str
    reports: Mapping[str, Report] = field(default_factory=dict)

    @property
    def overall(self) -> Report:
        return self.reports[ALL]


@dataclass(frozen=True)
class Comparison:
    """`sides[0]` is rules only; `sides[1]`, when a model was given, is rules plus the model."""

    sides: tuple[Side, ...]
    template: str
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "template": self.template,
            **{
                side.name: {key: report.as_dict() for key, report in side.reports.items()}
                for side in self.sides
            },
        }


def compare(
    rows: Sequence[Sequence[Any]],
    matcher: Matcher,
    model: Model | None = None,
    *,
    template: str = DEFAULT_TEMPLATE,
    overrides: Overrides | None = None,
    channel: str | None = None,
    threshold: float | None = None,
    label: str = "",
) -> Comparison:
    """Score `(text, intent[, language])` rows with the rules, and with rules plus `model` if given.

    A row's language is its third field when it has one ("" otherwise); each language seen gets its
    own report beside the `ALL` report.
    """
    texts = [row[0] for row in rows]
    expected = [row[1] for row in rows]
    languages = [_language_of(row) for row in rows]
    context: dict[str, Any] = {"template": template, "overrides": overrides, "channel": channel}
    sides = [("rules", decide_many(texts, matcher, None, **context))]
    if model is not None:
        sides.append(("rules+model", decide_many(texts, matcher, model, threshold=threshold, **context)))
    gold = [_stage_of(matcher, intent, template, overrides) for intent in expected]
    listed = [intent.name for intent in matcher.intents]
    return Comparison(
        tuple(
            Side(name, _reports(decisions, expected, gold, languages, listed)) for name, decisions in sides
        ),
        template,
        label,
    )


def compare_on_corpus(
    matcher: Matcher,
    model: Model | None = None,
    *,
    part: str = "test",
    languages: Sequence[str] | None = None,
    template: str = DEFAULT_TEMPLATE,
    overrides: Overrides | None = None,
) -> Comparison:
    """`compare` on a part of the shipped corpus (default: test), keeping rows of intents the packs know."""
    known = {intent.name for intent in matcher.intents} | {NONE}
    rows = [row for row in load_corpus(part, languages=languages) if row.intent in known]
    return compare(rows, matcher, model, template=template, overrides=overrides, label=f"corpus {part} part")


def format_comparison(comparison: Comparison, *, details: bool = True) -> str:
    """A summary table (macro-F1 and stage accuracy per language, side by side), then each side's
    full report on all messages when `details`."""
    names = [side.name for side in comparison.sides]
    keys = list(comparison.sides[0].reports)
    lines = [f"{comparison.label or 'labelled messages'}, template {comparison.template}", ""]
    header = f"{'language':<10}{'messages':>9}"
    for name in names:
        header += f"  {name + ' F1':>16}  {name + ' stage':>19}"
    lines.append(header)
    for key in keys:
        line = f"{key:<10}{comparison.sides[0].reports[key].total:>9}"
        for side in comparison.sides:
            report = side.reports[key]
            line += f"  {report.macro_f1:>16.3f}  {report.stage_accuracy or 0.0:>19.3f}"
        lines.append(line)
    if details:
        for side in comparison.sides:
            lines += ["", f"== {side.name}, all messages", format_report(side.overall)]
    return "\n".join(lines)


def _reports(
    decisions: Sequence[Decision],
    expected: Sequence[str],
    gold: Sequence[str | None],
    languages: Sequence[str],
    listed: Sequence[str],
) -> dict[str, Report]:
    predicted = [primary_intent(decision.intents) for decision in decisions]
    stages = [decision.assign.get(STAGE) for decision in decisions]
    reports = {}
    for key in [ALL, *sorted(set(languages) - {""})]:
        chosen = [i for i, language in enumerate(languages) if key == ALL or language == key]
        reports[key] = score(
            [(expected[i], predicted[i]) for i in chosen], listed, [(gold[i], stages[i]) for i in chosen]
        )
    return reports


def _stage_of(matcher: Matcher, intent: str, template: str, overrides: Overrides | None) -> str | None:
    try:
        return matcher.assignment(intent, template=template, overrides=overrides).get(STAGE)
    except KeyError:  # `none`, or an intent the packs do not define
        return None


def _language_of(row: Sequence[Any]) -> str:
    language = getattr(row, "language", None)
    if language is None and len(row) > 2 and isinstance(row[2], str):
        language = row[2]
    return language or ""
