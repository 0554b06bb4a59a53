"""The compiled matcher: every phrase of every pack in one automaton, resolved leftmost-longest (SPEC §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ahocorasick

from rules.pack import IntentSpec, Pack, merge_intents
from rules.patterns import compile_regex, is_regex, phrase_key
from rules.prefilter import UNGATED_CHARS, required_literals
from rules.text import joins_words, normalize

Overrides = Mapping[str, Mapping[str, str | None]]


@dataclass(frozen=True)
class Match:
    """The intents a message matched, in the order the packs list them, and what they assign per track."""

    intents: tuple[str, ...] = ()
    assign: dict[str, str] = field(default_factory=dict)


def compile_packs(packs: Sequence[Pack]) -> Matcher:
    """Build the matcher for packs used together, in the order given. Raises PackError if they clash."""
    return Matcher(merge_intents(packs), ignore=[pattern for pack in packs for pattern in pack.ignore])


class Matcher:
    """Matches normalized text against all phrases at once; the cost per message is flat in their number."""

    def __init__(self, intents: Sequence[IntentSpec], ignore: Sequence[str] = ()) -> None:
        self.intents: tuple[IntentSpec, ...] = tuple(intents)
        self.ignore: tuple[str, ...] = tuple(dict.fromkeys(ignore))
        self._index = {intent.name: i for i, intent in enumerate(self.intents)}
        # An ignored pattern is a token owned by no intent: it wins the words it covers and yields nothing.
        phrases: dict[str, list[int]] = {phrase_key(p): [] for p in self.ignore if not is_regex(p)}
        regexes: dict[str, list[int]] = {p: [] for p in self.ignore if is_regex(p)}
        for i, intent in enumerate(self.intents):
            for pattern in intent.patterns:
                owners = regexes if is_regex(pattern) else phrases
                key = pattern if is_regex(pattern) else phrase_key(pattern)
                if i not in owners.setdefault(key, []):
                    owners[key].append(i)
        self._regexes = tuple((compile_regex(pattern), tuple(owners)) for pattern, owners in regexes.items())
        gates: dict[str, list[int]] = {}
        always: list[int] = []
        for number, (regex, _owners) in enumerate(self._regexes):
            literals = required_literals(regex)
            if literals is None:
                always.append(number)
            for literal in literals or ():
                gates.setdefault(literal, []).append(number)
        self._always_run = tuple(always)
        self._automaton = _build_automaton(phrases, gates)
        self._conditional = tuple(
            intent.conditions.channels is not None or bool(intent.conditions.status)
            for intent in self.intents
        )

    def match(
        self,
        text: str,
        *,
        channel: str | None = None,
        current: Mapping[str, str] | None = None,
        template: str | None = None,
        overrides: Overrides | None = None,
    ) -> Match:
        """The intents `text` matches and the statuses they assign.

        `channel` and `current` (`{track: status}`) are checked against intents' conditions; `template`
        picks `assign_by_template`; `overrides` (`{intent: {track: status or None}}`) replace what an
        intent assigns on a track, None meaning "nothing".
        """
        names = self.intent_names(text, channel=channel, current=current)
        if not names:
            return Match()
        return Match(names, self.assignments(names, template=template, overrides=overrides))

    def intent_names(
        self, text: str, *, channel: str | None = None, current: Mapping[str, str] | None = None
    ) -> tuple[str, ...]:
        """`match(...).intents` without the assignments: what they assign depends on the names alone,
        so a caller that sees the same names again can keep `assignments(names)`."""
        return self.names_of(self.matched(text), channel=channel, current=current)

    def matched(self, text: str) -> frozenset[int]:
        """The intents whose patterns `text` matches, before their conditions: the costly part of a
        match, which depends on the text alone (a caller may compute it ahead of `names_of`)."""
        return frozenset(self._matched_indexes(normalize(text)))

    def names_of(
        self, matched: frozenset[int], *, channel: str | None = None, current: Mapping[str, str] | None = None
    ) -> tuple[str, ...]:
        """The names of the `matched` intents whose conditions hold, in pack order."""
        if not matched:
            return ()
        intents, conditional = self.intents, self._conditional
        return tuple(
            intents[i].name
            for i in sorted(matched)
            if not conditional[i] or intents[i].conditions.met(channel, current)
        )

    def assignments(
        self, names: Sequence[str], *, template: str | None = None, overrides: Overrides | None = None
    ) -> dict[str, str]:
        """What intents `names` assign together, in their order: on each track the first one wins."""
        assign: dict[str, str] = {}
        for name in names:
            for track, status in self.assignment(name, template=template, overrides=overrides).items():
                assign.setdefault(track, status)
        return assign

    def knows(self, name: str) -> bool:
        """True when `name` is an intent of the packs."""
        return name in self._index

    def allows(
        self, name: str, *, channel: str | None = None, current: Mapping[str, str] | None = None
    ) -> bool:
        """True when intent `name`'s conditions (channel, current status) hold: what `match` checks for
        the rules' intents, for an intent found another way (the model's)."""
        index = self._index[name]
        return not self._conditional[index] or self.intents[index].conditions.met(channel, current)

    def assignment(
        self, name: str, *, template: str | None = None, overrides: Overrides | None = None
    ) -> dict[str, str]:
        """What intent `name` assigns in a workspace with `template` and `overrides`; KeyError if unknown."""
        return self._assignment(self.intents[self._index[name]], template, overrides)

    @staticmethod
    def _assignment(intent: IntentSpec, template: str | None, overrides: Overrides | None) -> dict[str, str]:
        assignment = intent.assignment(template)
        override = overrides.get(intent.name) if overrides else None
        if override:
            for track, status in override.items():
                if status is None:
                    assignment.pop(track, None)
                else:
                    assignment[track] = status
        return assignment

    def _matched_indexes(self, text: str) -> set[int]:
        """Indexes of intents owning a token of `text` once tokens are chosen leftmost-longest."""
        spans: list[tuple[int, int, tuple[int, ...]]] = []
        run = set(self._always_run)
        if self._automaton is not None and text:
            last = len(text) - 1
            for end, (length, check_left, check_right, owners, gates) in self._automaton.iter(text):
                if gates:
                    run.update(gates)
                if owners is None:
                    continue
                start = end - length + 1
                if check_left and start > 0 and joins_words(text[start - 1]):
                    continue
                if check_right and end < last and joins_words(text[end + 1]):
                    continue
                spans.append((start, -end - 1, owners))
        if self._regexes and not text.isascii() and not UNGATED_CHARS.isdisjoint(text):
            run = range(len(self._regexes))
        for number in run:
            regex, owners = self._regexes[number]
            for found in regex.finditer(text):
                if found.end() > found.start():
                    spans.append((found.start(), -found.end(), owners))
        if not spans:
            return set()
        if len(spans) == 1:
            return set(spans[0][2])
        # Leftmost-longest, as a tokenizer reads: at the first start take the longest span, skip past it,
        # go on. Spans sharing the chosen start and end are the same token and all count.
        spans.sort()
        matched: set[int] = set()
        position = 0
        chosen: tuple[int, int] | None = None
        for start, negative_end, owners in spans:
            if (start, negative_end) == chosen:
                matched.update(owners)
            elif start >= position:
                chosen = (start, negative_end)
                position = -negative_end
                matched.update(owners)
        return matched


def _build_automaton(
    phrases: Mapping[str, list[int]], gates: Mapping[str, list[int]]
) -> ahocorasick.Automaton | None:
    """One automaton for phrases (owners: intent indexes, () for ignored phrases) and regex gates.

    Each key maps to (length, check left edge, check right edge, owners or None, regexes to run).
    """
    if not phrases and not gates:
        return None
    automaton = ahocorasick.Automaton()
    for key in phrases.keys() | gates.keys():
        owners = tuple(phrases[key]) if key in phrases else None
        automaton.add_word(
            key, (len(key), joins_words(key[0]), joins_words(key[-1]), owners, tuple(gates.get(key, ())))
        )
    automaton.make_automaton()
    return automaton
