"""Time rules: automatic changes after a customer stays in a condition for a while (SPEC §9)."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, and_, case, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

import rules
from plugin.domain import durations
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.errors import Conflict, NotFound, StatushubError
from plugin.engine import load_states, run_commands
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, CustomerStatus, TimeRule, TimeRuleDecision, Workspace, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

log = logging.getLogger("statushub.time_rules")
DEFAULTS = Path(rules.__file__).parent / "time_rules.yaml"

RULES = table_of(TimeRule)
DECISIONS = table_of(TimeRuleDecision)
CS = table_of(CustomerStatus)
BATCH = 500  # customers decided per call: the worker comes back for the rest
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class InvalidRule(StatushubError):
    code = "invalid_time_rule"


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    when: dict[str, str]
    after_minutes: int
    to: tuple[str, str]

    @property
    def after(self) -> timedelta:
        return timedelta(minutes=self.after_minutes)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "when": dict(self.when),
            "after": durations.format_duration(self.after_minutes),
            "to": f"{self.to[0]}:{self.to[1]}",
        }


def parse_duration(text: str) -> int:
    """`15m`, `48h`, `30d` (from 1m to 3650d) → minutes."""
    try:
        return durations.parse_duration(text, field="after")
    except durations.InvalidDuration as error:
        raise InvalidRule(error.message, field="after") from None


def _pair(catalog: Catalog, text: str, what: str) -> tuple[str, str]:
    """`stage:greeting` → ("stage", "greeting"), checked against the catalog."""
    track, sep, status = (text or "").partition(":")
    if not sep or not track or not status:
        raise InvalidRule(f"{what} {text!r} must be track:status, e.g. stage:greeting", field=what)
    try:
        info = catalog.resolve(status, track=track.strip().lower(), manual=False)
    except StatushubError as exc:
        exc.field = what  # the mistake is in this part of the rule, whichever lookup found it
        raise
    return info.track, info.key


@functools.cache
def default_rules() -> dict[str, list[dict]]:
    """Each template's default rules, from the YAML file beside the rule packs."""
    return yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))


def ensure_seeded(conn: Connection, workspace_id: int, now: datetime) -> None:
    """A workspace gets its template's default rules the first time its rules are read; removed rules
    keep their row, so they are not seeded again."""
    if conn.execute(select(exists().where(RULES.c.workspace_id == workspace_id))).scalar():
        return
    template = conn.execute(select(Workspace.template).where(Workspace.id == workspace_id)).scalar()
    rows = [
        {
            "workspace_id": workspace_id,
            "name": d["name"],
            "when": dict(d["when"]),
            "after_minutes": parse_duration(d["after"]),
            "to_track": d["to"].split(":", 1)[0],
            "to_status": d["to"].split(":", 1)[1],
            "created_at": now,
        }
        for d in default_rules().get(template or "", ())
    ]
    if rows:
        conn.execute(insert(RULES), rows)


def list_rules(conn: Connection, workspace_id: int, now: datetime) -> list[Rule]:
    ensure_seeded(conn, workspace_id, now)
    rows = conn.execute(
        select(RULES)
        .where(RULES.c.workspace_id == workspace_id, RULES.c.removed_at.is_(None))
        .order_by(RULES.c.name)
    ).all()
    return [Rule(r.id, r.name, dict(r.when), r.after_minutes, (r.to_track, r.to_status)) for r in rows]


def add_rule(
    conn: Connection, catalog: Catalog, name: str, when: list[str], after: str, to: str, now: datetime
) -> Rule:
    """Validates and stores a rule; a removed rule of the same name is replaced."""
    if not _NAME.match(name or ""):
        raise InvalidRule(f"rule name {name!r}: lowercase letters, digits, _ and -", field="name")
    if not 1 <= len(when) <= 2:
        raise InvalidRule("a rule needs one or two --when conditions", field="when")
    condition = dict(_pair(catalog, w, "when") for w in when)
    if len(condition) != len(when):
        raise InvalidRule("the two --when conditions must be on different tracks", field="when")
    minutes = parse_duration(after)
    target = _pair(catalog, to, "to")
    if condition.get(target[0]) == target[1]:
        raise InvalidRule("the target is already part of the condition", field="to")
    ws = catalog.workspace_id
    ensure_seeded(conn, ws, now)
    existing = conn.execute(
        select(RULES.c.id, RULES.c.removed_at).where(RULES.c.workspace_id == ws, RULES.c.name == name)
    ).first()
    values = {
        "when": condition,
        "after_minutes": minutes,
        "to_track": target[0],
        "to_status": target[1],
        "created_at": now,
        "removed_at": None,
    }
    if existing is None:
        rule_id = conn.execute(
            insert(RULES).values(workspace_id=ws, name=name, **values).returning(RULES.c.id)
        ).scalar_one()
    elif existing.removed_at is not None:
        rule_id = existing.id
        conn.execute(update(RULES).where(RULES.c.id == rule_id).values(**values))
    else:
        raise Conflict(f"a time rule named {name!r} exists; remove it first", field="name")
    return Rule(rule_id, name, condition, minutes, target)


def remove_rule(conn: Connection, workspace_id: int, name: str, now: datetime) -> None:
    rules = list_rules(conn, workspace_id, now)
    if name not in {r.name for r in rules}:
        raise NotFound(f"no time rule {name!r}", choices=[r.name for r in rules], field="name")
    conn.execute(
        update(RULES).where(RULES.c.workspace_id == workspace_id, RULES.c.name == name).values(removed_at=now)
    )


def evaluate_time_rules(engine: Engine, now: datetime, *, limit: int = BATCH) -> int:
    """Decides every due rule for up to `limit` customers; returns how many decisions it made."""
    with reading(engine) as conn:
        workspaces = conn.execute(select(Workspace.id).order_by(Workspace.id)).scalars().all()
    for ws in workspaces:
        try:
            with transaction(engine) as conn:
                ensure_seeded(conn, ws, now)
        except IntegrityError:  # another worker seeded it at the same moment
            pass
    decided = 0
    for ws in workspaces:
        try:
            with reading(engine) as conn:
                catalog = load_catalog(conn, ws)
                rules = list_rules(conn, ws, now)
        except Exception:  # one broken workspace never stops the others (SPEC §12)
            log.exception("time rules skipped for a workspace", extra={"workspace": ws})
            continue
        for rule in rules:
            decided += _run_rule(engine, catalog, rule, now, limit - decided)
        if decided >= limit:
            break
    return decided


def _run_rule(engine: Engine, catalog: Catalog, rule: Rule, now: datetime, limit: int) -> int:
    """Decides one rule's due customers; a rule that fails is logged and skipped, never fatal."""
    decided = 0
    try:
        with reading(engine) as conn:
            candidates = _due(conn, catalog, rule, now, limit)
        for customer_id, stay in candidates:
            decided += _decide(engine, catalog.workspace_id, rule, customer_id, stay, now)
    except Exception:
        log.exception("time rule failed", extra={"workspace": catalog.workspace_id, "rule": rule.name})
    return decided


def _acting(catalog: Catalog, rule: Rule) -> bool:
    """A rule naming a missing or archived status stops acting (SPEC §3)."""
    for track, key in [*rule.when.items(), rule.to]:
        status = catalog.status(track, key)
        if status is None or status.archived:
            return False
    return True


def _due(conn: Connection, catalog: Catalog, rule: Rule, now: datetime, limit: int) -> list:
    """(customer id, stay start) of the customers in the rule's condition since `now - after` or
    earlier, not yet decided for this stay."""
    if limit <= 0 or not _acting(catalog, rule):
        return []
    ws, cutoff = catalog.workspace_id, now - rule.after
    joined: Any = None
    conditions: list[Any] = []
    entered: list[Any] = []
    for track, key in rule.when.items():
        cs = aliased(CS)
        status = catalog.status(track, key)
        assert status is not None, "_acting checked every status of the rule"
        conditions += [
            cs.c.workspace_id == ws,
            cs.c.track_id == catalog.tracks[track].id,
            cs.c.status_id == status.id,
            cs.c.entered_at <= cutoff,
        ]
        if joined is None:
            joined, first = cs, cs
        else:
            conditions.append(cs.c.customer_id == first.c.customer_id)
            joined = joined.join(cs, and_(cs.c.workspace_id == ws, cs.c.customer_id == first.c.customer_id))
        entered.append(cs.c.entered_at)
    stay = entered[0] if len(entered) == 1 else case((entered[0] >= entered[1], entered[0]), else_=entered[1])
    decided = exists().where(
        DECISIONS.c.workspace_id == ws,
        DECISIONS.c.customer_id == first.c.customer_id,
        DECISIONS.c.rule_id == rule.id,
        DECISIONS.c.stay_started_at == stay,
    )
    active = exists().where(
        Customer.workspace_id == ws, Customer.id == first.c.customer_id, Customer.archived_at.is_(None)
    )
    query = (
        select(first.c.customer_id, stay.label("stay"))
        .select_from(joined)
        .where(*conditions, ~decided, active)
        .order_by(first.c.customer_id)
        .limit(limit)
    )
    return [(r.customer_id, aware(r.stay)) for r in conn.execute(query)]


def _decide(engine: Engine, ws: int, rule: Rule, customer_id: int, stay: datetime, now: datetime) -> int:
    """One customer, one rule, in one transaction: re-checked under the customer's lock (a message
    may have moved them since), then decided once for this stay, applied or blocked."""
    try:
        with transaction(engine) as conn:
            entries = _decide_in(conn, ws, rule, customer_id, stay, now)
    except IntegrityError:  # another worker decided this stay first
        return 0
    if entries is None:
        return 0
    log.info(
        "time rule decided",
        extra={"rule": rule.name, "customer": customer_id, "applied": any(e.applied for e in entries)},
    )
    return 1


def _decide_in(
    conn: Connection, ws: int, rule: Rule, customer_id: int, stay: datetime, now: datetime
) -> list | None:
    """The decision under the customer's lock; None when there is nothing to decide any more."""
    catalog = load_catalog(conn, ws)
    state = load_states(conn, catalog, [customer_id], lock=True)[customer_id]
    entered = []
    for track, key in rule.when.items():
        current, since = state.statuses.get(track, (None, None))
        if current != key or since is None:
            return None
        entered.append(aware(since))
    if max(entered) != stay or stay > now - rule.after:
        return None  # a new stay began since the scan: the next scan decides it
    already = conn.execute(
        select(
            exists().where(
                DECISIONS.c.workspace_id == ws,
                DECISIONS.c.customer_id == customer_id,
                DECISIONS.c.rule_id == rule.id,
                DECISIONS.c.stay_started_at == stay,
            )
        )
    ).scalar()
    if already:
        return None
    conn.execute(
        insert(DECISIONS).values(
            workspace_id=ws, customer_id=customer_id, rule_id=rule.id, stay_started_at=stay, decided_at=now
        )
    )
    track, key = rule.to
    entries = run_commands(
        conn,
        catalog,
        customer_id,
        [(track, key, f"time:{rule.name}", "time")],
        actor="system",
        note=f"due at {(stay + rule.after).isoformat()}",
        classify=classifier_for(conn, catalog),
        now=now,
        at=now,
    )
    return entries
