"""A workspace's intent rules: its packs, its assignment overrides, and the classifier the engine calls."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select

import rules
from plugin.domain.catalog import Catalog
from plugin.domain.errors import StatushubError
from plugin.domain.fold import Classifier
from plugin.domain.templates import known_statuses
from plugin.store.schema import IntentAssignment, WorkspacePack
from plugin.store.versioned import ByCatalogVersion
from plugin.workspace.workspaces import bump_catalog


class Classified(NamedTuple):
    """What a message matched, what that assigns per track, and which intent assigns each track.
    The same few results recur, so they are shared: the mappings are read-only."""

    intents: tuple[str, ...] = ()
    assign: Mapping[str, str] = MappingProxyType({})
    assigned_by: Mapping[str, str] = MappingProxyType({})


_NOTHING = Classified()


@functools.lru_cache(maxsize=32)
def matcher_for(packs: tuple[str, ...]) -> rules.Matcher:
    """One compiled matcher per distinct set of packs; packs are files shipped with the code."""
    return rules.compile_packs(rules.load_packs(list(packs), known=known_statuses()))


def workspace_packs(conn: Connection, workspace_id: int) -> tuple[str, ...]:
    return tuple(
        conn.execute(
            select(WorkspacePack.pack)
            .where(WorkspacePack.workspace_id == workspace_id)
            .order_by(WorkspacePack.position)
        ).scalars()
    )


def workspace_overrides(conn: Connection, workspace_id: int) -> dict[str, dict[str, str | None]]:
    overrides: dict[str, dict[str, str | None]] = {}
    for row in conn.execute(select(IntentAssignment).where(IntentAssignment.workspace_id == workspace_id)):
        overrides.setdefault(row.intent, {})[row.track] = row.status
    return overrides


_classifiers: ByCatalogVersion[Classifier] = ByCatalogVersion()


def classifier_for(conn: Connection, catalog: Catalog) -> Classifier:
    """The engine's classifier for this workspace; cached by catalog version, which every pack or
    assignment change bumps, so no process ever classifies with stale rules."""
    ws = catalog.workspace_id
    return _classifiers.get(
        conn,
        ws,
        catalog.version,
        lambda: build_classifier(catalog, workspace_packs(conn, ws), workspace_overrides(conn, ws)),
    )


def build_classifier(catalog: Catalog, packs: tuple[str, ...], overrides: dict) -> Classifier:
    matcher = matcher_for(packs) if packs else None
    template = catalog.template
    # What each set of matched intents assigns, and which intent assigns each track: the same few sets
    # recur, and working them out again (and building the result) each time shows on the batch path.
    decided: dict[tuple[str, ...], Classified] = {}

    def classify(text: str, channel: str, current: dict[str, str]) -> Classified:
        if matcher is None:
            return _NOTHING
        names = matcher.intent_names(text, channel=channel, current=current)
        if not names:
            return _NOTHING
        found = decided.get(names)
        if found is None:
            if len(decided) >= 1024:
                decided.clear()
            assign, assigned_by = _assignments(matcher, names, template, overrides)
            found = decided[names] = Classified(
                names, MappingProxyType(assign), MappingProxyType(assigned_by)
            )
        return found

    return classify


def _assignments(
    matcher: rules.Matcher, names: tuple[str, ...], template: str, overrides: dict
) -> tuple[dict[str, str], dict[str, str]]:
    """What the matched intents `names` assign, and on each track the intent that assigns it."""
    assign = matcher.assignments(names, template=template, overrides=overrides)
    assigned_by = {
        track: next(
            name
            for name in names
            if track in matcher.assignment(name, template=template, overrides=overrides)
        )
        for track in assign
    }
    return assign, assigned_by


def assign_intent(
    conn: Connection, catalog: Catalog, intent: str, target: str | None, *, track: str = "stage"
) -> None:
    """Overrides what `intent` assigns on a track (`stage:cold_lead`); None clears the assignment."""
    packs = workspace_packs(conn, catalog.workspace_id)
    names = [i.name for i in matcher_for(packs).intents] if packs else []
    if intent not in names:
        raise StatushubError(f"no intent {intent!r} in this workspace's packs", choices=names, field="intent")
    if target is not None:
        status = catalog.resolve(target)
        track, target = status.track, status.key
    conn.execute(
        delete(IntentAssignment).where(
            IntentAssignment.workspace_id == catalog.workspace_id,
            IntentAssignment.intent == intent,
            IntentAssignment.track == track,
        )
    )
    conn.execute(
        insert(IntentAssignment),
        {"workspace_id": catalog.workspace_id, "intent": intent, "track": track, "status": target},
    )
    bump_catalog(conn, catalog.workspace_id)


def reset_intent(conn: Connection, catalog: Catalog, intent: str) -> None:
    """Drops the workspace's overrides: the intent assigns what its pack says again."""
    conn.execute(
        delete(IntentAssignment).where(
            IntentAssignment.workspace_id == catalog.workspace_id, IntentAssignment.intent == intent
        )
    )
    bump_catalog(conn, catalog.workspace_id)
