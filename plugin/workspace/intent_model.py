"""A workspace's learned intent model and the corrections that teach it (SPEC §4 "Two matchers").

A workspace without a trained model of its own uses the shipped one, built here from the data in the
repository (packs, corpus) on first use: training is deterministic, so every process builds the same
model. `train_workspace` adds the workspace's corrections and stores the result in the database, where
every hub process finds it; storing bumps the catalog version, so cached classifiers notice.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, Engine, func, insert, select, update

import rules
from plugin.domain.clock import aware
from plugin.domain.errors import NotFound, StatushubError
from plugin.store.db import reading, transaction
from plugin.store.schema import IntentCorrection, IntentModel, Message, Workspace
from plugin.workspace.context import CommandContext
from plugin.workspace.intents import matcher_for, workspace_packs
from plugin.workspace.workspaces import bump_catalog
from rules.model import Model, ModelFormatError
from rules.training import train_model

log = logging.getLogger("statushub.intent_model")

NONE = "none"
RETRAIN_AFTER = 20  # new corrections that make the worker retrain a workspace (SPEC §4)
_shipped_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _shipped(packs: tuple[str, ...]) -> Model:
    path = _cache_path(packs)
    if path is not None and path.exists():
        try:
            return Model.from_bytes(path.read_bytes())
        except (OSError, ModelFormatError):
            log.warning("cached shipped model unreadable; training it again", extra={"path": str(path)})
    model = train_model(matcher_for(packs))
    if path is not None:
        _write_cache(path, model.to_bytes())
    return model


def shipped_model(packs: tuple[str, ...]) -> Model:
    """The model trained from the shipped packs and corpus alone: the same bytes in every process, since
    training is deterministic. Trained once per machine (then read from the user's cache directory,
    keyed by a digest of everything that goes into it) and kept once per process."""
    with _shipped_lock:  # two threads asking at once train once
        return _shipped(packs)


def _cache_path(packs: tuple[str, ...]) -> Path | None:
    """`~/.cache/statushub/model-<digest>.bin`, the digest covering the rules package's code and data
    and the packs named by path; None when there is no home directory to cache in."""
    digest = hashlib.sha256(repr(packs).encode())
    root = Path(rules.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".yml", ".csv") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for pack in packs:
        if Path(pack).is_file():
            digest.update(Path(pack).read_bytes())
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory
        return None
    return base / "statushub" / f"model-{digest.hexdigest()[:32]}.bin"


def _write_cache(path: Path, data: bytes) -> None:
    """Written whole or not at all (a rename), in a directory only this user can read."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as error:  # a read-only home only costs the next process a training
        log.info("shipped model not cached", extra={"path": str(path), "error": str(error)})


class StoredModel(NamedTuple):
    model: Model
    version: int  # 0 for the shipped model
    corrections: int


def load_model(conn: Connection, workspace_id: int, packs: tuple[str, ...]) -> StoredModel:
    """The workspace's stored model, or the shipped one when none is stored or the stored one cannot be
    read (logged as a warning: a corrupt row must never stop classification)."""
    row = conn.execute(
        select(IntentModel.data, IntentModel.version, IntentModel.corrections).where(
            IntentModel.workspace_id == workspace_id
        )
    ).first()
    if row is not None:
        try:
            return StoredModel(Model.from_bytes(row.data), row.version, row.corrections)
        except ModelFormatError as error:
            log.warning(
                "stored intent model unreadable; using the shipped model",
                extra={"workspace": workspace_id, "version": row.version, "error": str(error)},
            )
    return StoredModel(shipped_model(packs), 0, 0)


def intent_choices(conn: Connection, workspace_id: int) -> list[str]:
    """The intents a correction may name: the workspace's packs' intents, and `none`."""
    packs = workspace_packs(conn, workspace_id)
    return [intent.name for intent in matcher_for(packs).intents] + [NONE] if packs else [NONE]


class Correction(NamedTuple):
    id: int
    message_id: int | None
    text: str
    intent: str
    previous: list[str]
    actor: str
    created_at: datetime

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "text": self.text,
            "intent": self.intent,
            "previous": list(self.previous),
            "actor": self.actor,
            "at": self.created_at.isoformat(),
        }


def correct_intent(command: CommandContext, message_id: int, intent: str) -> Correction:
    """Stores an agent's correction of an inbound message's intent as a labelled example of the
    workspace, with who made it. It changes no status; it counts from the next training."""
    conn, ws, actor, now = command.conn, command.workspace_id, command.actor, command.now
    message = conn.execute(
        select(Message.id, Message.text, Message.direction, Message.intents).where(
            Message.workspace_id == ws, Message.id == message_id
        )
    ).first()
    if message is None:
        raise NotFound(f"no message {message_id} in this workspace", field="message_id")
    if message.direction != "inbound":
        raise StatushubError(
            f"message {message_id} is outbound: only a customer's messages have intents to correct",
            field="message_id",
        )
    choices = intent_choices(conn, ws)
    if intent not in choices:
        raise StatushubError(
            f"no intent {intent!r} in this workspace's packs", choices=choices, field="intent"
        )
    previous = list(message.intents or [])
    new_id = conn.execute(
        insert(IntentCorrection).returning(IntentCorrection.id),
        {
            "workspace_id": ws,
            "message_id": message_id,
            "text": message.text,
            "intent": intent,
            "previous": previous,
            "actor": actor,
            "created_at": now,
        },
    ).scalar_one()
    log.info("intent corrected", extra={"workspace": ws, "message_id": message_id, "intent": intent})
    return Correction(new_id, message_id, message.text, intent, previous, actor, now)


def list_corrections(conn: Connection, workspace_id: int) -> list[Correction]:
    t = IntentCorrection.__table__
    rows = conn.execute(select(t).where(t.c.workspace_id == workspace_id).order_by(t.c.id))
    return [
        Correction(r.id, r.message_id, r.text, r.intent, list(r.previous or []), r.actor, aware(r.created_at))
        for r in rows
    ]


def _training_pairs(corrections: list[Correction]) -> list[tuple[str, str]]:
    """One example per corrected message: the latest correction of each wins."""
    latest: dict[object, tuple[str, str]] = {}
    for c in corrections:
        latest[c.message_id if c.message_id is not None else ("text", c.text)] = (c.text, c.intent)
    return list(latest.values())


class Trained(NamedTuple):
    version: int
    corrections: int
    threshold: float


def train_workspace(engine: Engine, workspace_id: int, now: datetime) -> Trained:
    """Retrains the workspace's model on the shipped data and its corrections and stores it. The
    training runs outside any transaction (it takes seconds); the write is one short transaction."""
    with reading(engine) as conn:
        packs = workspace_packs(conn, workspace_id)
        corrections = list_corrections(conn, workspace_id)
    model = train_model(matcher_for(packs), corrections=_training_pairs(corrections))
    data = model.to_bytes()
    with transaction(engine) as conn:
        version = (
            conn.execute(
                select(IntentModel.version).where(IntentModel.workspace_id == workspace_id).with_for_update()
            ).scalar()
            or 0
        ) + 1
        values = {
            "version": version,
            "data": data,
            "digest": model.info.digest[:64],
            "corrections": len(corrections),
            "trained_at": now,
        }
        if version == 1:
            conn.execute(insert(IntentModel), {"workspace_id": workspace_id, **values})
        else:
            conn.execute(update(IntentModel).where(IntentModel.workspace_id == workspace_id).values(**values))
        bump_catalog(conn, workspace_id)
    log.info(
        "intent model trained",
        extra={"workspace": workspace_id, "version": version, "corrections": len(corrections)},
    )
    return Trained(version, len(corrections), model.threshold)


def retrain_due(engine: Engine, now: datetime) -> int:
    """The worker's task: retrains every workspace with RETRAIN_AFTER or more corrections since its
    model was trained; one failing workspace is logged and the others go on. Returns how many."""
    with reading(engine) as conn:
        counts = conn.execute(
            select(
                Workspace.id,
                func.count(IntentCorrection.id),
                func.coalesce(func.max(IntentModel.corrections), 0),
            )
            .join(IntentCorrection, IntentCorrection.workspace_id == Workspace.id)
            .outerjoin(IntentModel, IntentModel.workspace_id == Workspace.id)
            .group_by(Workspace.id)
        ).all()
    trained = 0
    for ws, total, used in counts:
        if total - used < RETRAIN_AFTER:
            continue
        try:
            train_workspace(engine, ws, now)
            trained += 1
        except Exception:
            log.exception("intent model training failed", extra={"workspace": ws})
    return trained
