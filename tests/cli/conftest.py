"""The command line run in-process with click's CliRunner against the test database of each backend."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from plugin.cli import main
from plugin.store.schema import Base


@pytest.fixture
def cli(db_url):
    """`cli("set", "Ada", "hot")` runs `statushub set Ada hot` and asserts it succeeded."""
    runner = CliRunner()

    def run(*args: str, ok: bool = True, env: dict | None = None, input: str | None = None) -> Result:
        result = runner.invoke(
            main,
            list(args),
            input=input,
            env={"STATUSHUB_DATABASE_URL": db_url, "STATUSHUB_WORKSPACE": None, **(env or {})},
            catch_exceptions=False,
        )
        if ok:
            assert result.exit_code == 0, f"{args}: {result.stderr}{result.stdout}"
            assert result.stderr == ""
        return result

    return run


@pytest.fixture
def fails(cli, engine):
    """`fails("set", "Ada", "hto")`: the command exits 1 with one `error:` line on stderr and leaves
    every table as it was. Returns that line."""

    def run(*args: str) -> str:
        before = snapshot(engine)
        result = cli(*args, ok=False)
        assert result.exit_code == 1, f"{args} exited {result.exit_code}: {result.stdout}"
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert snapshot(engine) == before, f"{args} changed the database"
        return lines[0]

    return run


def snapshot(engine) -> dict[str, list]:
    """Every row of every table, to prove a failed command changed nothing."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables
        }
