"""Durations as users write them: `15m`, `48h`, `30d`, from 1 minute to 3,650 days (SPEC §9, §12)."""

from __future__ import annotations

import re

from plugin.domain.errors import StatushubError

_DURATION = re.compile(r"^\s*(\d{1,11})\s*([mhd])\s*$")
_UNIT = {"m": 1, "h": 60, "d": 1440}
MAX_MINUTES = 3650 * 1440


class InvalidDuration(StatushubError):
    code = "invalid_duration"


def parse_duration(text: str, *, field: str = "after") -> int:
    """`15m`, `48h`, `30d` (from 1m to 3650d) → minutes; InvalidDuration naming `field` otherwise."""
    match = _DURATION.match(text or "")
    minutes = int(match.group(1)) * _UNIT[match.group(2)] if match else 0
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidDuration(
            f"duration {text!r} must be <n>m, <n>h or <n>d with n ≥ 1, from 1m to 3650d", field=field
        )
    return minutes


def format_duration(minutes: int) -> str:
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"
