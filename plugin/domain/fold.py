"""A customer's statuses as a pure fold over their history in time order (SPEC §3).

No I/O here: the engine loads the state and the events, folds, and writes what came out. The same
events in any arrival order fold to the same state because they are always folded sorted by
`sort_key` (time, then a stable tie-breaker that does not depend on arrival).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple, Protocol

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.policy import Decision, decide


class Classification(Protocol):
    """What a message means: its intents, what they assign per track and which intent assigns each,
    and which matcher decided (`rule` or `model`, None when nothing matched) with the model's
    confidence (None for the rules)."""

    @property
    def intents(self) -> tuple[str, ...]: ...
    @property
    def assign(self) -> Mapping[str, str]: ...
    @property
    def assigned_by(self) -> Mapping[str, str]: ...
    @property
    def source(self) -> str | None: ...
    @property
    def confidence(self) -> float | None: ...


Classifier = Callable[[str, str, dict[str, str]], Classification]


class MessageIn(NamedTuple):
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


class CommandIn(NamedTuple):
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
# A command kind, and the track name its audit entries carry: an opt-out change, not a status (SPEC §11).
OPT = "opt_out"
# The events and entries are immutable values built a few times per message on the batch path:
# named tuples, which are cheaper to build than frozen dataclasses (bench/FIGURES.md).


@dataclass(slots=True)
class State:
    statuses: dict[str, tuple[str, datetime | None]]  # track → (status key, entered at)
    opted_out: bool = False
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    waiting_since: datetime | None = None
    horizon: tuple | None = None  # sort key of the newest event folded in

    def copy(self) -> State:
        # Built directly rather than by `dataclasses.replace`, once per customer and batch (bench/FIGURES.md).
        return State(
            dict(self.statuses),
            self.opted_out,
            self.last_inbound_at,
            self.last_outbound_at,
            self.waiting_since,
            self.horizon,
        )

    def keys(self) -> dict[str, str]:
        return {track: key for track, (key, _) in self.statuses.items()}


class Entry(NamedTuple):
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
    confidence: float | None = None  # the model's, when it made the decision


@dataclass
class FoldResult:
    state: State
    entries: list[Entry] = field(default_factory=list)
    intents: dict[int, tuple[str, ...]] = field(default_factory=dict)  # message id → matched intents


def initial_state(catalog: Catalog) -> State:
    return State({t.key: (t.first.key, None) for t in catalog.tracks.values()})


sort_key = attrgetter("sort_key")
_SYSTEM = Decision(True, "system")


def fold(
    state: State,
    events: Sequence[Event],
    catalog: Catalog,
    classify: Classifier,
    *,
    replay: bool = False,
    kept: Mapping[str, str] | None = None,
) -> FoldResult:
    """Applies `events` (any order) to a copy of `state`, in time order; `replay` when they are a
    customer's whole history folded again (manual changes then stand as they were made). `kept`: the
    statuses the customer holds as a replay begins; an archived one among them stays theirs to reach
    again (customers keep an archived status, SPEC §3), so a replay never drops them off it."""
    folder = _Folder(catalog.statuses_by_key, classify, FoldResult(state.copy()), replay, kept or {})
    return folder.run(events)


@dataclass
class _Folder:
    statuses: dict[str, dict[str, StatusInfo]]  # the catalog's, by track and key
    classify: Classifier
    result: FoldResult
    replay: bool = False
    kept: Mapping[str, str] = field(default_factory=dict)

    def run(self, events: Sequence[Event]) -> FoldResult:
        state = self.result.state
        for event in events if len(events) == 1 else sorted(events, key=sort_key):
            if isinstance(event, MessageIn):
                self._message(event)
            elif event.kind == OPT:
                self._opt(event)
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
            key = event.sort_key
            if state.horizon is None or key > state.horizon:
                state.horizon = key
        return self.result

    def _opt(self, c: CommandIn) -> None:
        """An opt-out the provider reported (Twilio error 21610): kept in the history as an entry on
        the pseudo-track `opt_out`, which no status list has, so no status moves and no webhook fires."""
        s = self.result.state
        out = c.status == "out"
        if s.opted_out == out:
            return
        s.opted_out = out
        if not self.replay:
            before, after = ("subscribed", "opted_out") if out else ("opted_out", "subscribed")
            self.result.entries.append(Entry(OPT, before, after, c.source, c.actor, True, "", c.at, c.note))

    def _message(self, m: MessageIn) -> None:
        s = self.result.state
        if m.direction == "inbound":
            s.last_inbound_at = max(s.last_inbound_at or m.at, m.at)
            if s.waiting_since is None:
                s.waiting_since = m.at
            if m.opt is not None:
                s.opted_out = m.opt == "out"
            if s.statuses.get("reply", ("in_progress",))[0] != "in_progress":  # mostly there already
                self._move(
                    "reply", "in_progress", "reply", "system", m.at, message_id=m.message_id, system=True
                )
            if m.sender == "customer" and m.opt is None and m.text:
                found = self.classify(m.text, m.channel, s.keys())
                self.result.intents[m.message_id] = tuple(found.intents)
                for track, status in found.assign.items():
                    intent = found.assigned_by.get(track, "intent")
                    self._move(
                        track,
                        status,
                        f"{found.source or 'rule'}:{intent}",
                        "system",
                        m.at,
                        automatic=True,
                        message_id=m.message_id,
                        confidence=found.confidence,
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
        confidence: float | None = None,
    ) -> None:
        statuses = self.result.state.statuses
        by_key = self.statuses.get(track)
        if by_key is None or track not in statuses:
            return  # the track is gone: nothing to decide on
        current_key = statuses[track][0]
        if current_key == to:
            return
        target = by_key.get(to)
        if system:
            if target is None or target.archived:
                decision = Decision(False, f"{to} is archived or no longer exists")
            else:
                decision = _SYSTEM
        else:
            if target is not None and target.archived and (as_made or self.kept.get(track) == to):
                # A manual change was checked when it was made (no archived target then); a replay
                # folds it as it was made, so its customer keeps a status archived since (SPEC §3).
                # So does a replay's automatic move to the archived status the customer holds.
                target = replace(target, archived=False)
            decision = decide(by_key.get(current_key), target, automatic=automatic)
        self.result.entries.append(
            Entry(
                track,
                current_key,
                to,
                source,
                actor,
                decision.applied,
                decision.reason,
                at,
                note,
                message_id,
                confidence,
            )
        )
        if decision.applied:
            statuses[track] = (to, at)
