"""Hostile Chatwoot deliveries (SPEC §12): fuzzed payloads parse or fail with the domain's error naming
a field; signed but malformed bodies answer 400 and store nothing, never 5xx; crafted headers answer
400 or 401 naming them; unstorable characters are kept as U+FFFD."""

from __future__ import annotations

import copy
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.chatwoot import signature
from adapters.chatwoot.parse import parse_delivery
from plugin.domain.errors import StatushubError
from plugin.store.db import reading
from plugin.store.schema import ChatwootContact, Customer, Delivery, Identity, Message
from tests.adapters.chatwoot.conftest import app, client, compact, connected, payload, post, post_raw  # noqa: F401

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
INCOMING = payload("message_created.incoming_whatsapp")
# The fields the hub reads, by path, in the three shapes it acts on.
PATHS = [
    ("event",),
    ("message_type",),
    ("private",),
    ("id",),
    ("content",),
    ("created_at",),
    ("account",),
    ("account", "id"),
    ("sender",),
    ("sender", "id"),
    ("sender", "name"),
    ("sender", "phone_number"),
    ("sender", "type"),
    ("conversation",),
    ("conversation", "id"),
    ("conversation", "meta"),
    ("conversation", "meta", "sender"),
    ("conversation", "meta", "sender", "id"),
    ("changed_attributes",),
]
BASES = ["message_created.incoming_whatsapp", "message_created.outgoing_agent", "contact_updated.name_phone"]


def mutated(base: str, changes: list[tuple[tuple[str, ...], object]]) -> dict:
    document = payload(base)
    for path, value in changes:
        here = document
        for key in path[:-1]:
            if not isinstance(here.get(key), dict):
                here[key] = {}
            here = here[key]
        here[path[-1]] = value
    return document


changes = st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=4)


def stored(engine) -> tuple:
    with reading(engine) as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Message, Customer, Identity, Delivery, ChatwootContact)
        )


@given(base=st.sampled_from(BASES), edits=changes)
@settings(max_examples=400, deadline=None)
def test_chatwoot_payloads_parse_or_fail_with_a_domain_error(base, edits):
    try:
        parse_delivery(mutated(base, edits), 1)
    except StatushubError as exc:
        assert exc.field


@given(stamp=st.none() | text | st.from_regex(r"\A[0-9\u0660-\u0669]{0,5000}\Z"), sig=st.none() | text)
@settings(max_examples=300, deadline=None)
def test_chatwoot_signature_headers_are_refused_never_raise(stamp, sig):
    parsed = signature.parse_timestamp(stamp)
    if parsed is not None:
        signature.is_fresh(parsed, time.time())
        assert stamp is not None
        assert not signature.matches("secret", stamp, sig, b"{}")


@given(base=st.sampled_from(BASES), edits=changes)
@FUZZ
def test_signed_fuzzed_deliveries_never_answer_5xx_and_a_400_stores_nothing(client, engine, base, edits):  # noqa: F811
    before = stored(engine)
    answer = post(client, mutated(base, edits))
    assert answer.status_code in (200, 400), answer.data[:300]
    if answer.status_code == 400:
        assert answer.json["error"]["details"]["field"]
        assert stored(engine) == before


GOOD = compact(INCOMING)
BAD_BODIES = {
    "truncated": GOOD[:-7],
    "latin-1": GOOD.decode().replace("Maria", "Mar\u00eda").encode("latin-1"),
    "utf-16": GOOD.decode().encode("utf-16"),
    "array": b"[1, 2, 3]",
    "empty": b"",
    "deep": b"[" * 10_000 + b"]" * 10_000,
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_malformed_signed_bodies_answer_400_and_store_nothing(client, engine, kind):  # noqa: F811
    answer = post_raw(client, BAD_BODIES[kind])
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "body"
    assert stored(engine) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({"X-Chatwoot-Timestamp": "9" * 4000}, 401, "X-Chatwoot-Timestamp"),
        ({"X-Chatwoot-Timestamp": "١٧٨٥٢٣٠١٤٣"}, 401, "X-Chatwoot-Timestamp"),
        ({"X-Chatwoot-Timestamp": None}, 401, "X-Chatwoot-Timestamp"),
        ({"X-Chatwoot-Signature": None}, 401, "X-Chatwoot-Signature"),
        ({"X-Chatwoot-Signature": "sha256=" + "é" * 64}, 401, "X-Chatwoot-Signature"),
        ({"X-Chatwoot-Delivery": "d" * 500}, 400, "X-Chatwoot-Delivery"),
    ],
)
def test_crafted_headers_answer_400_or_401_naming_them(client, engine, headers, status, field):  # noqa: F811
    answer = post_raw(client, GOOD, headers=headers)
    assert answer.status_code == status
    assert answer.json["error"]["details"]["field"] == field
    assert stored(engine) == (0, 0, 0, 0, 0)


def test_nul_and_lone_surrogates_are_kept_as_replacement_characters(client, engine):  # noqa: F811
    document = copy.deepcopy(INCOMING)
    raw = (
        compact(document)
        .replace(b"Hi, I'd like", b"Hi\\u0000 I\\ud800d like")
        .replace(b"Maria Lopez", b"Maria\\udfff")
    )
    answer = post_raw(client, raw)
    assert answer.status_code == 200, answer.json
    with reading(engine) as conn:
        assert conn.execute(select(Message.text)).scalar_one().startswith("Hi\ufffd I\ufffdd like")
        assert conn.execute(select(Customer.name)).scalar_one() == "Maria\ufffd"


def test_huge_ids_and_far_future_times_are_handled(client, engine):  # noqa: F811
    big = copy.deepcopy(INCOMING)
    big["id"] = 2**64
    assert post(client, big).status_code == 400
    future = copy.deepcopy(INCOMING)
    future["created_at"] = "9999-12-31T23:59:59.999Z"
    answer = post(client, future)
    assert answer.status_code == 200  # kept, its time replaced by the receipt time (SPEC §12)
