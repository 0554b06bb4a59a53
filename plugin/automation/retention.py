"""`statushub prune` and the worker's daily prune: messages older than the retention period go, in
short batches, with their idempotency records; audit entries and statuses stay (SPEC §8).

Each batch (at most BUDGET messages of up to 50 customers) is folded into checkpoints outside any
lock, then written in one short transaction that locks no customer (plugin.engine.plan_batch,
apply_batch): webhooks never wait for a prune (bench/retention.py). Idempotency records (`deliveries`) and outbox items sent
before the cutoff go the same way, a batch at a time. Dead letters stay until an admin acts on them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from plugin.domain.clock import utcnow
from plugin.engine import apply_batch, count_prunable, plan_batch
from plugin.store.db import reading, transaction
from plugin.store.schema import Delivery, OutboxItem, Workspace, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

log = logging.getLogger("statushub.retention")
D, OUT, WS = table_of(Delivery), table_of(OutboxItem), table_of(Workspace)
BUDGET = 1000  # messages (or records) per transaction
DAILY = timedelta(days=1)


@dataclass
class Pruned:
    """What a prune deleted (or, dry, would delete) in one workspace."""

    workspace: str
    messages: int = 0
    idempotency_records: int = 0
    sent_outbox_items: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def prune(
    engine: Engine,
    older_than: timedelta,
    *,
    workspace_ids: list[int] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    budget: int = BUDGET,
) -> list[Pruned]:
    """Prunes every workspace (or those given) of what is older than `older_than`; `dry_run` counts."""
    now = now or utcnow()
    cutoff = now - older_than
    with reading(engine) as conn:
        query = select(WS.c.id, WS.c.slug).order_by(WS.c.id)
        if workspace_ids is not None:
            query = query.where(WS.c.id.in_(workspace_ids))
        workspaces = conn.execute(query).all()
    done = []
    for ws, slug in workspaces:
        if dry_run:
            with reading(engine) as conn:
                done.append(
                    Pruned(
                        slug,
                        count_prunable(conn, ws, cutoff),
                        conn.execute(
                            _old_deliveries(ws, cutoff).with_only_columns(func.count())
                        ).scalar_one(),
                        conn.execute(_old_sent(ws, cutoff).with_only_columns(func.count())).scalar_one(),
                    )
                )
            continue
        result = Pruned(slug)
        result.messages = _prune_messages(engine, ws, cutoff, now, budget)
        result.idempotency_records = _prune_rows(engine, D, _old_deliveries(ws, cutoff), budget)
        result.sent_outbox_items = _prune_rows(engine, OUT, _old_sent(ws, cutoff), budget)
        log.info("pruned", extra={"workspace": slug, "cutoff": cutoff.isoformat(), **result.as_dict()})
        done.append(result)
    return done


def _prune_messages(engine: Engine, ws: int, cutoff: datetime, now: datetime, budget: int) -> int:
    pruned, after = 0, 0
    while True:
        with reading(engine) as conn:
            catalog = load_catalog(conn, ws)
            plan = plan_batch(
                conn, catalog, classifier_for(conn, catalog), cutoff, after=after, budget=budget
            )
        if plan.after is None:
            return pruned
        try:
            with transaction(engine) as conn:
                pruned += apply_batch(conn, catalog, plan, now)
        except IntegrityError:  # another prune checkpointed one of these customers first: next run
            log.info("prune batch left to the next run", extra={"workspace": ws, "after": after})
        after = plan.after


def _old_deliveries(ws: int, cutoff: datetime):
    return select(D.c.workspace_id, D.c.scope, D.c.key).where(D.c.workspace_id == ws, D.c.created_at < cutoff)


def _old_sent(ws: int, cutoff: datetime):
    return select(OUT.c.id).where(
        OUT.c.workspace_id == ws, OUT.c.sent_at.is_not(None), OUT.c.sent_at < cutoff
    )


def _prune_rows(engine: Engine, table, old, budget: int) -> int:
    """Deletes the rows `old` selects (their primary keys), `budget` at a time, each batch committed."""
    key = tuple_(*[table.c[c.name] for c in old.selected_columns])
    total = 0
    while True:
        with transaction(engine) as conn:
            # Keys first, then a DELETE by them: PostgreSQL's DELETE takes no LIMIT.
            keys = conn.execute(old.limit(budget)).all()
            if keys:
                conn.execute(delete(table).where(key.in_([tuple(k) for k in keys])))
        total += len(keys)
        if len(keys) < budget:
            return total


def prune_due(engine: Engine, now: datetime, *, days: int | None) -> list[Pruned]:
    """The worker's task: with STATUSHUB_RETENTION_DAYS set, prunes each workspace not pruned in the
    last day. The claim is the database's (one UPDATE per workspace), so of several workers only one
    prunes a workspace each day."""
    if not days:
        return []
    with transaction(engine) as conn:
        claimed = list(
            conn.execute(
                update(WS)
                .where(or_(WS.c.pruned_at.is_(None), WS.c.pruned_at <= now - DAILY))
                .values(pruned_at=now)
                .returning(WS.c.id)
            ).scalars()
        )
    done = []
    for ws in claimed:
        try:
            done += prune(engine, timedelta(days=days), workspace_ids=[ws], now=now)
        except Exception:  # one failing workspace never stops the worker (SPEC §12)
            log.exception("retention prune failed", extra={"workspace": ws})
    return done
