"""Slack: slash commands, the customer card, App Home, Slack Connect messages and alerts (SPEC §6).

One Request URL, `POST /slack/events`, served by a slack-bolt App built in `init_app` (never at
import) with `process_before_response=True`: every listener commits before the HTTP answer, so
an acknowledged request is never lost, and under sync workers Bolt does not poll (STYLE §11). The
Web API calls a request leads to (card refreshes, App Home, modals) are Bolt lazy listeners run after
the answer (after_ack.py): the acknowledgement never waits on Slack (SPEC §11).
"""

from __future__ import annotations

import functools
import json
import logging

from flask import Flask, request
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import DBAPIError

from adapters.slack.after_ack import AfterAck
from adapters.slack.parse import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSlackSignature,
    check_signature_headers,
    parse_request_body,
)
from plugin.app import hub
from plugin.automation.outbox import SENDERS_KEY
from plugin.workspace.accounts import slack_account

log = logging.getLogger("statushub.slack")


def authorize(enterprise_id, team_id, logger):
    """The workspace installed in this Slack team answers with its bot token."""
    with hub().reading() as conn:
        account = slack_account(conn, team_id or "")
    # An unknown team still reaches the listener, which answers that it is not connected (Bolt's own
    # refusal would call the response_url synchronously).
    settings = account.settings if account else {}
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=account.secret if account else None,
        bot_user_id=settings.get("slack_bot_user_id"),
        bot_id=settings.get("slack_bot_id"),
    )


def ignored(body: dict) -> dict:
    """What a log line says about a request the hub does not handle: its kinds, never its content."""
    event = body.get("event")
    event = event if isinstance(event, dict) else {}
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    first = actions[0] if actions and isinstance(actions[0], dict) else {}
    return {
        "type": str(body.get("type") or body.get("command") or "")[:40],
        "event": str(event.get("type") or "")[:40],
        "action": str(first.get("action_id") or "")[:40],
        "team": str(body.get("team_id") or "")[:20],
    }


def build_bolt(
    signing_secret: str, api_url: str, command_names: dict[str, str], after_ack: AfterAck | None = None
) -> App:
    from adapters.slack import actions, commands, events, home

    bolt = App(
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=True,
        client=WebClient(base_url=api_url),
        token_verification_enabled=False,
        request_verification_enabled=True,
        # Bolt answers 404 to what no listener handles, and Slack counts that as a failed delivery
        # (and retries events): raised instead, and acknowledged below (SPEC §11).
        raise_error_for_unhandled_request=True,
        # Lazy listeners (the Web API calls) run here, after the answer (after_ack.py).
        listener_executor=after_ack or AfterAck(),
        logger=log,
    )

    @bolt.error
    def on_error(error, body):
        if isinstance(error, BoltUnhandledRequestError):
            log.info("slack request ignored", extra=ignored(body))
            return BoltResponse(status=200, body="")
        # A failing listener answers 5xx so Slack retries; a database outage says so (503).
        status = 503 if isinstance(error, DBAPIError) else 500
        log.error("slack listener failed", extra={"error": type(error).__name__, "type": body.get("type")})
        return BoltResponse(
            status=status,
            body=json.dumps({"error": {"code": "unavailable", "message": "retry later"}}),
            headers={"content-type": "application/json"},
        )

    commands.register(bolt, command_names)
    actions.register(bolt, api_url)
    home.register(bolt, api_url)
    events.register(bolt)
    return bolt


def init_app(app: Flask) -> None:
    from adapters.slack.alerts import send_alert, send_nudge

    settings = app.extensions["statushub"].settings
    app.extensions.setdefault(SENDERS_KEY, {})["alert"] = functools.partial(
        send_alert, api_url=settings.slack_api_url
    )
    app.extensions[SENDERS_KEY]["nudge"] = functools.partial(send_nudge, api_url=settings.slack_api_url)
    if not settings.slack_signing_secret:
        log.warning("SLACK_SIGNING_SECRET is not set: /slack/events is off")
        return
    after_ack = AfterAck()
    bolt = build_bolt(
        settings.slack_signing_secret, settings.slack_api_url, dict(settings.slack_commands), after_ack
    )
    handler = SlackRequestHandler(bolt)
    verifier = SignatureVerifier(settings.slack_signing_secret)
    app.extensions["statushub_slack"] = bolt
    app.extensions["statushub_slack_after_ack"] = after_ack

    @app.post("/slack/events", endpoint="slack_events")
    def slack_events():
        # Before Bolt, which would answer 500 on what it cannot read (SPEC §12): the signature first
        # (garbage headers and bad signatures 401), then the body's shape (400); nothing is stored.
        # Bolt verifies the signature again: verification is never switched off.
        body = request.get_data(as_text=True)
        timestamp, signature = request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER)
        check_signature_headers(timestamp, signature)
        if not verifier.is_valid(body, timestamp, signature):
            raise BadSlackSignature("the Slack signature is invalid or stale", field=SIGNATURE_HEADER)
        parse_request_body(body, request.content_type)
        return handler.handle(request)
