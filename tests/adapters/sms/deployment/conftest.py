"""A deployment set up the way the recorded Twilio payloads were captured (see recorded.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from plugin.app import create_app
from plugin.cli import main
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.workspace.workspaces import create_token, create_workspace
from tests.adapters.sms.recorded import ACCOUNT, NUMBER, OTHER_TOKEN, PUBLIC, TOKEN


@pytest.fixture
def deployment(engine):
    """Two workspaces on the same Twilio account (so the AccountSid alone decides nothing): `shop`
    owns +15017122661, `other` nothing yet."""
    now = utcnow()
    with transaction(engine) as conn:
        shop = create_workspace(
            conn,
            "shop",
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN,
            twilio_number=NUMBER,
            webchat_secret="shop-webchat-secret",
            now=now,
        )
        other = create_workspace(
            conn, "other", twilio_account_sid=ACCOUNT, twilio_auth_token=OTHER_TOKEN, now=now
        )
        _, admin = create_token(conn, shop, "admin", "shop-admin", now)
        _, agent = create_token(conn, shop, "agent", "shop-agent", now)
    return {
        "shop": shop,
        "other": other,
        "admin": {"Authorization": f"Bearer {admin}"},
        "agent": {"Authorization": f"Bearer {agent}"},
    }


@pytest.fixture
def app(db_url, deployment):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "PUBLIC_URL": PUBLIC})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(db_url, deployment):
    """`cli("workspace", "edit", ...)`: runs statushub in-process; `ok=False` returns a failure's result."""

    def run(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(
            main, list(args), env={"STATUSHUB_DATABASE_URL": db_url, "STATUSHUB_WORKSPACE": None}
        )
        assert (result.exit_code == 0) == ok, f"{args}: {result.stderr}{result.stdout}"
        return result

    return run
