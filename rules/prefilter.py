"""Literals a regular expression cannot match without, so the phrase automaton can tell when to run it.

Running every `/regex/` on every message would make regexes the cost of matching. Most need a
literal word ("paid", "how", "?"), so the automaton that finds phrases also finds these literals and
only the regexes whose literal occurs in the message are run. This is the same idea as RE2's
prefilter, kept to what is sound and simple: ASCII literal runs, alternations, repeats of one or more.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser behind `re`; private, so fall back to "always run" if it moves
    import re._constants as _c  # type: ignore[import-not-found]
    import re._parser as _parser  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older or newer Pythons
    _parser = None
    _c = None

# Characters of normalized text that re.IGNORECASE equates with an ASCII letter they are not: the
# dotless i matches "i". Normalization (NFKC, casefold) removes the other such look-alikes (ſ, K, ...).
# A message containing one runs every regex, so a literal "i" in a gate cannot miss a match.
UNGATED_CHARS = frozenset("\u0131")


def required_literals(regex: re.Pattern[str]) -> frozenset[str] | None:
    """Lowercase strings one of which every match of `regex` contains, or None when there are none."""
    if _parser is None:
        return None
    try:
        tree = _parser.parse(regex.pattern, regex.flags)
    except (re.error, RecursionError, AttributeError, TypeError):
        return None
    literals = _sequence(list(tree))
    return frozenset(literals) if literals else None


def _sequence(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The most selective literal set among the parts every match of this sequence goes through."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, argument in items:
        if op is _c.LITERAL and chr(argument).isascii():
            run.append(chr(argument).lower())
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        inner = _part(op, argument)
        if inner:
            candidates.append(inner)
    if run:
        candidates.append({"".join(run)})
    if not candidates:
        return None
    # The rarest set wins; lacking frequencies, "rare" is "longest shortest literal", spaces not counted.
    return max(
        candidates, key=lambda literals: (min(len(literal.strip()) for literal in literals), -len(literals))
    )


def _part(op: Any, argument: Any) -> set[str] | None:
    if op is _c.SUBPATTERN:
        return _sequence(list(argument[-1]))
    if op is _c.ATOMIC_GROUP:
        return _sequence(list(argument))
    if op is _c.BRANCH:
        branches = [_sequence(list(branch)) for branch in argument[1]]
        if any(branch is None for branch in branches):
            return None
        return set().union(*branches)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
        low, _high, inner = argument
        return _sequence(list(inner)) if low >= 1 else None
    # Anchors, look-arounds, classes, back-references: nothing a match must contain literally.
    return None
