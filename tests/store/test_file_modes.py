"""The SQLite file holds channel secrets and every message: it and its -wal, -shm and .lock files are
created readable by their owner only, whatever the umask (SPEC §12)."""

from __future__ import annotations

import os
import stat

from plugin.store.db import make_engine, transaction, upgrade
from plugin.store.schema import Workspace


def test_a_new_sqlite_database_and_its_side_files_are_private(tmp_path):
    path = tmp_path / "statushub.db"
    old = os.umask(0o022)
    try:
        upgrade(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        with transaction(engine) as conn:
            conn.execute(Workspace.__table__.delete())
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert {"statushub.db", "statushub.db-wal", "statushub.db-shm", "statushub.db.lock"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


def test_an_existing_database_keeps_the_mode_its_owner_chose(tmp_path):
    path = tmp_path / "statushub.db"
    upgrade(f"sqlite:///{path}")
    path.chmod(0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
