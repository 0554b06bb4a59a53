"""Settings, read once from the environment into one typed object (SPEC §7)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine

from plugin.app.logs import LEVELS
from plugin.store.db import make_engine

DEFAULT_DATABASE_URL = "sqlite:///statushub.db"
DEFAULT_FOLD_DELAY_MS = 250  # held messages wait this long to be folded, in one batch (SPEC §8)


@dataclass(frozen=True)
class Settings:
    """`public_url` (STATUSHUB_PUBLIC_URL) is the URL Twilio signs and the one sends ask Twilio to
    report delivery to: without it, delivery reports are off."""

    database_url: str = DEFAULT_DATABASE_URL
    slack_signing_secret: str | None = None
    public_url: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    twilio_api_url: str = "https://api.twilio.com"
    behind_proxy: int = 0  # how many proxy hops of X-Forwarded-* to trust (SPEC §12)
    secret_key: str | None = None
    slack_commands: tuple[tuple[str, str], ...] = (
        ("status", "/status"),
        ("log", "/log"),
        ("leads", "/leads"),
    )
    allow_private_urls: bool = False
    metrics_token: str | None = None
    read_database_url: str | None = None  # a read replica for pages, reports and lists (SPEC §8)
    retention_days: int | None = None  # the worker prunes messages older than this, daily (SPEC §8)
    # How long a held inbound message may wait to be folded into statuses; 0 folds each in its request.
    # The folds: a thread of each hub process on PostgreSQL, one process beside the web processes on a
    # SQLite file (plugin/app/fold_process.py).
    fold_delay_ms: int = DEFAULT_FOLD_DELAY_MS
    log_level: str = "INFO"  # STATUSHUB_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR (plugin/app/logs.py)
    # STATUSHUB_PREPARED_STATEMENTS=on: PostgreSQL keeps the hot statements prepared per connection.
    # Off by default: PgBouncer before 1.21 (or without max_prepared_statements) would mix them up.
    prepared_statements: bool = False

    @classmethod
    def from_env(cls, env: os._Environ | dict | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("STATUSHUB_DATABASE_URL") or DEFAULT_DATABASE_URL,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            public_url=(env.get("STATUSHUB_PUBLIC_URL") or "").rstrip("/") or None,
            slack_api_url=env.get("SLACK_API_URL") or "https://slack.com/api/",
            twilio_api_url=(env.get("TWILIO_API_URL") or "https://api.twilio.com").rstrip("/"),
            behind_proxy=_hops(env.get("STATUSHUB_BEHIND_PROXY")),
            secret_key=env.get("STATUSHUB_SECRET_KEY") or None,
            # STATUSHUB_SLACK_STATUS_COMMAND etc. rename the slash commands
            slack_commands=tuple(
                (key, env.get(f"STATUSHUB_SLACK_{key.upper()}_COMMAND") or default)
                for key, default in cls.slack_commands
            ),
            allow_private_urls=_flag(env.get("STATUSHUB_ALLOW_PRIVATE_URLS")),
            metrics_token=env.get("STATUSHUB_METRICS_TOKEN") or None,
            read_database_url=env.get("STATUSHUB_READ_DATABASE_URL") or None,
            retention_days=_days(env.get("STATUSHUB_RETENTION_DAYS")),
            fold_delay_ms=_fold_delay(env.get("STATUSHUB_FOLD_DELAY_MS")),
            log_level=_log_level(env.get("STATUSHUB_LOG_LEVEL")),
            prepared_statements=_on_off(
                "STATUSHUB_PREPARED_STATEMENTS", env.get("STATUSHUB_PREPARED_STATEMENTS")
            ),
        )

    def engine(self, url: str | None = None) -> Engine:
        """An engine for the database (or `url`, the read replica's) with these settings."""
        return make_engine(url or self.database_url, prepared=self.prepared_statements)


def delivery_reports(settings: Settings) -> dict:
    """Whether sends ask Twilio for delivery reports, and where: what `serve`, the worker and /readyz say."""
    if settings.public_url:
        return {"delivery_reports": "on", "status_callback": f"{settings.public_url}/sms/twilio/status"}
    return {
        "delivery_reports": "off",
        "reason": "STATUSHUB_PUBLIC_URL is not set: sent messages stay queued",
    }


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _on_off(name: str, value: str | None) -> bool:
    """`on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`), in any case; empty: off."""
    text = (value or "").strip().lower()
    if text in ("", "off", "false", "no", "0"):
        return False
    if text in ("on", "true", "yes", "1"):
        return True
    raise ValueError(f"{name} must be on or off, not {value!r}")


def _hops(value: str | None) -> int:
    """STATUSHUB_BEHIND_PROXY: N ≥ 0 proxy hops; `1`/`true`/`yes` mean one, empty/`false`/`no` none."""
    text = (value or "").strip().lower()
    if text in ("", "false", "no"):
        return 0
    if text in ("true", "yes"):
        return 1
    if not text.isdigit() or len(text) > 3:
        raise ValueError(
            f"STATUSHUB_BEHIND_PROXY must be a number of proxy hops (0, 1, 2, ...), not {value!r}"
        )
    return int(text)


def _days(value: str | None) -> int | None:
    """STATUSHUB_RETENTION_DAYS: whole days from 1 to 3,650 (SPEC §12's durations); empty: keep all."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text[:5]) <= 3650 or len(text) > 4:
        raise ValueError(f"STATUSHUB_RETENTION_DAYS must be a number of days from 1 to 3650, not {value!r}")
    return int(text)


def _fold_delay(value: str | None) -> int:
    """STATUSHUB_FOLD_DELAY_MS: milliseconds from 0 to 10,000; empty: the default."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_FOLD_DELAY_MS
    if not text.isdigit() or len(text) > 5 or int(text) > 10_000:
        raise ValueError(f"STATUSHUB_FOLD_DELAY_MS must be milliseconds from 0 to 10000, not {value!r}")
    return int(text)


def _log_level(value: str | None) -> str:
    """STATUSHUB_LOG_LEVEL: DEBUG, INFO (the default), WARNING or ERROR, in any case."""
    text = (value or "").strip().upper() or "INFO"
    if text not in LEVELS:
        raise ValueError(f"STATUSHUB_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {value!r}")
    return text
