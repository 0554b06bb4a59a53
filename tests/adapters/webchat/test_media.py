"""Web chat media (SPEC §11): `"media": [{"url", "content_type"}]`, the shape every channel stores."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.store.schema import Message
from tests.adapters.webchat.conftest import event_body, post_event

PHOTO = {"url": "https://cdn.example.com/u/42/receipt.jpg", "content_type": "image/jpeg"}


def test_a_photo_only_event_is_stored_with_its_media(client, engine):
    answer = post_event(client, event_body("evt-1", "", media=[PHOTO]))
    assert answer.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Message.text, Message.media)).one() == ("", [PHOTO])


@pytest.mark.parametrize(
    ("media", "field"),
    [
        ([{"url": "javascript:alert(1)", "content_type": "image/jpeg"}], "media.0.url"),
        ([{"content_type": "image/jpeg"}], "media.0.url"),
        ([{"url": PHOTO["url"], "content_type": "a photo"}], "media.0.content_type"),
        ("https://cdn.example.com/x.jpg", "media"),
        ([PHOTO] * 11, "media"),
    ],
)
def test_malformed_media_answers_400_naming_it_and_stores_nothing(client, engine, media, field):
    answer = post_event(client, event_body("evt-1", "look", media=media))
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == field
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Message)).scalar_one() == 0
