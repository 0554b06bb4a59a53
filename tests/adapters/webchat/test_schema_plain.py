"""The plain-shape loader beside the marshmallow schema: whatever it loads, the schema loads to the same
value; whatever the schema refuses, it leaves to the schema (so the error names the same field)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from adapters.webchat import schema
from adapters.webchat.schema import load_event
from plugin.domain.errors import StatushubError
from tests.adapters.fixtures import fixture

MISSING = object()


def text_near(limit: int) -> st.SearchStrategy:
    """Strings around a length limit, and short ones (empty included)."""
    return st.one_of(
        st.sampled_from([limit - 1, limit, limit + 1, 0, 1]).map("x".__mul__), st.text(max_size=3)
    )


def other_types() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.integers(), st.booleans(), st.lists(st.integers(), max_size=2), st.just({})
    )


stamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive: the schema refuses it
    st.sampled_from(
        [
            "2026-05-04T09:00:00Z",
            "2026-05-04T09:00:00.123456+07:00",
            "2026-05-04T09:00:00.1234567Z",  # seven digits
            "2026-02-30T09:00:00Z",  # no such day
            "2026-05-04T24:00:00Z",
            "2026-05-04 09:00:00Z",
            "2026-05-04T09:00Z",
            "20260504T090000Z",
            "2026-05-04T09:00:00+0700",
            "2026-05-04T09:00:00-00:00",
            "yesterday",
            "",
        ]
    ),
    other_types(),
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, st.just(MISSING), other_types())


visitors = st.one_of(
    st.fixed_dictionaries(
        {"id": maybe(text_near(200)), "name": maybe(text_near(200)), "extra": maybe(st.text(max_size=3))}
    ).map(lambda d: {k: v for k, v in d.items() if v is not MISSING}),
    other_types(),
)
VARIANTS = {
    "workspace": maybe(text_near(64)),
    "event_id": maybe(text_near(128)),
    "visitor": maybe(visitors),
    "direction": maybe(st.sampled_from(["inbound", "outbound", "Inbound", ""])),
    "sender": maybe(st.sampled_from(["customer", "agent", "bot", "admin"])),
    "text": maybe(st.one_of(st.text(max_size=20), text_near(100_000))),
    "timestamp": maybe(stamps),
    "media": st.one_of(
        st.just(MISSING),
        st.just([]),
        st.just([{"url": "https://example.com/a.png", "content_type": "image/png"}]),
        other_types(),
    ),
    "unknown": maybe(st.text(max_size=3)),
}


@st.composite
def documents(draw) -> dict:
    """A plain event with one to three of its fields drawn from their variants (valid ones among them)."""
    document: dict = dict(PLAIN)
    for name in draw(st.lists(st.sampled_from(sorted(VARIANTS)), min_size=1, max_size=3, unique=True)):
        document[name] = draw(VARIANTS[name])
    return {k: v for k, v in document.items() if v is not MISSING}


PLAIN = {
    "workspace": "acme",
    "event_id": "evt-1",
    "visitor": {"id": "v-42", "name": "Sam"},
    "direction": "inbound",
    "sender": "customer",
    "text": "how much?",
    "timestamp": "2026-05-04T09:00:00Z",
}


@settings(max_examples=600, deadline=None)
@given(documents())
@example(PLAIN)
@example({**PLAIN, "timestamp": "2026-02-30T09:00:00Z"})
@example({**PLAIN, "direction": "outbound"})
@example({**PLAIN, "visitor": {"id": "v-42"}})
@example({**PLAIN, "media": []})
@example({**PLAIN, "visitor": {"id": "v", "name": "n" * 201}})
@example({**PLAIN, "visitor": {"id": "v" * 201}})
@example({**PLAIN, "workspace": "w" * 65})
@example({**PLAIN, "event_id": "e" * 129})
@example({**PLAIN, "text": "t" * 100_001})
def test_the_plain_loader_agrees_with_the_schema(document):
    plain = schema._plain(document)
    try:
        loaded = schema._schema.load(document)
    except ValidationError:
        assert plain is None, "a body the schema refuses must reach the schema, which names its field"
        return
    if plain is not None:
        assert plain == loaded
        assert plain["timestamp"].utcoffset() == loaded["timestamp"].utcoffset()


@pytest.mark.parametrize("name", ["inbound_message", "bot_reply"])
def test_the_documented_events_take_the_plain_path(name):
    body = fixture("webchat", name)["body"]
    assert schema._plain(body) == schema._schema.load(body)


def test_a_plain_event_loads_to_its_values():
    assert load_event(PLAIN) == {
        **PLAIN,
        "visitor": {"id": "v-42", "name": "Sam"},
        "timestamp": datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
        "media": [],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"visitor": {"id": ""}}, "visitor.id"),
        ({"timestamp": "2026-02-30T09:00:00Z"}, "timestamp"),
        ({"timestamp": "2026-05-04T09:00:00"}, "timestamp"),
        ({"direction": "outbound"}, "sender"),
        ({"text": 5}, "text"),
    ],
)
def test_a_body_just_off_the_plain_shape_is_refused_by_the_schema_naming_its_field(change, field):
    with pytest.raises(StatushubError) as caught:
        load_event({**PLAIN, **change})
    assert caught.value.field == field
