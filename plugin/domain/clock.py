"""The one source of "now", so tests and the worker can move time."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time in statushub is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
