"""A customer's statuses as a pure fold over their history in time order (SPEC §3).

No I/O here: the engine loads the state and the events, folds, and writes what came out. The same
events in any arrival order fold to the same state because they are always folded sorted by
`sort_key` (time, then a stable tie-breaker that does not depend on arrival).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from plugin.policy import Decision, decide
from plugin.statuses import Catalog


class Classification(Protocol):
    intents: tuple[str, ...]
    assign: dict[str, str]
    assigned_by: dict[str, str]


Classifier = Callable[[str, str, dict[str, str]], Classification]


@dataclass(frozen=True, slots=True)
class MessageIn:
    at: datetime
    tiebreak: str  # channel + provider id: the same for every delivery of a message
    message_id: int
    channel: str
    direction: str
    sender: str
    text: str
    opt: str | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.at, 0, self.tiebreak)


@dataclass(frozen=True, slots=True)
class CommandIn:
    """A manual change, an activity's effect or a time rule firing, as made."""

    at: datetime
    command_id: int
    kind: str  # manual | activity | time | import
    track: str
    status: str
    source: str
    actor: str
    note: str = ""

    @property
    def sort_key(self) -> tuple:
        return (self.at, 1, f"{self.command_id:020d}")

    @property
    def automatic(self) -> bool:
        return self.kind == "time"


Event = MessageIn | CommandIn


@dataclass(slots=True)
class State:
    statuses: dict[str, tuple[str, datetime | None]]  # track → (status key, entered at)
    opted_out: bool = False
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    waiting_since: datetime | None = None
    horizon: tuple | None = None  # sort key of the newest event folded in

    def copy(self) -> State:
        return replace(self, statuses=dict(self.statuses))

    def keys(self) -> dict[str, str]:
        return {track: key for track, (key, _) in self.statuses.items()}


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry to append: an applied change or a blocked automatic decision."""

    track: str
    from_status: str | None
    to_status: str
    source: str
    actor: str
    applied: bool
    reason: str
    at: datetime
    note: str = ""
    message_id: int | None = None


@dataclass
class FoldResult:
    state: State
    entries: list[Entry] = field(default_factory=list)
    intents: dict[int, tuple[str, ...]] = field(default_factory=dict)  # message id → matched intents


def initial_state(catalog: Catalog) -> State:
    return State({t.key: (t.first.key, None) for t in catalog.tracks.values()})


def fold(
    state: State, events: Iterable[Event], catalog: Catalog, classify: Classifier, *, replay: bool = False
) -> FoldResult:
    """Applies `events` (any order) to a copy of `state`, in time order; `replay` when they are a
    customer's whole history folded again (manual changes then stand as they were made)."""
    return _Folder(catalog, classify, FoldResult(state.copy()), replay).run(events)


@dataclass
class _Folder:
    catalog: Catalog
    classify: Classifier
    result: FoldResult
    replay: bool = False

    def run(self, events: Iterable[Event]) -> FoldResult:
        state = self.result.state
        for event in sorted(events, key=lambda e: e.sort_key):
            if isinstance(event, MessageIn):
                self._message(event)
            else:
                self._move(
                    event.track,
                    event.status,
                    event.source,
                    event.actor,
                    event.at,
                    automatic=event.automatic,
                    note=event.note,
                    as_made=self.replay and not event.automatic,
                )
            state.horizon = max(state.horizon or event.sort_key, event.sort_key)
        return self.result

    def _message(self, m: MessageIn) -> None:
        s = self.result.state
        if m.direction == "inbound":
            s.last_inbound_at = max(s.last_inbound_at or m.at, m.at)
            if s.waiting_since is None:
                s.waiting_since = m.at
            if m.opt is not None:
                s.opted_out = m.opt == "out"
            self._move("reply", "in_progress", "reply", "system", m.at, message_id=m.message_id, system=True)
            if m.sender == "customer" and m.opt is None and m.text:
                found = self.classify(m.text, m.channel, s.keys())
                self.result.intents[m.message_id] = tuple(found.intents)
                for track, status in found.assign.items():
                    intent = found.assigned_by.get(track, "intent")
                    self._move(
                        track,
                        status,
                        f"rule:{intent}",
                        "system",
                        m.at,
                        automatic=True,
                        message_id=m.message_id,
                    )
        else:
            s.last_outbound_at = max(s.last_outbound_at or m.at, m.at)
            s.waiting_since = None
            self._move("reply", "no_reply", "reply", "system", m.at, message_id=m.message_id, system=True)

    def _move(
        self,
        track: str,
        to: str,
        source: str,
        actor: str,
        at: datetime,
        *,
        automatic: bool = False,
        note: str = "",
        message_id: int | None = None,
        system: bool = False,
        as_made: bool = False,
    ) -> None:
        catalog_track = self.catalog.tracks.get(track)
        if catalog_track is None or track not in self.result.state.statuses:
            return  # the track is gone: nothing to decide on
        current_key, _ = self.result.state.statuses[track]
        if current_key == to:
            return
        current = catalog_track.status(current_key)
        target = catalog_track.status(to)
        if system:
            if target is None or target.archived:
                decision = Decision(False, f"{to} is archived or no longer exists")
            else:
                decision = Decision(True, "system")
        else:
            target_ref = target.ref if target else None
            if as_made and target_ref is not None and target_ref.archived:
                # A manual change was checked when it was made (no archived target then); a replay
                # folds it as it was made, so its customer keeps a status archived since (SPEC §3).
                target_ref = replace(target_ref, archived=False)
            decision = decide(current.ref if current else None, target_ref, automatic=automatic)
        self.result.entries.append(
            Entry(
                track, current_key, to, source, actor, decision.applied, decision.reason, at, note, message_id
            )
        )
        if decision.applied:
            self.result.state.statuses[track] = (to, at)
