"""Rule packs: reading YAML pack files into validated, immutable intents, all or nothing (SPEC §4)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from rules.schema import PackSchema
from rules.yaml_lines import YAMLSourceError, line_of, load_yaml, node_at

PACKS_DIR = Path(__file__).parent / "packs"

Known = Mapping[str, Set[str]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack file: where, which field, and what."""

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PackError(ValueError):
    """A pack that cannot be used; the message names the file, the line and the field of the first problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        super().__init__(str(first) + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))
        self.source, self.line, self.field = first.source, first.line, first.field


@dataclass(frozen=True)
class Conditions:
    """When a matched intent counts: on these channels, and with the customer on these statuses."""

    channels: frozenset[str] | None = None
    status: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def met(self, channel: str | None, current: Mapping[str, str] | None) -> bool:
        """True when the message's channel and the customer's statuses satisfy every condition.

        A condition on a fact the caller did not give (no channel, no current statuses) is not met:
        an intent restricted to SMS does not fire when the channel is unknown.
        """
        if self.channels is not None and channel not in self.channels:
            return False
        return all(current is not None and current.get(track) in keys for track, keys in self.status.items())


@dataclass(frozen=True)
class Examples:
    """Messages the test suite runs: `match` must yield the intent, `no_match` must not."""

    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentSpec:
    """One intent as a pack defines it (or, in a Matcher, as all loaded packs define it together)."""

    name: str
    pack: str
    assign: Mapping[str, str]
    assign_by_template: Mapping[str, Mapping[str, str]]
    patterns: tuple[str, ...]
    conditions: Conditions = Conditions()
    examples: Examples = Examples()
    extends: bool = False
    description: str = ""
    source: str = ""
    line: int = 0

    def assignment(self, template: str | None = None) -> dict[str, str]:
        """What the intent assigns, `{track: status}`, in a workspace using `template`."""
        if template is not None and template in self.assign_by_template:
            return dict(self.assign_by_template[template])
        return dict(self.assign)


@dataclass(frozen=True)
class Pack:
    """A loaded, validated pack file."""

    name: str
    language: str
    intents: tuple[IntentSpec, ...]
    description: str = ""
    source: str = ""
    # Phrases that mean no intent, such as "don't need shipping": they take their words out of the
    # leftmost-longest selection, so "shipping" inside them matches nothing.
    ignore: tuple[str, ...] = ()


def available_packs() -> list[str]:
    """Names of the packs shipped in rules/packs/."""
    return sorted(path.stem for path in PACKS_DIR.glob("*.yaml"))


def load_pack(
    source: str | os.PathLike[str],
    known: Known | None = None,
    *,
    templates: Mapping[str, Known] | None = None,
) -> Pack:
    """Read one pack: a name from rules/packs/ or a path to a YAML file. Raises PackError.

    `known` maps each track to its status keys (None skips the check); `templates` maps each template
    key to its own `{track: statuses}` and, when given, checks `assign_by_template` against it.
    """
    path = _pack_path(source)
    label = str(source) if _looks_like_path(source) else path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PackError(
            [Problem(label, None, "", f"cannot read the pack: {error.strerror or error}")]
        ) from None
    except UnicodeDecodeError:
        raise PackError([Problem(label, None, "", "the pack is not UTF-8 text")]) from None
    return parse_pack(text, label, known, templates=templates)


def load_packs(
    sources: Iterable[str | os.PathLike[str]],
    known: Known | None = None,
    *,
    templates: Mapping[str, Known] | None = None,
) -> tuple[Pack, ...]:
    """Read packs meant to be used together, and check they combine (see `merge_intents`)."""
    packs = tuple(load_pack(source, known, templates=templates) for source in sources)
    merge_intents(packs)
    return packs


def parse_pack(
    text: str, source: str, known: Known | None = None, *, templates: Mapping[str, Known] | None = None
) -> Pack:
    """Validate the text of a pack file; `source` names the file in error messages."""
    try:
        document = load_yaml(text)
    except YAMLSourceError as error:
        raise PackError([Problem(source, error.line, "", str(error))]) from None
    if document is None:
        raise PackError([Problem(source, 1, "", "the pack is empty")])
    if not isinstance(document, dict):
        raise PackError([Problem(source, getattr(document, "line", 1), "", "a pack must be a YAML mapping")])
    try:
        data = PackSchema().load(document)
    except ValidationError as error:
        raise PackError(_problems(source, document, _flatten(error.messages))) from None
    problems = _check_meaning(data, known, templates)
    if problems:
        raise PackError(_problems(source, document, problems))
    intents = tuple(
        _intent(raw, data["pack"], source, line_of(document, ("intents", i)))
        for i, raw in enumerate(data["intents"])
    )
    return Pack(
        data["pack"],
        data["language"],
        intents,
        data["description"],
        source,
        tuple(dict.fromkeys(data["ignore"])),
    )


def merge_intents(packs: Sequence[Pack]) -> tuple[IntentSpec, ...]:
    """The intents of `packs` as one list, in listed order, with `extends: true` intents folded in.

    An intent name may appear once, unless a later pack marks its intent `extends: true`: its patterns
    and examples then join the earlier intent, whose assignment and conditions stand. Raises PackError.
    """
    merged: dict[str, IntentSpec] = {}
    problems: list[Problem] = []
    pack_sources: dict[str, str] = {}
    for pack in packs:
        if pack.name in pack_sources:
            problems.append(
                Problem(
                    pack.source,
                    1,
                    "pack",
                    f"pack {pack.name!r} is already loaded from {pack_sources[pack.name]}",
                )
            )
            continue
        pack_sources[pack.name] = pack.source
        for intent in pack.intents:
            base = merged.get(intent.name)
            if base is None and intent.extends:
                problems.append(
                    Problem(
                        intent.source,
                        intent.line,
                        f"{intent.name}.extends",
                        f"no earlier pack defines intent {intent.name!r}; list the pack that "
                        "defines it before this one",
                    )
                )
            elif base is None:
                merged[intent.name] = intent
            elif not intent.extends:
                problems.append(
                    Problem(
                        intent.source,
                        intent.line,
                        f"{intent.name}.name",
                        f"duplicate intent {intent.name!r}, already defined in pack {base.pack!r} "
                        f"({base.source}:{base.line}); mark it `extends: true` to add to it",
                    )
                )
            else:
                merged[intent.name] = _extended(base, intent)
    if problems:
        raise PackError(problems)
    return tuple(merged.values())


def _extended(base: IntentSpec, extra: IntentSpec) -> IntentSpec:
    patterns = tuple(dict.fromkeys(base.patterns + extra.patterns))
    examples = Examples(
        base.examples.match + extra.examples.match, base.examples.no_match + extra.examples.no_match
    )
    return IntentSpec(
        base.name,
        base.pack,
        base.assign,
        base.assign_by_template,
        patterns,
        base.conditions,
        examples,
        False,
        base.description,
        base.source,
        base.line,
    )


def _looks_like_path(source: str | os.PathLike[str]) -> bool:
    text = os.fspath(source)
    return (
        isinstance(source, os.PathLike) or os.sep in text or "/" in text or text.endswith((".yaml", ".yml"))
    )


def _pack_path(source: str | os.PathLike[str]) -> Path:
    if _looks_like_path(source):
        return Path(source)
    name = os.fspath(source)
    path = PACKS_DIR / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(available_packs()) or "none"
        raise PackError([Problem(name, None, "", f"unknown pack {name!r} (available: {choices})")])
    return path


def _intent(raw: dict[str, Any], pack: str, source: str, line: int | None) -> IntentSpec:
    conditions = raw["conditions"]
    examples = raw["examples"]
    channels = conditions.get("channel")
    return IntentSpec(
        name=raw["name"],
        pack=pack,
        assign=dict(raw["assign"]),
        assign_by_template={key: dict(value) for key, value in raw["assign_by_template"].items()},
        patterns=tuple(dict.fromkeys(raw["patterns"])),
        conditions=Conditions(
            frozenset(channels) if channels is not None else None,
            {track: frozenset(keys) for track, keys in conditions.get("status", {}).items()},
        ),
        examples=Examples(tuple(examples.get("match", ())), tuple(examples.get("no_match", ()))),
        extends=raw["extends"],
        description=raw["description"],
        source=source,
        line=line or 0,
    )


def _check_meaning(data: dict[str, Any], known: Known | None, templates: Mapping[str, Known] | None):
    """Problems the schema cannot see: duplicate names, extensions that reassign, unknown statuses."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    first_index: dict[str, int] = {}
    for i, intent in enumerate(data["intents"]):
        at = ("intents", i)
        if intent["name"] in first_index:
            problems.append(
                (
                    at + ("name",),
                    f"duplicate intent {intent['name']!r} (also intents[{first_index[intent['name']]}])",
                )
            )
        first_index.setdefault(intent["name"], i)
        if intent["extends"]:
            for key in ("assign", "assign_by_template", "conditions"):
                if intent[key]:
                    problems.append(
                        (
                            at + (key,),
                            f"an intent with `extends: true` takes {key} from the intent "
                            "it extends; remove it here",
                        )
                    )
        problems += _check_assignment(at + ("assign",), intent["assign"], known)
        for template, assignment in intent["assign_by_template"].items():
            where = at + ("assign_by_template", template)
            if templates is not None and template not in templates:
                problems.append(
                    (where, f"unknown template {template!r} (known: {', '.join(sorted(templates))})")
                )
                continue
            problems += _check_assignment(where, assignment, templates[template] if templates else known)
        for track, keys in intent["conditions"].get("status", {}).items():
            for j, key in enumerate(keys):
                problems += _check_assignment(
                    at + ("conditions", "status", track, j), {track: key}, known, pointed=True
                )
    return problems


def _check_assignment(at: tuple[Any, ...], assignment: Mapping[str, str], known: Known | None, pointed=False):
    if known is None:
        return []
    problems = []
    for track, status in assignment.items():
        where = at if pointed else at + (track,)
        if track not in known:
            problems.append((where, f"unknown track {track!r} (known: {', '.join(sorted(known))})"))
        elif status not in known[track]:
            problems.append(
                (
                    where,
                    f"unknown status {status!r} on track {track!r} "
                    f"(known: {', '.join(sorted(known[track]))})",
                )
            )
    return problems


def _flatten(messages: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(messages, dict):
        return [item for key, value in messages.items() for item in _flatten(value, path + (key,))]
    if isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        return [(path, message) for message in messages]
    if isinstance(messages, list):
        return [item for value in messages for item in _flatten(value, path)]
    return [(path, str(messages))]


def _problems(source: str, document: Any, found: list[tuple[tuple[Any, ...], str]]) -> list[Problem]:
    problems = [
        Problem(source, line_of(document, path), _field_name(document, path), message.rstrip("."))
        for path, message in found
    ]
    return sorted(problems, key=lambda problem: problem.line or 0)


def _field_name(document: Any, path: tuple[Any, ...]) -> str:
    """`ask_price.patterns[1]`: the intent by name (or `intents[3]`), then keys and list indexes."""
    path = tuple(step for step in path if step != "_schema")
    parts: list[str] = []
    rest = path
    if len(path) >= 2 and path[0] == "intents" and isinstance(path[1], int):
        name = node_at(document, path[:2] + ("name",))
        named = isinstance(name, str) and re.fullmatch(r"[a-z0-9_]+", name)
        parts.append(name if named else f"intents[{path[1]}]")
        rest = path[2:]
    for depth, step in enumerate(rest):
        container = node_at(document, path[: len(path) - len(rest) + depth])
        if isinstance(step, int) and isinstance(container, list):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)
