"""Loading a workspace's catalog (its tracks and statuses) from the store, cached by catalog version."""

from __future__ import annotations

import threading

from sqlalchemy import Connection, select

from plugin.domain.catalog import Catalog, StatusInfo, TrackInfo
from plugin.domain.errors import UnknownWorkspace
from plugin.store.schema import Status, Track, Workspace

_cache: dict[tuple[object, int, int], Catalog] = {}
_cache_lock = threading.Lock()


def load_catalog(conn: Connection, workspace_id: int, version: int | None = None) -> Catalog:
    """The workspace's catalog; cached per process by (workspace, catalog_version), never served stale."""
    if version is None:
        row = conn.execute(select(Workspace.catalog_version).where(Workspace.id == workspace_id)).first()
        if row is None:
            raise UnknownWorkspace(f"workspace {workspace_id} does not exist")
        version = row[0]
    # Keyed by database too: one process (a test run, a CLI pointed elsewhere) may see several.
    key = (conn.engine.url, workspace_id, version)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    template = conn.execute(select(Workspace.template).where(Workspace.id == workspace_id)).scalar_one()
    tracks = conn.execute(
        select(Track).where(Track.workspace_id == workspace_id).order_by(Track.position)
    ).all()
    statuses = conn.execute(
        select(Status).where(Status.workspace_id == workspace_id).order_by(Status.position, Status.id)
    ).all()
    key_of = {t.id: t.key for t in tracks}
    infos = [
        StatusInfo(
            s.id,
            key_of[s.track_id],
            s.key,
            s.label,
            s.emoji,
            s.color,
            s.description,
            s.position,
            s.automation,
            s.alert,
            s.terminal,
            s.archived_at is not None,
        )
        for s in statuses
    ]
    catalog = Catalog(
        workspace_id,
        version,
        template,
        {
            t.key: TrackInfo(
                t.id, t.key, t.label, t.position, t.manual, tuple(i for i in infos if i.track == t.key)
            )
            for t in tracks
        },
        {i.id: i for i in infos},
    )
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = catalog
    return catalog
