"""Per-process caches of what a workspace's rows say, correct because the database says when they change.

Every change that alters a cached value (statuses, tracks, packs, intent assignments, webhook
subscriptions) bumps `workspaces.catalog_version` in its own transaction, and a cache is keyed by
(database, workspace, that version): a hit is what the rows said at that version, never stale, and a
process that reads a newer version simply builds the value again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")


class ByCatalogVersion(Generic[T]):
    """One kind of value per (database, workspace, catalog version), at most `limit` kept."""

    def __init__(self, limit: int = 256) -> None:
        self._values: dict[tuple[object, int, int], T] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def cached(self, conn: Connection, workspace_id: int, version: int) -> T | None:
        """The value kept for that version, or None; reads nothing."""
        return self._values.get((conn.engine.url, workspace_id, version))

    def get(self, conn: Connection, workspace_id: int, version: int, build: Callable[[], T]) -> T:
        # Keyed by database too: one process (a test run, a CLI pointed elsewhere) may see several.
        key = (conn.engine.url, workspace_id, version)
        found = self._values.get(key)
        if found is None:
            found = build()
            with self._lock:
                if len(self._values) >= self._limit:
                    self._values.clear()
                self._values[key] = found
        return found
