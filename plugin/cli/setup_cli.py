"""`statushub init [--demo]`, `statushub db upgrade` and `statushub serve`: getting a hub running (SPEC §7)."""

from __future__ import annotations

import importlib

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from plugin.cli.output import session
from plugin.customers.queries import CustomerFilter, list_customers
from plugin.domain.clock import utcnow
from plugin.store.db import reading, transaction, upgrade
from plugin.store.schema import Customer, Workspace
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import WorkspaceRow, create_token, get_workspace


def _revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _migrate() -> None:
    hub = session()
    shown = make_url(hub.settings.database_url).render_as_string(hide_password=True)
    before = _revision(hub.engine)
    upgrade(hub.settings.database_url)
    after = _revision(hub.engine)
    if before == after:
        click.echo(f"database {shown} is up to date (revision {after})")
    elif before is None:
        click.echo(f"created database {shown} (revision {after})")
    else:
        click.echo(f"upgraded database {shown} from revision {before} to {after}")


@click.command("init")
@click.option(
    "--demo", is_flag=True, help="Add a demo workspace with sample data (only into an empty database)."
)
def init_command(demo: bool) -> None:
    """Creates the database and runs migrations; run again, it applies pending ones and keeps all data.
    Also prepares the shipped intent model, so the first message does not wait for its training."""
    _migrate()
    from plugin.workspace.intent_model import shipped_model
    from plugin.workspace.workspaces import DEFAULT_PACKS

    model = shipped_model(DEFAULT_PACKS)
    click.echo(
        f"intent model ready ({len(model.classes) - 1} intents, confidence threshold {model.threshold:.2f})"
    )
    if demo:
        _add_demo(session().engine)


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Runs pending migrations."""
    _migrate()


def _add_demo(engine: Engine) -> None:
    with reading(engine) as conn:
        existing = conn.execute(select(func.count()).select_from(Workspace)).scalar_one()
    if existing:
        click.echo(
            "the database already has workspaces: --demo adds nothing (it only fills an empty database)"
        )
        return
    load_demo = _bundled_demo()
    if load_demo is not None:
        load_demo(engine)
        with transaction(engine) as conn:
            ws = _demo_workspace(conn)
            _, token = create_token(conn, ws.id, "admin", None, utcnow())
    else:
        from plugin.cli.starter_data import load_starter_data

        with transaction(engine) as conn:
            load_starter_data(conn, "demo")
            ws = get_workspace(conn, "demo")
            _, token = create_token(conn, ws.id, "admin", None, utcnow())
    with reading(engine) as conn:
        page = list_customers(conn, load_catalog(conn, ws.id), CustomerFilter(sort="priority"), limit=1)
        customers = conn.execute(
            select(func.count()).select_from(Customer).where(Customer.workspace_id == ws.id)
        ).scalar_one()
    first = page.items[0] if page.items else None
    who = f"'#{first['id']}'" if first else "CUSTOMER"
    click.echo(f"added demo workspace {ws.slug} with {customers} customers")
    click.echo(f"admin API token for {ws.slug} (shown once; only its hash is stored):")
    click.echo(token)
    click.echo("try next:")
    for line in (
        "statushub customers list --sort priority",
        f"statushub customers show {who}",
        f"statushub why {who}",
        f"statushub set {who} hot_lead --note 'called back'",
        "statushub serve    # then open http://127.0.0.1:8000/console/ and sign in with the token",
    ):
        click.echo(f"  {line}")


def _bundled_demo():
    """plugin.demo.load_demo when that module is installed, else None."""
    try:
        module = importlib.import_module("plugin.demo")
    except ModuleNotFoundError as exc:
        if exc.name == "plugin.demo":
            return None
        raise
    return getattr(module, "load_demo", None)


def _demo_workspace(conn) -> WorkspaceRow:
    slugs = conn.execute(select(Workspace.slug).order_by(Workspace.id)).scalars().all()
    return get_workspace(conn, None if len(slugs) == 1 else ("demo" if "demo" in slugs else slugs[0]))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader; never in production.")
def serve_command(host: str, port: int, debug: bool) -> None:
    """The development server; production runs gunicorn 'plugin.app:create_app()'."""
    from plugin.app import create_app

    app = create_app()
    click.echo(delivery_reports_line(app.extensions["statushub"].settings), err=True)
    app.run(host=host, port=port, debug=debug)


def delivery_reports_line(settings) -> str:
    """One line on whether sends ask Twilio for delivery reports (SPEC §11)."""
    from plugin.app.settings import delivery_reports

    reports = delivery_reports(settings)
    if reports["delivery_reports"] == "on":
        return f"delivery reports on: Twilio posts them to {reports['status_callback']}"
    return (
        "delivery reports off: set STATUSHUB_PUBLIC_URL to the hub's public URL, or sent messages stay queued"
    )
