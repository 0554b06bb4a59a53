"""The console over the Flask test client, on both backends: sign-in, roles, CSRF, every page and form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from plugin.domain.clock import utcnow
from plugin.store.db import reading, transaction
from plugin.store.schema import StatusChange
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import revoke_token
from tests.console.conftest import csrf_of, sign_in

XSS = "<img src=x onerror=alert(1)>"
TABLES = (
    "customers",
    "customer_statuses",
    "status_changes",
    "status_commands",
    "statuses",
    "activities",
    "intent_assignments",
    "workspaces",
    "outbox",
)


def snapshot(engine) -> dict:
    """Every row of the tables the console could touch, to prove a request changed nothing."""
    with reading(engine) as conn:
        return {t: sorted(map(repr, conn.execute(text(f"SELECT * FROM {t}")).all())) for t in TABLES}


def stage_of(engine, workspace, customer_id) -> str:
    from plugin.app.console.views_customer import current_statuses

    with reading(engine) as conn:
        return current_statuses(conn, load_catalog(conn, workspace), customer_id)["stage"].key


def test_pages_need_a_sign_in(app):
    client = app.test_client()
    for path in ("/console/", "/console/statuses", "/console/reports", "/console/customers/1"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert "/console/signin" in answer.headers["Location"]


def test_sign_in_sets_a_hardened_session_cookie_and_sign_out_ends_it(app, tokens):
    client = app.test_client()
    answer = sign_in(client, tokens["agent"])
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert tokens["agent"] not in cookie
    assert "alice" in client.get("/console/").get_data(as_text=True)
    client.post("/console/signout", data={"csrf": csrf_of(client)})
    assert client.get("/console/").status_code == 302


def test_session_cookie_is_secure_over_https(app, tokens):
    client = app.test_client()
    page = client.get("/console/signin", base_url="https://hub.example")
    import re

    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = client.post(
        "/console/signin", data={"token": tokens["agent"], "csrf": csrf}, base_url="https://hub.example"
    )
    assert "Secure" in answer.headers["Set-Cookie"]


def test_unknown_token_is_refused_with_a_message(app, tokens):
    client = app.test_client()
    answer = sign_in(client, "shub_not-a-token")
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_revoking_the_token_signs_the_console_out(agent, engine, workspace):
    with transaction(engine) as conn:
        revoke_token(conn, workspace, "alice", __import__("plugin.domain.clock").domain.clock.utcnow())
    assert agent.get("/console/").status_code == 302


def test_form_without_csrf_is_refused_and_changes_nothing(agent, engine, workspace, customers):
    before = snapshot(engine)
    answer = agent.post(f"/console/customers/{customers['dana']}/status", data={"status": "hot_lead"})
    assert answer.status_code == 400
    assert "reload the page" in answer.get_data(as_text=True)
    forged = agent.post(
        "/console/board/move", data={"customer": customers["dana"], "status": "hot_lead", "csrf": "forged"}
    )
    assert forged.status_code == 400
    assert snapshot(engine) == before


def test_sign_in_without_csrf_is_refused(app, tokens):
    assert app.test_client().post("/console/signin", data={"token": tokens["agent"]}).status_code == 400


@pytest.mark.parametrize("path", ["/console/statuses", "/console/intents"])
def test_agents_get_a_friendly_403_on_admin_pages(agent, path):
    answer = agent.get(path)
    assert answer.status_code == 403
    assert "only admins" in answer.get_data(as_text=True)
    assert answer.mimetype == "text/html"


def test_agent_cannot_post_admin_forms(agent, engine, customers):
    before = snapshot(engine)
    csrf = csrf_of(agent)
    assert agent.post("/console/statuses/stage/hot_lead/delete", data={"csrf": csrf}).status_code == 403
    assert (
        agent.post("/console/intents/ask_price/assign", data={"csrf": csrf, "status": "cold"}).status_code
        == 403
    )
    assert snapshot(engine) == before


def test_names_and_messages_render_as_text(agent, customers):
    for path in ("/console/", f"/console/customers/{customers['xss']}", "/console/?status=stage:greeting"):
        page = agent.get(path).get_data(as_text=True)
        assert XSS not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_board_counts_each_status_and_filters(agent, engine, workspace, customers):
    page = agent.get("/console/").get_data(as_text=True)
    assert 'data-status="stage:greeting"' in page
    csrf = csrf_of(agent)
    agent.post("/console/board/move", data={"customer": customers["eli"], "status": "hot_lead", "csrf": csrf})
    hot = agent.get("/console/?status=stage:hot_lead").get_data(as_text=True)
    queue = hot.split('id="queue-title"')[1].split("</ol>")[0]
    assert "Eli" in queue and "Dana" not in queue


def test_priority_queue_puts_higher_stage_first(agent, customers):
    agent.post(
        "/console/board/move",
        data={"customer": customers["eli"], "status": "hot_lead", "csrf": csrf_of(agent)},
    )
    queue = agent.get("/console/").get_data(as_text=True).split('id="queue-title"')[1].split("</ol>")[0]
    assert queue.index("Eli") < queue.index("Dana")


def test_unknown_filter_is_a_friendly_error(agent):
    answer = agent.get("/console/?status=lukewarm")
    assert answer.status_code == 400
    assert "no status called" in answer.get_data(as_text=True)


def test_moving_a_card_is_a_manual_change_by_the_token(agent, engine, workspace, customers):
    answer = agent.post(
        "/console/board/move",
        data={"customer": customers["dana"], "status": "hot_lead", "csrf": csrf_of(agent)},
    )
    assert answer.status_code == 302
    assert stage_of(engine, workspace, customers["dana"]) == "hot_lead"
    with reading(engine) as conn:
        entry = conn.execute(select(StatusChange).order_by(StatusChange.id.desc())).first()
    assert (entry.source, entry.actor, entry.to_status) == ("manual", "console:alice", "hot_lead")


def test_moving_to_an_unknown_column_stores_nothing(agent, engine, customers):
    before = snapshot(engine)
    answer = agent.post(
        "/console/board/move", data={"customer": customers["dana"], "status": "warm", "csrf": csrf_of(agent)}
    )
    assert answer.status_code == 400
    assert snapshot(engine) == before


def test_customer_page_shows_badges_identities_history_and_why(agent, customers):
    agent.post(
        f"/console/customers/{customers['dana']}/status",
        data={"status": "hot", "note": "asked for a quote", "csrf": csrf_of(agent)},
    )
    page = agent.get(f"/console/customers/{customers['dana']}").get_data(as_text=True)
    assert "🔥 Hot Lead" in page and "sms:+15551230001" in page
    assert "console:alice" in page and "asked for a quote" in page
    assert "Why these statuses" in page


def test_attention_change_needs_a_note(agent, engine, customers):
    before = snapshot(engine)
    answer = agent.post(
        f"/console/customers/{customers['dana']}/status",
        data={"status": "attention:vip", "csrf": csrf_of(agent)},
    )
    assert answer.status_code == 400
    assert "needs a note" in answer.get_data(as_text=True)
    assert snapshot(engine) == before
    ok = agent.post(
        f"/console/customers/{customers['dana']}/status",
        data={"status": "attention:vip", "note": "big spender", "csrf": csrf_of(agent)},
    )
    assert ok.status_code == 302


def test_reply_track_cannot_be_set_by_hand(agent, engine, customers):
    before = snapshot(engine)
    answer = agent.post(
        f"/console/customers/{customers['dana']}/status",
        data={"status": "reply:in_progress", "csrf": csrf_of(agent)},
    )
    assert answer.status_code == 403
    assert "set by the system only" in answer.get_data(as_text=True)
    assert snapshot(engine) == before


def test_logging_an_outcome_sets_outcome_and_stage(agent, engine, workspace, customers):
    answer = agent.post(
        f"/console/customers/{customers['dana']}/activity",
        data={"outcome": "sold", "interaction": "in_store", "note": "paid", "csrf": csrf_of(agent)},
    )
    assert answer.status_code == 302
    assert stage_of(engine, workspace, customers["dana"]) == "closed_won"
    with reading(engine) as conn:
        assert conn.execute(text("SELECT interaction, actor FROM activities")).one() == (
            "in_store",
            "console:alice",
        )


def test_logging_a_bad_outcome_stores_nothing(agent, engine, customers):
    before = snapshot(engine)
    for data in (
        {"outcome": "hot_lead", "interaction": "call"},
        {"outcome": "sold", "interaction": "pigeon"},
    ):
        answer = agent.post(
            f"/console/customers/{customers['dana']}/activity", data={**data, "csrf": csrf_of(agent)}
        )
        assert answer.status_code in (400, 404)
    assert snapshot(engine) == before


def test_unknown_customer_is_404(agent):
    assert agent.get("/console/customers/999999").status_code == 404


def test_admin_adds_edits_reorders_deletes_and_restores(admin, engine, workspace, customers):
    csrf = csrf_of(admin)
    assert (
        admin.post(
            "/console/statuses/stage/add",
            data={
                "csrf": csrf,
                "key": "warm_lead",
                "label": "Lauwarm",
                "emoji": "🌤",
                "color": "#ffaa00",
                "automation": "upgrade_only",
                "flags": "1",
                "alert": "on",
            },
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/console/statuses/stage/warm_lead/edit",
            data={
                "csrf": csrf,
                "label": "Tiède",
                "emoji": "🌤",
                "color": "#ffaa00",
                "automation": "manual_only",
                "description": "",
                "flags": "1",
            },
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/console/statuses/stage/reorder", data={"csrf": csrf, "key": "warm_lead", "move": "up"}
        ).status_code
        == 302
    )
    with reading(engine) as conn:
        stage = load_catalog(conn, workspace).tracks["stage"]
    warm = stage.status("warm_lead")
    assert (warm.label, warm.automation, warm.alert) == ("Tiède", "manual_only", False)
    assert [s.key for s in stage.statuses][-2:] == ["warm_lead", "passed"]

    admin.post(
        "/console/board/move", data={"customer": customers["dana"], "status": "cold_lead", "csrf": csrf}
    )
    deleted = admin.post("/console/statuses/stage/cold_lead/delete", data={"csrf": csrf})
    page = admin.get(deleted.headers["Location"]).get_data(as_text=True)
    assert "archived, 1 customers still on it" in page
    assert admin.post("/console/statuses/stage/cold_lead/restore", data={"csrf": csrf}).status_code == 302
    with reading(engine) as conn:
        assert not load_catalog(conn, workspace).status("stage", "cold_lead").archived


def test_drag_order_is_saved_whole(admin, engine, workspace):
    order = "greeting,hot_lead,cold_lead,closed_won,passed"
    assert (
        admin.post(
            "/console/statuses/stage/reorder", data={"csrf": csrf_of(admin), "order": order}
        ).status_code
        == 302
    )
    with reading(engine) as conn:
        assert [s.key for s in load_catalog(conn, workspace).tracks["stage"].statuses] == order.split(",")


@pytest.mark.parametrize(
    "data",
    [
        {"key": "Bad Key"},
        {"key": "ok", "color": "red"},
        {"key": "ok", "automation": "sometimes"},
        {"key": "greeting"},
        {"key": "ok", "label": "x" * 65},
    ],
)
def test_bad_new_status_is_refused_and_nothing_stored(admin, engine, data):
    before = snapshot(engine)
    answer = admin.post("/console/statuses/stage/add", data={**data, "csrf": csrf_of(admin)})
    assert answer.status_code in (400, 409)
    assert snapshot(engine) == before


def test_bad_reorder_is_refused(admin, engine):
    before = snapshot(engine)
    csrf = csrf_of(admin)
    assert (
        admin.post(
            "/console/statuses/stage/reorder", data={"csrf": csrf, "order": "greeting,passed"}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/console/statuses/stage/reorder", data={"csrf": csrf, "key": "nope", "move": "up"}
        ).status_code
        == 400
    )
    assert snapshot(engine) == before


def test_statuses_page_shows_every_template(admin):
    page = admin.get("/console/statuses").get_data(as_text=True)
    for key in ("online-store", "service", "b2b", "field-service", "lead-response"):
        assert f"<code>{key}</code>" in page


def test_intents_page_changes_and_resets_an_assignment(admin, engine, workspace):
    page = admin.get("/console/intents").get_data(as_text=True)
    assert 'id="intent-ask_price"' in page
    csrf = csrf_of(admin)
    assert (
        admin.post(
            "/console/intents/ask_price/assign", data={"csrf": csrf, "status": "stage:hot_lead"}
        ).status_code
        == 302
    )
    with reading(engine) as conn:
        assert (
            conn.execute(text("SELECT status FROM intent_assignments WHERE intent = 'ask_price'")).scalar()
            == "hot_lead"
        )
    assert (
        admin.post("/console/intents/ask_price/assign", data={"csrf": csrf, "status": "-reset"}).status_code
        == 302
    )
    with reading(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM intent_assignments")).scalar() == 0


def test_assigning_an_unknown_intent_stores_nothing(admin, engine):
    before = snapshot(engine)
    answer = admin.post(
        "/console/intents/teleport/assign", data={"csrf": csrf_of(admin), "status": "stage:hot_lead"}
    )
    assert answer.status_code == 400
    assert snapshot(engine) == before


def test_try_a_message_shows_the_decision_and_changes_nothing(admin, engine, customers):
    csrf = csrf_of(admin)
    admin.post(
        "/console/board/move", data={"customer": customers["dana"], "status": "hot_lead", "csrf": csrf}
    )
    before = snapshot(engine)
    page = admin.get("/console/intents", query_string={"text": "how much is it?", "customer": "Dana"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "ask_price" in body.split('class="tried"')[1]
    assert "Blocked" in body and "upgrade only" in body
    fresh = admin.get("/console/intents", query_string={"text": "how much is it?", "customer": ""})
    assert "Applied" in fresh.get_data(as_text=True)
    assert snapshot(engine) == before


def test_reports_show_counts_transitions_and_charts(agent, customers):
    agent.post(
        "/console/board/move",
        data={"customer": customers["dana"], "status": "hot_lead", "csrf": csrf_of(agent)},
    )
    page = agent.get("/console/reports").get_data(as_text=True)
    assert page.count("<svg") >= 6 and "🔥 Hot Lead" in page
    counts = agent.get("/console/reports/counts.csv")
    assert counts.mimetype == "text/csv" and '"stage","greeting","Greeting","False","2"' in counts.get_data(
        as_text=True
    )
    moves = agent.get("/console/reports/transitions.csv").get_data(as_text=True)
    assert '"stage","greeting","hot_lead","1"' in moves
    assert "median_hours" in agent.get("/console/reports/time-in-status.csv").get_data(as_text=True)


def test_reports_refuse_bad_periods_and_kinds(agent):
    assert agent.get("/console/reports?from=yesterday").status_code == 400
    assert agent.get("/console/reports?from=2026-05-02&to=2026-05-01").status_code == 400
    assert agent.get("/console/reports/everything.csv").status_code == 400


def test_no_query_crosses_workspaces(app, engine, tokens, customers):
    from plugin.customers.naming import add_customer
    from plugin.domain.clock import utcnow
    from plugin.workspace.workspaces import create_token, create_workspace

    with transaction(engine) as conn:
        other = create_workspace(conn, "globex", now=utcnow())
        stranger = add_customer(conn, load_catalog(conn, other), "Stranger", [], "US", utcnow())
        _, token = create_token(conn, other, "agent", "bob", utcnow())
    client = app.test_client()
    sign_in(client, tokens["agent"])
    assert client.get(f"/console/customers/{stranger}").status_code == 404
    assert "Stranger" not in client.get("/console/").get_data(as_text=True)
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(StatusChange)).scalar() == 0
    del token


def test_wrong_intent_control_stores_a_correction_and_changes_no_status(agent, engine, workspace):
    from plugin.domain.events import MessageEvent
    from plugin.engine import receive
    from plugin.store.schema import IntentCorrection

    event = MessageEvent(
        workspace, "sms", "sms:+15550009999", "inbound", "customer", "how much?", "SMx1", utcnow()
    )
    with transaction(engine) as conn:
        [recorded] = receive(conn, workspace, [event])
    page = agent.get(f"/console/customers/{recorded.customer_id}").get_data(as_text=True)
    assert "Wrong intent?" in page and f'id="intent-{recorded.message_id}"' in page
    with engine.connect() as conn:
        audit = conn.execute(select(StatusChange)).all()
    path = f"/console/customers/{recorded.customer_id}/messages/{recorded.message_id}/intent"
    answer = agent.post(path, data={"intent": "negotiate_price", "csrf": csrf_of(agent)})
    assert answer.status_code == 302
    refused = agent.post(path, data={"intent": "ask_prize", "csrf": csrf_of(agent)})
    assert refused.status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(IntentCorrection.intent, IntentCorrection.actor)).all() == [
            ("negotiate_price", "console:alice")
        ]
        assert conn.execute(select(StatusChange)).all() == audit


def test_try_a_message_says_which_matcher_decided(admin):
    page = admin.get("/console/intents?text=how+do+I+pay%3F").get_data(as_text=True)
    assert "Decided by:" in page and "the rule packs" in page


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/console/?page=2e18", "page is"),
        ("/console/?page=2000000000000000000", "page is"),
        ("/console/?page=-1", "page is"),
        ("/console/reports?from=9999-12-31&to=9999-12-31", "from and to"),
        ("/console/reports?to=0001-01-01", "from and to"),
    ],
)
def test_crafted_page_numbers_and_dates_answer_400(agent, path, field):
    answer = agent.get(path)
    assert answer.status_code == 400, answer.data
    assert field in answer.get_data(as_text=True)


def test_unknown_query_values_never_reach_links_or_fail(agent):
    page = agent.get("/console/reports?kind=x&_external=1&_scheme=javascript&from=2026-05-01")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "javascript:" not in text and "kind=x" not in text and "from=2026-05-01" in text


def test_a_customer_id_past_any_real_one_is_not_found(agent):
    assert agent.get("/console/customers/99999999999999999999").status_code == 404


def test_pages_carry_anti_framing_policy_and_no_store_headers(app, agent, customers):
    paths = ("/console/", "/console/reports", f"/console/customers/{customers['dana']}", "/console/?page=x")
    answers = [agent.get(p) for p in paths] + [app.test_client().get("/console/signin")]
    for answer in answers:
        assert answer.headers["X-Frame-Options"] == "DENY"
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert answer.headers["Cache-Control"] == "no-store"
        assert "onclick=" not in answer.get_data(as_text=True)  # no inline script for the policy to block
    assert agent.get("/console/static/console.js").headers["Content-Security-Policy"]


def test_a_cookie_copied_before_sign_out_stops_working(app, tokens):
    client = app.test_client()
    sign_in(client, tokens["agent"])
    copied = client.get_cookie("statushub_console", path="/console")
    thief = app.test_client()
    thief.set_cookie("statushub_console", copied.value, path="/console")
    assert thief.get("/console/").status_code == 200
    client.post("/console/signout", data={"csrf": csrf_of(client)})
    assert thief.get("/console/").status_code == 302
    assert client.get("/console/").status_code == 302


def _sign_in_from(app, address: str, token: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return sign_in(client, token)


def test_failed_sign_ins_are_limited_per_address_for_a_minute_and_logged(
    app, db_url, tokens, caplog, monkeypatch
):
    from datetime import timedelta

    from plugin.app import create_app
    from plugin.app.console import auth
    from plugin.domain.clock import utcnow

    for n in range(10):
        assert _sign_in_from(app, "203.0.113.7", f"shub_guess-{n}").status_code == 401
    refused = [r for r in caplog.records if r.getMessage() == "console sign-in refused"]
    assert len(refused) == 10 and all(r.levelname == "WARNING" and r.client == "203.0.113.7" for r in refused)
    assert not any("shub_guess" in r.getMessage() or "shub_guess" in str(r.__dict__) for r in caplog.records)
    # The count is in the database: another process (another app) refuses too, even the right token.
    other_process = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "console-test-key"})
    limited = _sign_in_from(other_process, "203.0.113.7", tokens["agent"])
    assert limited.status_code == 429 and "wait a minute" in limited.get_data(as_text=True)
    assert _sign_in_from(app, "198.51.100.9", tokens["agent"]).status_code == 302
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    assert _sign_in_from(app, "203.0.113.7", tokens["agent"]).status_code == 302
