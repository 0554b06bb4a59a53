"""A workspace's tracks and statuses as one immutable catalog, and naming a status as users do (SPEC §6).

Pure: the catalog is loaded from the store by `plugin.workspace.catalog.load_catalog`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property

from plugin.domain.errors import UnknownStatus, UnknownTrack
from plugin.domain.policy import StatusRef


@dataclass(frozen=True, slots=True)
class StatusInfo:
    id: int
    track: str
    key: str
    label: str
    emoji: str
    color: str
    description: str
    position: int
    automation: str
    alert: bool
    terminal: bool
    archived: bool

    @property
    def ref(self) -> StatusRef:
        return StatusRef(self.key, self.position, self.automation, self.archived)

    @property
    def badge(self) -> str:
        return f"{self.emoji} {self.label}".strip()

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "emoji": self.emoji,
            "color": self.color,
            "description": self.description,
            "position": self.position,
            "automation": self.automation,
            "alert": self.alert,
            "terminal": self.terminal,
            "archived": self.archived,
        }


@dataclass(frozen=True, slots=True)
class TrackInfo:
    id: int
    key: str
    label: str
    position: int
    manual: bool
    statuses: tuple[StatusInfo, ...]  # in position order, archived included

    def status(self, key: str) -> StatusInfo | None:
        return next((s for s in self.statuses if s.key == key), None)

    @property
    def active(self) -> tuple[StatusInfo, ...]:
        return tuple(s for s in self.statuses if not s.archived)

    @property
    def first(self) -> StatusInfo:
        return self.active[0] if self.active else self.statuses[0]


@dataclass(frozen=True)
class Catalog:
    workspace_id: int
    version: int
    template: str
    tracks: dict[str, TrackInfo]
    by_id: dict[int, StatusInfo]

    def track(self, key: str) -> TrackInfo:
        try:
            return self.tracks[key]
        except KeyError:
            raise UnknownTrack(
                f"there is no track {key!r}", choices=list(self.tracks), field="track"
            ) from None

    def status(self, track: str, key: str) -> StatusInfo | None:
        by_key = self.statuses_by_key.get(track)
        return by_key.get(key) if by_key is not None else None

    @cached_property
    def statuses_by_key(self) -> dict[str, dict[str, StatusInfo]]:
        """{track: {status key: status}}: the engine looks statuses up several times per message, and
        `TrackInfo.status` scans its track. Built once per catalog (a catalog never changes)."""
        index: dict[str, dict[str, StatusInfo]] = {}
        for track in self.tracks.values():
            by_key = index[track.key] = {}
            for status in track.statuses:
                by_key.setdefault(status.key, status)  # the first, as `TrackInfo.status` finds
        return index

    def resolve(self, name: str, *, track: str | None = None, manual: bool = True) -> StatusInfo:
        """A status named by key, label, emoji, unambiguous prefix or `track:key` (SPEC §6).

        `stage` is searched first; another track's status needs an unambiguous name or `track:key`.
        Archived statuses are not choices. Raises UnknownStatus naming the valid choices.
        """
        raw = name.strip()
        if not track and ":" in raw:
            maybe, rest = raw.split(":", 1)
            if maybe.strip().lower() in self.tracks:
                track, raw = maybe.strip().lower(), rest.strip()
        tracks = [self.track(track)] if track else self._search_order(manual)
        wanted = _fold(raw)
        if not wanted:
            raise UnknownStatus("no status given", choices=self.choices(tracks), field="status")
        for matcher in (_exact, _prefix):
            for t in tracks:
                hits = [s for s in t.active if matcher(s, wanted)]
                if len(hits) == 1:
                    return hits[0]
                if len(hits) > 1:
                    raise UnknownStatus(
                        f"{name!r} could be {', '.join(h.badge for h in hits)}: say which",
                        choices=[f"{t.key}:{h.key}" for h in hits],
                        field="status",
                    )
        archived = [s for t in tracks for s in t.statuses if s.archived and _exact(s, wanted)]
        if archived:
            from plugin.domain.errors import ArchivedStatus

            raise ArchivedStatus(
                f"{archived[0].badge} is archived and cannot be assigned; restore it first", field="status"
            )
        suggestion = self._closest(wanted, tracks)
        hint = f"; did you mean {suggestion.badge}?" if suggestion else ""
        raise UnknownStatus(
            f"no status called {name!r}{hint}",
            choices=self.choices(tracks),
            field="status",
            suggestion=suggestion.key if suggestion else None,
        )

    def _search_order(self, manual: bool) -> list[TrackInfo]:
        ordered = sorted(self.tracks.values(), key=lambda t: (t.key != "stage", t.position))
        return [t for t in ordered if t.manual or not manual]

    def choices(self, tracks: list[TrackInfo] | None = None) -> list[str]:
        tracks = tracks or self._search_order(True)
        return [s.key if t.key == "stage" else f"{t.key}:{s.key}" for t in tracks for s in t.active]

    def _closest(self, wanted: str, tracks: list[TrackInfo]) -> StatusInfo | None:
        import difflib

        names: dict[str, StatusInfo] = {}
        for t in tracks:
            for s in t.active:
                # Each word too, so a typo of one word ("hto") still finds "Hot Lead".
                for word in _fold(s.label).split() + _fold(s.key).split():
                    names.setdefault(word, s)
                names[_fold(s.key)] = s
                names[_fold(s.label)] = s
        best = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.5)
        return names[best[0]] if best else None


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = text.replace("\ufe0f", "")
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def _exact(s: StatusInfo, wanted: str) -> bool:
    return wanted in (_fold(s.key), _fold(s.label)) or (bool(s.emoji) and wanted == _fold(s.emoji))


def _prefix(s: StatusInfo, wanted: str) -> bool:
    return len(wanted) >= 2 and (_fold(s.key).startswith(wanted) or _fold(s.label).startswith(wanted))
