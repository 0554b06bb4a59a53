"""The CLI's edge: its database, `--workspace`/`--json` options, aligned tables, and the one place
where a mistake becomes a one-line `error: ...` on stderr and exit status 1 (STYLE §5)."""

from __future__ import annotations

import getpass
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property

import click
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from plugin.app.settings import Settings
from plugin.cli.lazy import LazyGroup
from plugin.domain.clock import aware
from plugin.domain.errors import StatushubError
from plugin.store.db import reading, transaction

MAX_CHOICES = 25


class Session:
    """What every command shares: the settings and one engine, made on first use and disposed at exit."""

    def __init__(self) -> None:
        try:
            self.settings = Settings.from_env()
        except ValueError as exc:  # a bad STATUSHUB_* variable: its name and what it takes, no traceback
            raise click.ClickException(str(exc)) from None

    @cached_property
    def engine(self) -> Engine:
        return self.settings.engine()

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def session() -> Session:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
        root.call_on_close(root.obj.close)
    return root.obj


@contextmanager
def unit_of_work() -> Iterator[Connection]:
    """One transaction: commits when the command succeeds, rolls back on any mistake, so a failed
    command changes nothing."""
    with transaction(session().engine) as conn:
        yield conn


@contextmanager
def read_only() -> Iterator[Connection]:
    with reading(session().engine) as conn:
        yield conn


def workspace_option(func: Callable) -> Callable:
    return click.option(
        "--workspace",
        "-w",
        metavar="W",
        envvar="STATUSHUB_WORKSPACE",
        help="Workspace slug; may be left out when there is only one.",
    )(func)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document, for scripts.")(func)


def actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"cli:{user}"


def print_json(document) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=_jsonable))


def _jsonable(value):
    if isinstance(value, datetime):
        return aware(value).isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def when(value: str | datetime | None) -> str:
    """A time as people read it in a terminal (UTC, to the second)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return aware(moment).strftime("%Y-%m-%d %H:%M:%S")


def width(text: str) -> int:
    """Columns a string takes in a terminal: emoji and wide characters take two, joiners none."""
    total = 0
    for i, ch in enumerate(text):
        if ch in "\u200d\ufe0f\ufe0e" or unicodedata.combining(ch):
            continue
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        emoji_style = i + 1 < len(text) and text[i + 1] == "\ufe0f"
        total += 2 if wide or emoji_style else 1
    return total


def table(headers: Sequence[str], rows: Sequence[Sequence], *, empty: str = "(none)") -> None:
    """Prints rows as aligned plain-text columns."""
    if not rows:
        click.echo(empty)
        return
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)]
        click.echo("  ".join(padded).rstrip())


def fields(pairs: Sequence[tuple[str, object]]) -> None:
    """Prints `label  value` lines, labels aligned."""
    pad = max((len(label) for label, _ in pairs), default=0)
    for label, value in pairs:
        click.echo(f"{label.ljust(pad)}  {value}")


def one_line(error: StatushubError) -> str:
    """The error's message with the valid choices on the same line."""
    text = error.message
    if error.choices:
        shown = [str(c) for c in error.choices[:MAX_CHOICES]]
        more = ", ..." if len(error.choices) > MAX_CHOICES else ""
        text += f" (choices: {', '.join(shown)}{more})"
    return " ".join(text.split())


def fail(message: str, code: int = 1) -> None:
    click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(code)


class TranslatingGroup(LazyGroup):
    """The root group: every mistake, from click's parsing to the domain and the database, leaves
    as one line on stderr and exit status 1; the unit of work has already rolled back."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            fail(exc.format_message())
        except click.Abort:
            fail("aborted")
        except StatushubError as exc:
            fail(one_line(exc))
        except (OperationalError, ProgrammingError) as exc:
            # The driver's first line names the problem (unreachable server, missing table) and never
            # the password; the statement and parameters are left out.
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0:1] or ["database error"]
            fail(f"database: {reason[0]} (is it initialized? run `statushub init`)")
        except _pack_error() as exc:
            fail(f"rule pack: {exc}")
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


def _pack_error() -> type[Exception]:
    from rules.pack import PackError

    return PackError
