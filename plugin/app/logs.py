"""The hub's log: one JSON object per line on standard error, every record with its fields.

Records carry their facts as `extra` fields (`workspace_id`, `reason`, `held_id`...). Without a handler
the `statushub` records went nowhere below WARNING, and a warning reached stderr as its bare message,
its fields dropped: an operator could not tell why a webhook was refused. `configure` gives the
`statushub` logger a JSON-lines handler unless the application running the hub has configured logging
itself (the root logger has handlers: a test runner, an embedding app), whose handlers then receive
the records as before. A field whose name says it holds a secret is never written, whatever its value.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import cache

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Attributes every LogRecord has: what remains on a record beyond these came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("secret", "token", "password", "authorization", "signature", "cookie", "api_key")


_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


@cache
def _secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


class JsonLines(logging.Formatter):
    """A record as one line of JSON: time, level, logger, message, then its `extra` fields. Every
    webhook writes one: the fields are found by a set difference and the encoder is built once."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        for key in fields.keys() - _STANDARD:
            if not key.startswith("_"):
                line[key] = "[redacted]" if _secret(key) else fields[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODE(line)


def configure(level: str = "INFO") -> None:
    """Sets the `statushub` loggers' level and, once per process, their JSON-lines handler on stderr
    (not when the root logger has handlers: the records go to those)."""
    logger = logging.getLogger("statushub")
    logger.setLevel(level)
    if logging.getLogger().handlers or any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    # The line names no source file or thread: a record need not look them up (the logging HOWTO's
    # "Optimization"; ~30 % of a webhook's log line, bench/FIGURES.md). Only where the hub owns the
    # process's logging (an embedding application's handlers may want them); the process id stays,
    # gunicorn's own log lines print it.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
