"""The console in a real browser (Debian's chromium via playwright): drag and drop, keyboard, escaping.

SQLite only: the app is served from a thread of this process, and these tests are about the pages and
their scripts, which are the same on both backends (the test-client tests run both).
Every page is also photographed at 1280×800 and 390×844 into screenshots/ at the repo root.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from plugin.domain.fold import initial_state
from plugin.domain.policy import decide
from plugin.store.db import reading
from plugin.workspace.catalog import load_catalog

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
def db_url(request, tmp_path):
    """SQLite only (see the module docstring); overrides the two-backend fixture."""
    import shutil

    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "statushub.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def server(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.dialogs = dialogs
    yield page
    context.close()


def sign_in(page, server, token):
    page.goto(f"{server}/console/signin")
    page.fill("#token", token)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server}/console/")


def drag(source, target):
    """Grab the element by its edge: its middle may be a menu or a button, which do not start a drag."""
    with source.page.expect_navigation():
        source.drag_to(target, source_position={"x": 6, "y": 6})


def photograph(page, name):
    SHOTS.mkdir(exist_ok=True)
    for size, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(SHOTS / f"console-{name}-{size}.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_agent_filters_the_board_and_drags_a_customer_to_hot_lead(page, server, tokens, customers):
    page.goto(f"{server}/console/signin")
    photograph(page, "signin")
    sign_in(page, server, tokens["agent"])
    photograph(page, "board")
    page.click("a.filter[data-status='stage:greeting']")
    page.wait_for_url("**greeting")
    assert "Dana" in page.inner_text("#queue-title + ol")
    card = page.locator(".card-item[data-name='Dana']")
    drag(card, page.locator(".column[data-drop-status='hot_lead']"))
    page.wait_for_load_state("load")
    assert page.locator(".column[data-drop-status='hot_lead'] .card-item[data-name='Dana']").count() == 1
    page.click(".column[data-drop-status='hot_lead'] .card-item[data-name='Dana'] a")
    history = page.inner_text("table.history")
    assert "manual" in history and "console:alice" in history and "hot_lead" in history
    photograph(page, "customer")
    page.goto(f"{server}/console/reports")
    photograph(page, "reports")
    assert page.dialogs == []


def test_keyboard_move_works_without_dragging(page, server, tokens, customers):
    sign_in(page, server, tokens["agent"])
    form = page.locator(".card-item[data-name='Eli'] form.move")
    form.locator("select").select_option("cold_lead")
    form.locator("button").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".column[data-drop-status='cold_lead'] .card-item[data-name='Eli']").count() == 1


def test_agent_gets_403_on_the_statuses_page(page, server, tokens):
    sign_in(page, server, tokens["agent"])
    answer = page.goto(f"{server}/console/statuses")
    assert answer.status == 403
    assert "only admins" in page.inner_text("main")
    photograph(page, "forbidden")


def stage_order(engine, workspace):
    with reading(engine) as conn:
        return [s.key for s in load_catalog(conn, workspace).tracks["stage"].statuses]


def test_admin_reorders_by_drag_and_by_keyboard_and_upgrades_follow(page, server, tokens, engine, workspace):
    sign_in(page, server, tokens["admin"])
    page.goto(f"{server}/console/statuses")
    photograph(page, "statuses")
    stage = page.locator(".status-list[data-track='stage']")
    drag(
        stage.locator(".status-row[data-key='cold_lead']"),
        stage.locator(".status-row[data-key='closed_won']"),
    )
    page.wait_for_load_state("load")
    assert stage_order(engine, workspace) == ["greeting", "hot_lead", "cold_lead", "closed_won", "passed"]
    # An automatic move hot → cold is now an upgrade.
    with reading(engine) as conn:
        catalog = load_catalog(conn, workspace)
    hot, cold = catalog.status("stage", "hot_lead"), catalog.status("stage", "cold_lead")
    assert decide(hot.ref, cold.ref, automatic=True).applied
    assert initial_state(catalog).statuses["stage"][0] == "greeting"
    # And back by keyboard: focus cold_lead's ↑ button and press Enter.
    page.locator(".status-row[data-key='cold_lead'] button[value='up']").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert stage_order(engine, workspace) == ["greeting", "cold_lead", "hot_lead", "closed_won", "passed"]
    with reading(engine) as conn:
        catalog = load_catalog(conn, workspace)
    hot, cold = catalog.status("stage", "hot_lead"), catalog.status("stage", "cold_lead")
    assert not decide(hot.ref, cold.ref, automatic=True).applied


def test_try_a_message_reflects_the_new_order(page, server, tokens, customers, engine, workspace):
    sign_in(page, server, tokens["admin"])
    drag(page.locator(".card-item[data-name='Dana']"), page.locator(".column[data-drop-status='hot_lead']"))
    page.wait_for_load_state("load")
    page.goto(f"{server}/console/intents")
    page.fill("input[name='text']", "how much is it?")
    page.fill("input[name='customer']", "Dana")
    page.click("button:has-text('Try')")
    assert "Blocked" in page.inner_text(".tried")
    photograph(page, "intents")
    page.goto(f"{server}/console/statuses")
    stage = page.locator(".status-list[data-track='stage']")
    drag(
        stage.locator(".status-row[data-key='cold_lead']"),
        stage.locator(".status-row[data-key='closed_won']"),
    )
    page.wait_for_load_state("load")
    page.goto(f"{server}/console/intents?text=how+much+is+it%3F&customer=Dana")
    assert "Applied" in page.inner_text(".tried")


def test_deleting_an_in_use_status_archives_it_and_restore_brings_it_back(page, server, tokens, customers):
    sign_in(page, server, tokens["admin"])
    drag(page.locator(".card-item[data-name='Dana']"), page.locator(".column[data-drop-status='cold_lead']"))
    page.wait_for_load_state("load")
    page.goto(f"{server}/console/statuses")
    page.locator(".status-row[data-key='cold_lead'] button:has-text('Delete')").click()
    page.wait_for_load_state("load")
    assert "archived, 1 customers still on it" in page.inner_text("[role=status]")
    assert page.dialogs and page.dialogs[0].startswith("Delete")
    page.goto(f"{server}/console/")
    assert "(archived)" in page.inner_text(".column[data-drop-status='cold_lead'] h3")
    photograph(page, "board-archived")
    page.goto(f"{server}/console/statuses")
    page.locator(".status-row[data-key='cold_lead'] button:has-text('Restore')").click()
    page.wait_for_load_state("load")
    assert page.locator(".status-row.is-archived").count() == 0


def test_hostile_customer_name_renders_as_text(page, server, tokens, customers):
    sign_in(page, server, tokens["agent"])
    page.goto(f"{server}/console/customers/{customers['xss']}")
    assert page.inner_text("h1.customer-name").startswith("<img src=x onerror=alert(1)>")
    page.goto(f"{server}/console/")
    assert page.locator("img").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []


def test_form_post_without_csrf_is_refused_and_changes_nothing(
    page, server, tokens, customers, engine, workspace
):
    sign_in(page, server, tokens["agent"])
    page.evaluate(
        "document.querySelectorAll('.card-item[data-name=\"Dana\"] input[name=csrf]').forEach(e => e.remove())"
    )
    form = page.locator(".card-item[data-name='Dana'] form.move")
    form.locator("select").select_option("hot_lead")
    form.locator("button").click()
    page.wait_for_load_state("load")
    assert "Refused" in page.inner_text("h1")
    page.goto(f"{server}/console/")
    assert page.locator(".column[data-drop-status='greeting'] .card-item[data-name='Dana']").count() == 1


PHONE_PAGES = [
    "/console/",
    "/console/?status=stage:greeting",
    "/console/reports",
    "/console/statuses",
    "/console/intents",
]


def test_on_a_phone_no_page_scrolls_sideways(browser, server, tokens, customers):
    """At 390 px wide the document is never wider than the screen; the stage board scrolls in its own box."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, server, tokens["admin"])
        # A card in the last column: its hidden "Move to" label sits far right, inside the board's box.
        form = page.locator(".card-item[data-name='Eli'] form.move")
        form.locator("select").select_option("passed")
        with page.expect_navigation():
            form.locator("button").click()
        customer = page.locator(".card-item[data-name='Dana'] a").first.get_attribute("href")
        for path in [*PHONE_PAGES, customer]:
            page.goto(path if path.startswith("http") else f"{server}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        page.goto(f"{server}/console/")
        board = page.locator(".columns")
        assert board.evaluate("el => el.scrollWidth > el.clientWidth"), (
            "the stage board scrolls inside its box"
        )
    finally:
        context.close()
