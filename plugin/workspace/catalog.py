"""Loading a workspace's catalog (its tracks and statuses) from the store, cached by catalog version."""

from __future__ import annotations

from sqlalchemy import Connection, select

from plugin.domain.catalog import Catalog, StatusInfo, TrackInfo
from plugin.domain.errors import UnknownWorkspace
from plugin.store.schema import Status, Track, Workspace
from plugin.store.versioned import ByCatalogVersion

_catalogs: ByCatalogVersion[Catalog] = ByCatalogVersion()


def load_catalog(conn: Connection, workspace_id: int, version: int | None = None) -> Catalog:
    """The workspace's catalog; cached per process by (workspace, catalog_version), never served stale."""
    if version is None:
        row = conn.execute(select(Workspace.catalog_version).where(Workspace.id == workspace_id)).first()
        if row is None:
            raise UnknownWorkspace(f"workspace {workspace_id} does not exist")
        version = row[0]
    return _catalogs.get(conn, workspace_id, version, lambda: _read_catalog(conn, workspace_id, version))


def cached_catalog(conn: Connection, workspace_id: int, version: int) -> Catalog | None:
    """The catalog this process keeps for that version, or None; reads nothing."""
    return _catalogs.cached(conn, workspace_id, version)


def _read_catalog(conn: Connection, workspace_id: int, version: int) -> Catalog:
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
    return catalog
