"""The hub's log: one JSON object per line on standard error, each record with its fields, never a
secret; STATUSHUB_LOG_LEVEL chooses how much (SPEC §12: logs never contain secrets or tokens)."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager

import pytest
import requests

from plugin.app.logs import JsonLines, configure
from plugin.app.settings import Settings
from tests.reliability.conftest import (
    TWILIO_TOKEN,
    WEBCHAT_SECRET,
    make_workspace,
    sms_form,
    twilio_headers,
    webchat_event,
    webchat_request,
)


def record(message: str, level: int = logging.INFO, exc_info=None, **extra) -> logging.LogRecord:
    return logging.getLogger("statushub.test").makeRecord(
        "statushub.test", level, __file__, 1, message, (), exc_info, extra=extra
    )


def test_a_record_is_one_json_line_with_its_fields():
    line = JsonLines().format(
        record("twilio webhook refused", logging.WARNING, reason="bad signature", path="/x")
    )
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "warning" and parsed["logger"] == "statushub.test"
    assert parsed["message"] == "twilio webhook refused"
    assert (parsed["reason"], parsed["path"]) == ("bad signature", "/x")
    assert parsed["at"].endswith("+00:00")


def test_a_field_named_for_a_secret_is_never_written():
    line = JsonLines().format(
        record(
            "x", auth_token="tok-123", webchat_secret="s-456", password="p", signature="sig", workspace_id=3
        )
    )
    assert not any(value in line for value in ("tok-123", "s-456", '"p"', '"sig"'))
    assert json.loads(line)["workspace_id"] == 3


def test_an_exception_is_kept_in_the_line():
    try:
        raise RuntimeError("database gone")
    except RuntimeError:
        line = JsonLines().format(record("a held batch failed", logging.WARNING, exc_info=sys.exc_info()))
    assert "RuntimeError: database gone" in json.loads(line)["exception"]


@contextmanager
def bare_logging():
    """The logging of a process nobody configured (gunicorn's workers): no root handlers (pytest's own
    are put back after)."""
    root, ours = logging.getLogger(), logging.getLogger("statushub")
    saved = (root.handlers[:], ours.handlers[:], ours.level)
    switches = {name: getattr(logging, name) for name in ("_srcfile", "logThreads", "logMultiprocessing")}
    root.handlers[:] = []
    ours.handlers[:] = []
    try:
        yield ours
    finally:
        root.handlers[:], ours.handlers[:] = saved[0], saved[1]
        ours.setLevel(saved[2])
        for name, value in switches.items():
            setattr(logging, name, value)


def test_a_configured_process_still_gives_gunicorn_its_process_id_and_every_field(capsys):
    with bare_logging() as ours:
        configure("INFO")
        ours.info("sms inbound held", extra={"workspace_id": 7, "duplicate": False})
        made = ours.makeRecord("statushub", logging.INFO, "x.py", 1, "m", (), None)
    # gunicorn's own lines print "[%(process)d]": skipping the caller's file and thread leaves that.
    assert logging.Formatter("[%(process)d]").format(made) == f"[{os.getpid()}]"
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["message"], line["workspace_id"], line["duplicate"]) == ("sms inbound held", 7, False)


def test_configure_adds_one_handler_once_and_none_when_the_application_configured_logging():
    with bare_logging() as ours:
        configure("WARNING")
        configure("INFO")
        assert [type(h.formatter) for h in ours.handlers] == [JsonLines]
        assert ours.level == logging.INFO
    with bare_logging() as ours:
        logging.getLogger().addHandler(logging.NullHandler())
        configure("INFO")
        assert ours.handlers == []


@pytest.mark.parametrize("value", ["verbose", "5", "INFO;rm"])
def test_a_bad_log_level_is_refused_naming_the_setting(value):
    with pytest.raises(ValueError, match="STATUSHUB_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env({"STATUSHUB_LOG_LEVEL": value})
    assert Settings.from_env({"STATUSHUB_LOG_LEVEL": "warning"}).log_level == "WARNING"
    assert Settings.from_env({}).log_level == "INFO"


def lines(path) -> list[dict]:
    found = []
    for text in path.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            found.append(json.loads(text))
    return found


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_a_running_hub_logs_json_lines_that_say_why_and_hold_no_secret(db_url, gunicorn, level):
    if not db_url.startswith("postgresql"):
        pytest.skip("one real server is enough; it runs on PostgreSQL")
    make_workspace(db_url)
    hub = gunicorn(db_url, env={"STATUSHUB_LOG_LEVEL": level, "STATUSHUB_FOLD_DELAY_MS": "0"})
    form = sms_form("SMlog1", "+15557770001", "how much is it?")
    assert requests.post(hub.base + "/sms/twilio/inbound", data=form, headers=twilio_headers(form)).ok
    forged = {**twilio_headers(form), "X-Twilio-Signature": "forged"}
    assert requests.post(hub.base + "/sms/twilio/inbound", data=form, headers=forged).status_code == 401
    raw, headers = webchat_request(webchat_event("ev-log", "v-1", "hello", "2026-05-04T09:00:00Z"))
    assert requests.post(hub.base + "/webchat/events", data=raw, headers=headers).ok
    hub.stop()
    logged = lines(hub.log_path)
    refused = [r for r in logged if r["message"] == "twilio webhook refused"]
    assert refused and refused[0]["reason"] == "bad signature" and refused[0]["level"] == "warning"
    received = [r for r in logged if r["message"] in ("sms inbound", "web chat event")]
    assert len(received) == (2 if level == "INFO" else 0)
    assert all(isinstance(r["workspace_id"], int) for r in received)
    text = hub.log_path.read_text(errors="replace")
    assert TWILIO_TOKEN not in text and WEBCHAT_SECRET not in text
