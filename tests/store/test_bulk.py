"""The batch path's driver-level SQL stores exactly what SQLAlchemy would, and `one_of` finds what IN does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, DateTime, select
from sqlalchemy.dialects import sqlite

from plugin.domain.clock import utcnow
from plugin.engine import ensure_customers
from plugin.store.bulk import one_of
from plugin.store.db import transaction
from plugin.store.prepared import _converter
from plugin.store.schema import Identity

SQLITE = sqlite.dialect()
ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)


def processors(type_):
    """Ours (a column at a time) and SQLAlchemy's (a value at a time)."""
    process = type_.dialect_impl(SQLITE).bind_processor(SQLITE)
    return _converter(type_, SQLITE), lambda values: [process(v) for v in values]


@given(st.lists(st.datetimes(timezones=ZONES), max_size=6))
def test_times_are_stored_as_sqlalchemy_stores_them(values):
    ours, theirs = processors(DateTime(timezone=True))
    assert ours(values) == theirs(values)
    assert ours(values) == theirs(values)
    utc = [v.replace(tzinfo=UTC) for v in values]
    assert ours(utc) == theirs(utc) and ours(utc) == theirs(utc)


def test_equal_times_in_other_zones_keep_their_own_text():
    ours, theirs = processors(DateTime(timezone=True))
    utc = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=2)))
    naive = utc.replace(tzinfo=None)
    for column in ([utc], [paris], [naive, utc], [utc, paris], [date(2026, 5, 4), None, utc], [paris, utc]):
        assert ours(column) == theirs(column)


@given(
    st.lists(
        st.one_of(
            st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers())
        ),
        max_size=4,
    )
)
def test_json_is_stored_as_sqlalchemy_stores_it(values):
    ours, theirs = processors(JSON())
    assert ours(values) == theirs(values)
    assert ours(values) == theirs(values)


def test_one_of_finds_what_in_finds(engine, catalog):
    ID = Identity.__table__
    longest = "webchat:" + "v" * 247  # the column's 255 characters
    wanted = [("sms:+15550001234", None), (longest, "Sam")]
    with transaction(engine) as conn:
        made = ensure_customers(conn, catalog, wanted, utcnow())
        assert ensure_customers(conn, catalog, wanted[::-1], utcnow()) == made
        stmt = select(ID.c.value).where(one_of(ID.c.value, "values", conn.dialect.name))
        # A longer value is not cut down to one that exists.
        found = conn.execute(stmt, {"values": [longest + "x", "sms:+15550009999", "sms:+15550001234"]})
        assert [row.value for row in found] == ["sms:+15550001234"]
        assert conn.execute(stmt, {"values": []}).all() == []
