"""Scratch: hunt property failures with many examples (temporary, not part of the suite)."""

import os

from hypothesis import HealthCheck, given, settings

from tests.core import test_engine_properties as p

N = int(os.environ.get("HUNT_N", "300"))
S = settings(
    max_examples=N,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

test_hunt_ops = S(given(ops=p.operations)(p.test_the_engine_keeps_its_promises_under_any_operations.hypothesis.inner_test))
test_hunt_order = S(
    given(messages=p.messages, manuals=p.manuals, seed=p.st.integers(0, 2**32 - 1))(
        p.test_any_arrival_order_with_duplicates_ends_in_the_same_statuses.hypothesis.inner_test
    )
)


class _OldKeyCache(dict):
    """Simulates the former cache key (workspace, version) without the database."""

    def get(self, key, default=None):
        return super().get(key[1:], default)

    def __setitem__(self, key, value):
        super().__setitem__(key[1:], value)


if os.environ.get("HUNT_OLD"):
    import plugin.statuses

    plugin.statuses._cache = _OldKeyCache()
