"""Media (SPEC §11, issue 16): the recorded two-photo MMS keeps each photo's URL and content type, and
every place that shows a message shows them (`📎 image/jpeg` with the link): the CLI, the API, the
console's customer page and the Slack card. A photo-only MMS is not an empty message."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from adapters.slack.blocks import customer_card
from plugin.customers.cards import card
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.store.schema import Customer, Message
from plugin.workspace.catalog import load_catalog
from tests.adapters.sms.recorded import form, inbound

PHOTOS = form("inbound_mms_two_media")
JPEG, PNG = PHOTOS["MediaUrl0"], PHOTOS["MediaUrl1"]
PHOTO_ONLY = form(
    "inbound_mms_two_media",
    Body="",
    NumMedia="1",
    MessageSid="MM" + "c" * 32,
    SmsSid="MM" + "c" * 32,
    SmsMessageSid="MM" + "c" * 32,
)
del PHOTO_ONLY["MediaUrl1"], PHOTO_ONLY["MediaContentType1"]


@pytest.fixture
def photos(client, engine) -> int:
    assert inbound(client, PHOTOS).status_code == 200
    assert inbound(client, PHOTO_ONLY).status_code == 200
    with engine.connect() as conn:
        return conn.execute(select(Customer.id)).scalar_one()


def test_the_mms_keeps_each_url_with_its_content_type(photos, engine):
    with engine.connect() as conn:
        media = conn.execute(select(Message.media).order_by(Message.id)).scalars().all()
    assert media == [
        [{"url": JPEG, "content_type": "image/jpeg"}, {"url": PNG, "content_type": "image/png"}],
        [{"url": JPEG, "content_type": "image/jpeg"}],
    ]


def test_the_cli_lists_media_with_content_types(photos, cli):
    shown = cli("messages", f"#{photos}", "--workspace", "shop").stdout
    assert f"📎 image/jpeg {JPEG}" in shown and f"📎 image/png {PNG}" in shown
    rows = [line for line in shown.splitlines() if "inbound" in line]
    assert len(rows) == 2 and "📎 image/jpeg" in rows[1]  # the photo-only one is not blank
    document = json.loads(cli("messages", f"#{photos}", "--workspace", "shop", "--json").stdout)
    assert document[1]["text"] == "" and document[1]["media"] == [{"url": JPEG, "content_type": "image/jpeg"}]


def test_the_api_lists_media_with_content_types(photos, client, deployment):
    answer = client.get(f"/api/v1/customers/{photos}/messages", headers=deployment["agent"])
    assert answer.status_code == 200
    items = answer.json["items"]
    assert items[0]["media"] == [
        {"url": JPEG, "content_type": "image/jpeg"},
        {"url": PNG, "content_type": "image/png"},
    ]
    assert items[1]["text"] == "" and items[1]["media"][0]["content_type"] == "image/jpeg"


def test_the_api_lists_messages_of_its_own_workspace_only(photos, client, engine, deployment):
    from plugin.workspace.workspaces import create_token

    with transaction(engine) as conn:
        _, stranger = create_token(conn, deployment["other"], "admin", "stranger", utcnow())
    answer = client.get(
        f"/api/v1/customers/{photos}/messages", headers={"Authorization": f"Bearer {stranger}"}
    )
    assert answer.status_code == 404


def test_the_console_links_each_attachment(photos, app, deployment):
    from tests.console.conftest import sign_in

    browser = app.test_client()
    token = deployment["agent"]["Authorization"].removeprefix("Bearer ")
    assert sign_in(browser, token).status_code == 302
    page = browser.get(f"/console/customers/{photos}").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" rel="noopener noreferrer" target="_blank">📎 ([^<]+)</a>', page)
    assert links == [(JPEG, "image/jpeg"), (PNG, "image/png"), (JPEG, "image/jpeg")]


def test_the_slack_card_shows_media_as_links(photos, engine, deployment):
    with transaction(engine) as conn:
        catalog = load_catalog(conn, deployment["shop"])
        shown = card(conn, catalog, photos)
    text = json.dumps(customer_card(shown, catalog, utcnow()), ensure_ascii=False)
    assert f"<{JPEG}|📎 image/jpeg>" in text and f"<{PNG}|📎 image/png>" in text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"NumMedia": "2", "MediaUrl1": ""}, "MediaUrl1"),
        ({"MediaContentType0": "a jpeg please"}, "MediaContentType0"),
        ({"NumMedia": "two"}, "NumMedia"),
    ],
)
def test_malformed_media_parameters_answer_400_and_store_nothing(client, engine, changes, field):
    bad = form("inbound_mms_two_media", **changes)
    answer = inbound(client, bad)
    assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == field
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Message)).scalar_one() == 0
