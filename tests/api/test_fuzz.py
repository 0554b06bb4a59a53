"""Property-based fuzzing of the whole API from its own /openapi.json (schemathesis): whatever the
input, no 5xx, and every answer matches the documented status codes, content types and schemas.

SQLite only: the same code paths run on PostgreSQL in every other API test, and fuzzing ~35
operations twice would double the suite's slowest test for little extra coverage. Forged cursors and
durations, which random strings seldom reach, are fuzzed on both databases: their integers and text
meet each database's limits (SPEC §12).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import add

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 6


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_fuzzed_requests_never_fail_and_match_the_documented_schemas(app, tokens, engine, workspace, mode):
    for phone in ("+15551230001", "+15551230002"):
        add(engine, workspace, "Fuzzed " + phone, phone)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        if operation.path.endswith("/messages"):
            continue  # calls Twilio; covered with a faked Twilio in test_merge_and_send

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            response = case.call(headers=tokens["admin"])
            case.validate_response(response, checks=CHECKS)

        check()


# Values a forged cursor may hold: integers past 64 bits, non-finite numbers, text the database
# cannot store, and times at the ends of the calendar in any offset.
cursor_values = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**400]),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(st.one_of(st.characters(), st.just("\x00"), st.integers(0xD800, 0xDFFF).map(chr)), max_size=8),
    st.builds(
        lambda when, minutes: when.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
        st.integers(-1439, 1439),
    ),
)


@pytest.mark.parametrize("sort", ["id", "name", "priority"])
def test_forged_cursors_answer_200_or_400_naming_the_cursor(client, tokens, engine, workspace, sort):
    add(engine, workspace, "Fuzzed", "+15551230001")

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(key=st.lists(cursor_values, min_size=1, max_size=4), named=st.sampled_from([sort, "id"]))
    @example(key=[0, 2**31, None, 0], named=sort)  # a rank past the 32-bit column (PostgreSQL: 503, once)
    def check(key, named):
        raw = json.dumps({"s": named, "k": key}).encode()  # NaN and Infinity as Python's json writes them
        cursor = base64.urlsafe_b64encode(raw).decode()
        answer = client.get(f"/api/v1/customers?sort={sort}&cursor={cursor}", headers=tokens["agent"])
        assert answer.status_code in (200, 400), (key, answer.data)
        if answer.status_code == 400:
            assert answer.json["error"]["details"]["field"] == "cursor"

    check()


def test_fuzzed_durations_answer_201_or_400_naming_after(client, tokens):
    names = (f"fuzz-{n}" for n in range(10_000))

    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(after=st.text(max_size=16) | st.from_regex(r"\A[0-9]{1,14}[mhd]\Z"))
    def check(after):
        body = {"name": next(names), "when": {"stage": "greeting"}, "after": after, "to": "stage:cold_lead"}
        answer = client.post("/api/v1/time-rules", json=body, headers=tokens["admin"])
        assert answer.status_code in (201, 400), (after, answer.data)
        if answer.status_code == 400:
            assert answer.json["error"]["details"]["field"] == "after"

    check()
