"""Property-based fuzzing of the whole API from its own /openapi.json (schemathesis): whatever the
input, no 5xx, and every answer matches the documented status codes, content types and schemas.

SQLite only: the same code paths run on PostgreSQL in every other API test, and fuzzing ~35
operations twice would double the suite's slowest test for little extra coverage.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
