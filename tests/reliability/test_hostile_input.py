"""Hostile input: fuzzed webhook parsers fail only with the domain's error; malformed, oversized, wrongly
encoded and deeply nested bodies answer 4xx and store nothing; injected text is stored verbatim and
rendered escaped; replayed signatures are refused (SPEC §5)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from adapters.slack import grammar
from adapters.slack.blocks import customer_card
from adapters.sms.parse import e164, parse_inbound, parse_status
from adapters.webchat.schema import load_event
from plugin.app import create_app
from plugin.automation.time_rules import parse_duration
from plugin.customers.cards import card
from plugin.customers.reports import spreadsheet_safe
from plugin.domain.clock import utcnow
from plugin.domain.durations import MAX_MINUTES
from plugin.domain.errors import StatushubError, UnknownCustomer
from plugin.domain.signatures import header, is_fresh, parse_header
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, Message
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token

SECRET = "webchat-secret"  # the `workspace` fixture's
SLACK_SECRET = "slack-signing-secret-hostile"
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HOSTILE = (
    "'; DROP TABLE customers;--",
    "<!channel> <script>alert(1)</script>",
    "Robert'); DELETE FROM messages; --",
    '<@U0ADMIN> & <https://evil.test|click> "quoted"',
)

text = st.text(max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
TWILIO_KEYS = (
    "MessageSid",
    "SmsSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaUrl1",
    "OptOutType",
    "ProfileName",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
)


@pytest.fixture
def app(db_url, workspace):
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SECRET_KEY": "k" * 32,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(engine, workspace):
    with transaction(engine) as conn:
        return {"Authorization": "Bearer " + create_token(conn, workspace, "admin", "ops", utcnow())[1]}


def stored(engine) -> tuple[int, int]:
    with reading(engine) as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (Message, Customer)
        )


def signed_post(client, raw: bytes, t: int | None = None):
    t = int(time.time()) if t is None else t
    return client.post(
        "/webchat/events",
        data=raw,
        headers={"X-Statushub-Signature": header(SECRET, t, raw), "Content-Type": "application/json"},
    )


# --- parsers ----------------------------------------------------------------------------------------


@given(form=st.dictionaries(st.sampled_from(TWILIO_KEYS), text))
@settings(max_examples=300, deadline=None)
def test_twilio_forms_parse_or_fail_with_a_domain_error(form):
    for parse in (lambda f: parse_inbound(f, 1, NOW), parse_status):
        with contextlib.suppress(StatushubError):
            parse(form)
    e164(form.get("From"))


@given(
    document=st.dictionaries(
        st.sampled_from(
            ("workspace", "event_id", "visitor", "direction", "sender", "text", "timestamp", "x")
        ),
        json_values | st.fixed_dictionaries({"id": json_values, "name": json_values}),
    )
)
@settings(max_examples=300, deadline=None)
def test_web_chat_events_load_or_fail_with_a_domain_error(document):
    try:
        load_event(document)
    except StatushubError as exc:
        assert exc.field


@given(value=text | st.from_regex(r"\At=[0-9\u0660-\u0669]{0,5000},v1=[0-9a-f]{0,64}\Z"))
def test_web_chat_signature_headers_parse_or_are_refused_never_raise(value):
    parsed = parse_header(value)
    if parsed is not None:
        is_fresh(parsed, time.time())


@given(value=text | st.from_regex(r"\A[0-9\u0660-\u0669]{1,5000}[mhd]\Z"))
@settings(max_examples=300, deadline=None)
def test_durations_parse_or_fail_with_a_domain_error(value):
    try:
        minutes = parse_duration(value)
    except StatushubError as exc:
        assert exc.field == "after"
    else:
        assert 1 <= minutes <= MAX_MINUTES


@given(command=text)
@FUZZ
def test_slack_command_text_parses_or_fails_with_a_domain_error(catalog, command):
    def find(_ref: str) -> int:
        raise UnknownCustomer("no such customer")

    for parse in (
        lambda t: grammar.parse_status(t, catalog, find),
        lambda t: grammar.parse_log(t, catalog, find),
        lambda t: grammar.parse_leads(t, catalog),
    ):
        with contextlib.suppress(StatushubError):
            parse(command)


# --- bodies -----------------------------------------------------------------------------------------

EVENT = {
    "workspace": "acme",
    "event_id": "e1",
    "visitor": {"id": "v1"},
    "direction": "inbound",
    "sender": "customer",
    "text": "café",
    "timestamp": "2026-05-04T09:00:00Z",
}
GOOD = json.dumps(EVENT, ensure_ascii=False)
BAD_BODIES = {
    "truncated": GOOD[:-7].encode(),
    "latin-1": GOOD.encode("latin-1"),
    "invalid utf-8": GOOD.encode().replace("é".encode(), b"\xff\xfe"),
    "utf-16": GOOD.encode("utf-16"),
    "array": b"[1, 2, 3]",
    "empty": b"",
}
DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_malformed_web_chat_bodies_answer_400_and_store_nothing(client, engine, kind):
    answer = signed_post(client, BAD_BODIES[kind])
    assert answer.status_code == 400
    assert answer.get_json()["error"]["details"]["field"] == "body"
    assert stored(engine) == (0, 0)


def test_oversized_bodies_answer_413_and_store_nothing(client, engine, admin):
    big = json.dumps({**EVENT, "text": "x" * (1024 * 1024)}).encode()
    assert signed_post(client, big).status_code == 413
    assert (
        client.post("/api/v1/customers", data=big, headers=admin, content_type="application/json").status_code
        == 413
    )
    assert stored(engine) == (0, 0)


def test_deeply_nested_web_chat_body_answers_400(client, engine):
    assert signed_post(client, DEEP).status_code == 400
    assert stored(engine) == (0, 0)


def test_deeply_nested_api_body_answers_400(client, engine, admin):
    answer = client.post("/api/v1/customers", data=DEEP, headers=admin, content_type="application/json")
    assert answer.status_code == 400
    assert stored(engine) == (0, 0)


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_malformed_api_bodies_answer_400_and_store_nothing(client, engine, admin, kind):
    answer = client.post(
        "/api/v1/customers", data=BAD_BODIES[kind], headers=admin, content_type="application/json"
    )
    assert answer.status_code == 400
    assert stored(engine) == (0, 0)


def test_idempotency_keys_are_never_echoed_into_response_headers(client, admin):
    key = "k1%0d%0aSet-Cookie: pwned=1\u2028X-Evil: 1"
    answer = client.post("/api/v1/customers", json={"name": "Ann"}, headers={**admin, "Idempotency-Key": key})
    again = client.post("/api/v1/customers", json={"name": "Ann"}, headers={**admin, "Idempotency-Key": key})
    assert answer.status_code == 201 and again.status_code == 201
    assert again.headers["Idempotent-Replay"] == "true"
    for response in (answer, again):
        assert "Set-Cookie" not in response.headers and "X-Evil" not in response.headers
        assert all("pwned" not in v for _, v in response.headers.items())


def test_raw_newlines_in_header_values_cannot_reach_the_hub(client, admin):
    with pytest.raises(ValueError):
        client.post(
            "/api/v1/customers", json={"name": "Ann"}, headers={**admin, "Idempotency-Key": "a\r\nX-Evil: 1"}
        )


# --- injection --------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_injected_names_and_messages_are_stored_verbatim_and_rendered_escaped(
    app, client, engine, admin, hostile
):
    raw = json.dumps(
        {**EVENT, "event_id": "inj", "visitor": {"id": "v-inj", "name": hostile}, "text": hostile}
    ).encode()
    answer = signed_post(client, raw)
    assert answer.status_code == 200
    customer_id = answer.get_json()["customer"]["id"]
    assert client.get(f"/api/v1/customers/{customer_id}", headers=admin).get_json()["name"] == hostile
    with reading(engine) as conn:
        assert conn.execute(select(Message.text)).scalar_one() == hostile
        catalog = load_catalog(conn, 1)
        blocks = json.dumps(
            customer_card(card(conn, catalog, customer_id), catalog, utcnow()), ensure_ascii=False
        )
    for danger in ("<!channel>", "<script>", "<@U0ADMIN>", "<https://evil"):
        assert danger not in blocks
    page = _console(app, client, engine, f"/console/customers/{customer_id}")
    assert "<script>alert" not in page and ("&lt;" in page or "<" not in hostile)
    assert stored(engine) == (1, 1)


def _console(app, client, engine, path: str) -> str:
    import re

    with transaction(engine) as conn:
        token = create_token(conn, 1, "agent", "reader", utcnow())[1]
    form = client.get("/console/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/console/signin", data={"token": token, "csrf": csrf})
    page = client.get(path)
    assert page.status_code == 200
    return page.get_data(as_text=True)


FORMULA_NAMES = (
    '=HYPERLINK("http://evil.test")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "Di\t=1+1",
    "Ann;=HYPERLINK(1)",
    "Bob,@SUM(A1)",
    "Cy;-2+3,+4",
)


def _cells(csv_text: str, separator: str) -> list[str]:
    """What a spreadsheet splitting on `separator` may see as cells: parsed as CSV, and split naively."""
    parsed = [c for row in csv.reader(io.StringIO(csv_text), delimiter=separator) for c in row]
    naive = [c.strip('"') for line in csv_text.splitlines() for c in line.split(separator)]
    return parsed + naive


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_no_part_of_a_guarded_cell_starts_a_formula_whatever_the_separator(value):
    guarded = spreadsheet_safe(value)
    assert guarded.replace("'", "") == value.replace("'", "")  # only quotes are added
    for separator in (",", ";", "\t"):
        assert not [p for p in guarded.split(separator) if p[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_csv_exports_guard_formulas_in_names(client, admin):
    for name in FORMULA_NAMES:
        assert client.post("/api/v1/customers", json={"name": name}, headers=admin).status_code == 201
    csv_text = client.get("/api/v1/reports/customers.csv", headers=admin).get_data(as_text=True)
    for guarded in (
        "'=HYPERLINK",
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
        "Ann;'=HYPERLINK",
        "Bob,'@SUM",
        "Cy;'-2+3,'+4",
    ):
        assert guarded in csv_text
    for separator in (",", ";", "\t"):
        assert not [c for c in _cells(csv_text, separator) if c[:1] in ("=", "+", "-", "@", "\t")]
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert all(line.startswith('"') and line.endswith('"') for line in csv_text.splitlines())
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(1, len(FORMULA_NAMES) + 1)]  # ids stay numbers


# --- replay -----------------------------------------------------------------------------------------


def test_a_web_chat_event_signed_more_than_300_s_ago_is_refused(client, engine):
    answer = signed_post(client, GOOD.encode(), t=int(time.time()) - 301)
    assert answer.status_code == 401
    assert stored(engine) == (0, 0)


def test_a_slack_request_signed_more_than_300_s_ago_is_refused(client, engine):
    body = "command=%2Fstatus&text=help&team_id=T0ACME&user_id=U0AGENT&channel_id=C1"
    ts = str(int(time.time()) - 301)
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=body)
    answer = client.post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )
    assert answer.status_code == 401
    assert stored(engine) == (0, 0)


# --- Slack bodies that reach Bolt's dispatch ---------------------------------------------------------

slack_types = st.sampled_from(
    ["event_callback", "block_actions", "view_submission", "view_closed", "url_verification",
     "interactive_message", "workflow_step_edit", "shortcut", "message_action"]
)  # fmt: skip
slack_keys = st.sampled_from(
    ["type", "team_id", "user_id", "command", "text", "event", "team", "user", "channel", "actions",
     "view", "authorizations", "enterprise", "event_id", "response_url", "workflow_step", "challenge"]
)  # fmt: skip
slack_events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_home_opened", "team_join"]) | json_values},
    optional={
        "user": st.just("U0AGENT") | json_values,
        "channel": st.just("C1") | json_values,
        "ts": st.just("1800000000.000100") | json_values,
        "text": text | json_values,
        "tab": st.just("home") | json_values,
        "files": json_values,
        "subtype": json_values,
    },
)
slack_documents = st.fixed_dictionaries(
    {"type": slack_types | json_values, "team_id": st.just("T0ACME") | json_values},
    optional={
        "event": slack_events | json_values,
        "team": st.just({"id": "T0ACME"}) | json_values,
        "user": st.just({"id": "U0AGENT"}) | json_values,
        "actions": st.lists(
            st.fixed_dictionaries(
                {"action_id": st.sampled_from(["set_stage", "set_attention"]) | json_values},
                optional={"value": json_values, "selected_option": json_values},
            ),
            max_size=2,
        )
        | json_values,
        "view": st.fixed_dictionaries(
            {"type": st.just("modal") | json_values, "callback_id": st.just("attention_note") | json_values},
            optional={"private_metadata": text | json_values, "state": json_values},
        )
        | json_values,
    },
).flatmap(lambda d: st.dictionaries(slack_keys, json_values, max_size=3).map(lambda extra: {**extra, **d}))
slack_commands = st.dictionaries(
    st.sampled_from(["command", "text", "team_id", "user_id", "channel_id", "payload", "response_url"]),
    st.sampled_from(["/status", "/log", "/leads", "T0ACME", "U0AGENT", "help"]) | text,
    max_size=6,
)


@st.composite
def slack_bodies(draw) -> tuple[str, str]:
    from urllib.parse import urlencode

    how = draw(st.sampled_from(["json", "payload", "form", "raw"]))
    if how == "json":
        return json.dumps(draw(slack_documents | json_values)), "application/json"
    if how == "payload":
        payload = draw(st.builds(json.dumps, slack_documents | json_values) | text)
        return urlencode({"payload": payload}), "application/x-www-form-urlencoded"
    if how == "form":
        return urlencode(draw(slack_commands)), draw(
            st.sampled_from(["application/x-www-form-urlencoded", "application/json"])
        )
    return draw(text), draw(
        st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"])
    )


@given(body=slack_bodies())
@example(body=('{"type": "url_verification", "team_id": "T0ACME", "event": null}', "application/json"))
@FUZZ
def test_signed_slack_bodies_never_answer_5xx(client, body):
    """Whatever a signed body holds, Bolt is never handed what it cannot read: 2xx, 400 or 404, never 5xx."""
    raw, content_type = body
    ts = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=raw)
    answer = client.post(
        "/slack/events",
        data=raw.encode(),
        content_type=content_type,
        headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )
    assert answer.status_code < 500, (raw, content_type, answer.get_data(as_text=True))


header_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80)


@given(
    timestamp=header_text | st.from_regex(r"\A[0-9\u0660-\u0669 _+-]{0,5000}\Z", fullmatch=True),
    signature=header_text,
)
@FUZZ
def test_slack_signature_headers_answer_401_never_5xx(client, timestamp, signature):
    answer = client.post(
        "/slack/events",
        data="command=%2Fstatus",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature},
    )
    assert answer.status_code == 401
