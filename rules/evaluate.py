"""Accuracy of a matcher on labelled messages: precision, recall, F1 per intent and a confusion table."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

NONE = "none"


class _Matches(Protocol):
    def match(self, text: str, **context: Any) -> Any: ...


class Labelled(NamedTuple):
    """One labelled message; `line` is where it starts in its file (1-based, the header is line 1);
    `language` is the file's optional `language` column, "" without one."""

    text: str
    intent: str
    line: int = 0
    language: str = ""


class EvalDataError(ValueError):
    """A labelled-messages file that cannot be read; the message says which line and why."""


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    """Scores per intent (`none` excluded), their macro-F1, expected → predicted counts, and the stage
    accuracy when stages were given."""

    scores: tuple[IntentScore, ...]
    macro_f1: float
    accuracy: float
    total: int
    confusion: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Share of messages whose predicted stage (none: no change) is the labelled intent's; None when
    # the report was made without stages.
    stage_accuracy: float | None = None

    def below(self, min_f1: float) -> tuple[IntentScore, ...]:
        """The intents whose F1 is under `min_f1`."""
        return tuple(score for score in self.scores if score.f1 < min_f1)

    def as_dict(self) -> dict[str, Any]:
        stages = {} if self.stage_accuracy is None else {"stage_accuracy": round(self.stage_accuracy, 4)}
        return {
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            **stages,
            "intents": {
                score.intent: {
                    "precision": round(score.precision, 4),
                    "recall": round(score.recall, 4),
                    "f1": round(score.f1, 4),
                    "support": score.support,
                }
                for score in self.scores
            },
            "confusion": {expected: dict(row) for expected, row in self.confusion.items()},
        }


def primary_intent(intents: tuple[str, ...]) -> str:
    """The intent a message is scored as: the first listed one it matched, or `none`."""
    return intents[0] if intents else NONE


def evaluate(rows: Iterable[Sequence[Any]], matcher: _Matches, **context: Any) -> Report:
    """Score `matcher` on `(text, expected intent or "none", ...)` rows; `context` goes to `matcher.match`."""
    pairs = [(row[1], primary_intent(matcher.match(row[0], **context).intents)) for row in rows]
    return score(pairs, [intent.name for intent in getattr(matcher, "intents", ())])


def score(
    pairs: Sequence[tuple[str, str]],
    listed: Sequence[str] = (),
    stages: Sequence[tuple[str | None, str | None]] | None = None,
) -> Report:
    """The report on `(expected, predicted)` intent pairs; `listed` orders the intents (the matcher's
    order), `stages` are `(expected, predicted)` stages of the same messages, for the stage accuracy."""
    confusion: dict[str, Counter[str]] = {}
    for expected, predicted in pairs:
        confusion.setdefault(expected, Counter())[predicted] += 1
    expected_counts = Counter(expected for expected, _ in pairs)
    predicted_counts = Counter(predicted for _, predicted in pairs)
    correct = Counter(expected for expected, predicted in pairs if expected == predicted)
    order = _ordered(list(listed), expected_counts, predicted_counts)
    labels = [label for label in order if label != NONE]
    scores = []
    for label in labels:
        precision = _ratio(correct[label], predicted_counts[label])
        recall = _ratio(correct[label], expected_counts[label])
        f1 = _ratio(2 * precision * recall, precision + recall)
        scores.append(IntentScore(label, precision, recall, f1, expected_counts[label]))
    macro = sum(score.f1 for score in scores) / len(scores) if scores else 0.0
    table = {
        expected: {
            predicted: confusion[expected][predicted] for predicted in order if confusion[expected][predicted]
        }
        for expected in order
        if expected in confusion
    }
    stage_accuracy = None
    if stages is not None:
        stage_accuracy = _ratio(sum(expected == predicted for expected, predicted in stages), len(stages))
    return Report(
        tuple(scores), macro, _ratio(sum(correct.values()), len(pairs)), len(pairs), table, stage_accuracy
    )


def read_labelled_csv(path: str | os.PathLike[str]) -> list[Labelled]:
    """Rows of a `text,intent` CSV file (UTF-8, a BOM allowed, other columns ignored)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return parse_labelled_csv(handle.read(), os.fspath(path))
    except FileNotFoundError:
        raise EvalDataError(f"{os.fspath(path)}: no such file") from None
    except UnicodeDecodeError:
        raise EvalDataError(f"{os.fspath(path)}: not UTF-8 text") from None
    except OSError as error:
        raise EvalDataError(f"{os.fspath(path)}: {error.strerror or error}") from None


def parse_labelled_csv(text: str, source: str = "<csv>") -> list[Labelled]:
    """Rows of `text,intent[,language]` CSV text; blank rows are skipped, a row without an intent is an
    error."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip() for name in next(reader, [])]
        if "text" not in header or "intent" not in header:
            found = ",".join(header) or "nothing"
            raise EvalDataError(f"{source}: the header must name the columns text and intent, found {found}")
        text_at, intent_at = header.index("text"), header.index("intent")
        language_at = header.index("language") if "language" in header else None
        rows = []
        while True:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                return rows
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            message = cells[text_at] if text_at < len(cells) else ""
            intent = cells[intent_at] if intent_at < len(cells) else ""
            if not intent:
                raise EvalDataError(f"{source}:{start}: no intent (write none for no intent)")
            language = cells[language_at] if language_at is not None and language_at < len(cells) else ""
            rows.append(Labelled(message, intent, start, language))
    except csv.Error as error:
        raise EvalDataError(f"{source}:{reader.line_num}: {error}") from None


def format_report(report: Report) -> str:
    """The report as aligned plain text: a score table, macro-F1, then the confusion table."""
    width = max([len("intent"), len(NONE)] + [len(score.intent) for score in report.scores])
    lines = [f"{'intent':<{width}}  precision  recall     f1  support"]
    for score in report.scores:
        lines.append(
            f"{score.intent:<{width}}  {score.precision:9.3f}  {score.recall:6.3f}  {score.f1:5.3f}  {score.support:7d}"
        )
    lines.append("")
    lines.append(
        f"macro-F1 {report.macro_f1:.3f} over {len(report.scores)} intents; "
        f"accuracy {report.accuracy:.3f} on {report.total} messages"
        + ("" if report.stage_accuracy is None else f"; stage accuracy {report.stage_accuracy:.3f}")
    )
    lines.append("")
    lines.append("confusion (rows: expected, columns: predicted)")
    labels = list(report.confusion)
    for row in report.confusion.values():
        labels += [label for label in row if label not in labels]
    codes = {label: f"{i + 1}" for i, label in enumerate(labels)}
    cell = max(3, *(len(str(count)) for row in report.confusion.values() for count in row.values()))
    lines.append(f"{'':<{width + 4}}  " + " ".join(f"{codes[label]:>{cell}}" for label in labels))
    for expected in labels:
        row = report.confusion.get(expected, {})
        counts = " ".join(f"{(row.get(label) or '.')!s:>{cell}}" for label in labels)
        lines.append(f"{codes[expected]:>3} {expected:<{width}}  {counts}")
    return "\n".join(lines)


def _ordered(listed: list[str], *counters: Counter[str]) -> list[str]:
    """Labels that occur, in the matcher's listed order, then unknown ones sorted, then `none`."""
    seen = {label for counter in counters for label in counter}
    known = [label for label in listed if label in seen]
    other = sorted(seen - set(known) - {NONE})
    return known + other + ([NONE] if NONE in seen else [])


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0
