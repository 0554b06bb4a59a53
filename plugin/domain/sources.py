"""What an audit entry's `source` means, in the words every surface shows (SPEC §2, §4)."""

from __future__ import annotations


def describe_source(source: str, confidence: float | None = None) -> str:
    """`rule:ask_price` → "rule: ask_price"; `model:ask_shipping` with 0.93 → "model: ask_shipping
    (confidence 0.93)"; `time:greeting_unanswered` → "time rule greeting_unanswered"; the others (manual, reply, activity, import) as they are."""
    kind, _, name = source.partition(":")
    if kind == "rule" and name:
        return f"rule: {name}"
    if kind == "model" and name:
        shown = f" (confidence {confidence:.2f})" if confidence is not None else ""
        return f"model: {name}{shown}"
    if kind == "time" and name:
        return f"time rule {name}"
    return source  # manual, reply, activity, import: the word is its own explanation
