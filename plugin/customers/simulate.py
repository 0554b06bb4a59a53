"""What would change: a workspace's recent inbound messages replayed through proposed rule packs (and
the current model), in time order under the policy, changing nothing (SPEC §4 `rules simulate`).

Each customer with an inbound message in the period is folded twice from their state just before it,
with today's classifier and with the proposed one, on the same events. Nothing is written: the caller
reads in a transaction that is rolled back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from plugin.domain.catalog import Catalog
from plugin.domain.fold import Classifier, Entry, MessageIn, fold, sort_key
from plugin.engine import load_histories, load_states, starting_states
from plugin.store.schema import Customer, Message
from plugin.workspace.intent_model import load_model
from plugin.workspace.intents import (
    build_classifier,
    matcher_for,
    workspace_overrides,
    workspace_packs,
    workspace_threshold,
)
from rules.decision import StageScorer
from rules.model import Prediction

STAGE = "stage"


@dataclass(frozen=True)
class Moved:
    id: int
    name: str
    from_: str
    to: str
    message_id: int | None  # the message whose decision put them there; None when none did

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "from": self.from_,
            "to": self.to,
            "message_id": self.message_id,
        }


@dataclass
class Simulation:
    since: datetime
    customers_seen: int = 0
    messages: int = 0
    moved: list[Moved] = field(default_factory=list)
    before: Counter = field(default_factory=Counter)  # intent → automatic assignments in the period
    after: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        intents = sorted(set(self.before) | set(self.after))
        return {
            "since": self.since.isoformat(),
            "customers_seen": self.customers_seen,
            "messages": self.messages,
            "customers": [m.as_dict() for m in self.moved],
            "intents": {i: {"before": self.before[i], "after": self.after[i]} for i in intents},
        }


def simulate(
    conn: Connection,
    catalog: Catalog,
    since: datetime,
    *,
    packs: Sequence[str] | None = None,
    batch: int = 500,
) -> Simulation:
    """Replays the period's inbound messages through `packs` (default: the workspace's own) and the
    current model; reads only."""
    ws = catalog.workspace_id
    current_packs = workspace_packs(conn, ws)
    overrides = workspace_overrides(conn, ws)
    threshold = workspace_threshold(conn, ws)
    # One model for both sides (the current one), each text scored once, in batches.
    model = (
        _Memo(
            StageScorer(
                load_model(conn, ws, current_packs).model,
                matcher_for(current_packs),
                template=catalog.template,
                overrides=overrides,
            )
        )
        if current_packs
        else None
    )
    today = build_classifier(catalog, current_packs, overrides, model=model, threshold=threshold)
    proposed = today
    if packs is not None:
        proposed = build_classifier(catalog, tuple(packs), overrides, model=model, threshold=threshold)
    ids = (
        conn.execute(
            select(Message.customer_id)
            .where(Message.workspace_id == ws, Message.direction == "inbound", Message.provider_at >= since)
            .group_by(Message.customer_id)
            .order_by(Message.customer_id)
        )
        .scalars()
        .all()
    )
    result = Simulation(since)
    for start in range(0, len(ids), batch):
        _simulate_batch(conn, catalog, ids[start : start + batch], since, today, proposed, model, result)
    return result


class _Memo:
    """The model with each text's prediction computed once, for a batch of texts at a time."""

    def __init__(self, model: StageScorer) -> None:
        self.model = model
        self.threshold = model.threshold
        self.known: dict[str, Prediction] = {}

    def prepare(self, texts: Sequence[str]) -> None:
        fresh = list(dict.fromkeys(t for t in texts if t not in self.known))
        if fresh:
            self.known.update(zip(fresh, self.model.predict_many(fresh), strict=True))

    def predict(self, text: str) -> Prediction:
        found = self.known.get(text)
        return found if found is not None else self.model.predict(text)


def _simulate_batch(
    conn: Connection,
    catalog: Catalog,
    ids: Sequence[int],
    since: datetime,
    today: Classifier,
    proposed: Classifier,
    model: _Memo | None,
    result: Simulation,
) -> None:
    ws = catalog.workspace_id
    names = dict(
        conn.execute(
            select(Customer.id, Customer.name).where(Customer.workspace_id == ws, Customer.id.in_(ids))
        ).all()
    )
    currents = load_states(conn, catalog, ids, lock=False)
    histories = load_histories(conn, ws, ids)
    starts = starting_states(conn, catalog, currents)
    if model is not None:
        model.known.clear()
        model.prepare(
            [
                e.text
                for events in histories.values()
                for e in events
                if isinstance(e, MessageIn) and e.direction == "inbound" and e.text
            ]
        )
    for cid in ids:
        events = sorted(histories[cid], key=sort_key)
        earlier = [e for e in events if e.at < since]
        period = [e for e in events if e.at >= since]
        current = currents[cid]
        kept = current.keys()  # as the engine replays: an archived status the customer holds stays theirs
        start = fold(starts[cid], earlier, catalog, today, replay=True, kept=kept).state
        now_result = fold(start, period, catalog, today, replay=True, kept=kept)
        new_result = fold(start, period, catalog, proposed, replay=True, kept=kept)
        result.customers_seen += 1
        result.messages += sum(1 for e in period if isinstance(e, MessageIn) and e.direction == "inbound")
        _count(now_result.entries, result.before)
        _count(new_result.entries, result.after)
        was = current.statuses.get(STAGE, (None, None))[0]
        will = new_result.state.statuses.get(STAGE, (None, None))[0]
        if was is not None and will is not None and was != will:
            decider = _decider(new_result.entries)
            result.moved.append(Moved(cid, names.get(cid, ""), was, will, decider))


def _count(entries: list[Entry], counts: Counter) -> None:
    """An automatic assignment per intent: each decision a rule or the model made on the stage."""
    for e in entries:
        kind, _, intent = e.source.partition(":")
        if e.track == STAGE and kind in ("rule", "model") and intent:
            counts[intent] += 1


def _decider(entries: list[Entry]) -> int | None:
    for e in reversed(entries):
        if e.track == STAGE and e.applied:
            return e.message_id
    return None
