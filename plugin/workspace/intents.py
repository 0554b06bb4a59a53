"""A workspace's intent rules: its packs, its assignment overrides, and the classifier the engine calls."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple, Protocol

from sqlalchemy import Connection, delete, insert, select

import rules
from plugin.domain.catalog import Catalog
from plugin.domain.errors import StatushubError
from plugin.domain.templates import known_statuses
from plugin.store.schema import IntentAssignment, Workspace, WorkspacePack
from plugin.store.versioned import ByCatalogVersion
from plugin.workspace.workspaces import bump_catalog
from rules.decision import StageScorer, combine
from rules.matcher import Match
from rules.model import Model, Prediction


class Classified(NamedTuple):
    """What a message matched, what that assigns per track, which intent assigns each track, and which
    matcher decided (`rule`, `model`, None) with the model's confidence. The rules' few results recur,
    so they are shared: the mappings are read-only."""

    intents: tuple[str, ...] = ()
    assign: Mapping[str, str] = MappingProxyType({})
    assigned_by: Mapping[str, str] = MappingProxyType({})
    source: str | None = None
    confidence: float | None = None


class WarmClassifier:
    """A workspace's classifier (`classify(text, channel, current)`), and `warm(texts)`: what the texts
    alone decide, worked out ahead (outside a write transaction) so that the call inside is short."""

    __slots__ = ("classify", "warm")

    def __init__(
        self,
        classify: Callable[[str, str, dict[str, str]], Classified],
        warm: Callable[[Iterable[str]], None],
    ) -> None:
        self.classify, self.warm = classify, warm

    def __call__(self, text: str, channel: str, current: dict[str, str]) -> Classified:
        return self.classify(text, channel, current)


class Scorer(Protocol):
    """What the classifier needs of a model: rules.Model, or a stand-in that remembers predictions."""

    threshold: float

    def predict(self, text: str) -> Prediction: ...


_NOTHING = Classified()
STAGE = "stage"


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


_classifiers: ByCatalogVersion[WarmClassifier] = ByCatalogVersion()


def classifier_for(conn: Connection, catalog: Catalog) -> WarmClassifier:
    """The engine's classifier for this workspace: its packs, overrides and model. Cached by catalog
    version, which every pack, assignment or model change bumps, so no process classifies stale."""
    ws = catalog.workspace_id

    def build() -> WarmClassifier:
        from plugin.workspace.intent_model import load_model  # the model module builds on this one

        packs = workspace_packs(conn, ws)
        model = load_model(conn, ws, packs).model if packs else None
        return build_classifier(
            catalog,
            packs,
            workspace_overrides(conn, ws),
            model=model,
            threshold=workspace_threshold(conn, ws),
        )

    return _classifiers.get(conn, ws, catalog.version, build)


def cached_classifier(conn: Connection, catalog: Catalog) -> WarmClassifier | None:
    """The classifier this process keeps for the catalog's version, or None; reads nothing."""
    return _classifiers.cached(conn, catalog.workspace_id, catalog.version)


def workspace_threshold(conn: Connection, workspace_id: int) -> float | None:
    """The workspace's own confidence threshold for the model, if it set one (setting
    `intent_threshold`); None means the model's calibrated threshold."""
    settings = conn.execute(select(Workspace.settings).where(Workspace.id == workspace_id)).scalar() or {}
    value = settings.get("intent_threshold")
    return float(value) if isinstance(value, int | float) and 0 < value <= 1 else None


def build_classifier(
    catalog: Catalog,
    packs: tuple[str, ...],
    overrides: dict,
    *,
    model: Scorer | None = None,
    threshold: float | None = None,
) -> WarmClassifier:
    """The rules first; a message they leave without a stage goes to the model (SPEC §4)."""
    if not packs:
        return WarmClassifier(lambda text, channel, current: _NOTHING, lambda texts: None)
    matcher = matcher_for(packs)
    template = catalog.template
    known = frozenset(intent.name for intent in matcher.intents)
    limit = threshold if threshold is not None else (model.threshold if model is not None else 1.0)
    if isinstance(model, Model):  # judged on the stage it sets (StageScorer)
        model = StageScorer(model, matcher, template=template, overrides=overrides)
    # What each set of matched intents assigns, and which intent assigns each track: the same few sets
    # recur, and working them out again (and building the result) each time shows on the batch path.
    decided: dict[tuple[str, ...], Classified] = {}

    def by_rules(names: tuple[str, ...]) -> Classified:
        found = decided.get(names)
        if found is None:
            if len(decided) >= 1024:
                decided.clear()
            assign, assigned_by = _assignments(matcher, names, template, overrides)
            found = decided[names] = Classified(
                names, MappingProxyType(assign), MappingProxyType(assigned_by), "rule" if names else None
            )
        return found

    # What a text alone decides (its matched patterns and, when no pattern it matches sets a stage, the
    # model's prediction), worked out by `warm` before a writer takes the database's lock.
    ahead: dict[str, tuple[frozenset[int], Prediction | None]] = {}

    def warm(texts: Iterable[str]) -> None:
        for text in texts:
            if text in ahead:
                continue
            matched = matcher.matched(text)
            needs_model = model is not None and STAGE not in by_rules(matcher.names_of(matched)).assign
            if len(ahead) >= 2048:
                ahead.clear()
            ahead[text] = (matched, model.predict(text) if needs_model and model is not None else None)

    def classify(text: str, channel: str, current: dict[str, str]) -> Classified:
        known_ahead = ahead.get(text)
        matched = known_ahead[0] if known_ahead is not None else matcher.matched(text)
        names = matcher.names_of(matched, channel=channel, current=current)
        ruled = by_rules(names) if names else _NOTHING
        if model is None or STAGE in ruled.assign:
            return ruled
        prediction = known_ahead[1] if known_ahead is not None else None
        if prediction is None:
            prediction = model.predict(text)
        if prediction.intent not in known:
            return ruled  # `none`, or not an intent of these packs (a simulation's proposed packs)
        decision = combine(
            Match(names, dict(ruled.assign)),
            prediction,
            matcher,
            threshold=limit,
            template=template,
            overrides=overrides,
            channel=channel,
            current=current,
        )
        if decision.source != "model":
            return ruled
        assign, assigned_by = _assignments(matcher, decision.intents, template, overrides)
        if decision.assign != assign:  # below the threshold: a suggestion that assigns nothing new
            assign, assigned_by = dict(ruled.assign), dict(ruled.assigned_by)
        return Classified(decision.intents, assign, assigned_by, "model", decision.confidence)

    return WarmClassifier(classify, warm)


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
