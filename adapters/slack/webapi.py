"""The few Slack Web API calls statushub makes itself (chat.postMessage, views.open, views.publish,
response_url), over `requests` with a timeout, at the configured SLACK_API_URL (SPEC §7)."""

from __future__ import annotations

import requests

TIMEOUT = 10  # seconds; a slower Slack is a failed attempt (the outbox retries alerts)


class SlackCallFailed(Exception):
    """Slack answered an error (`ok: false`) or not at all; the message never carries the token.
    `error` is Slack's error code (`not_in_channel`, `ratelimited`, ...), "" when there was none."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


def call(api_url: str, token: str, method: str, payload: dict) -> dict:
    try:
        response = requests.post(
            api_url.rstrip("/") + "/" + method,
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise SlackCallFailed(f"{method}: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200 or not body.get("ok"):
        error = str(body.get("error") or "")[:100]
        raise SlackCallFailed(f"{method}: HTTP {response.status_code} {error}".strip(), error)
    return body


def respond(response_url: str, payload: dict) -> None:
    """Posts to an interaction's response_url (e.g. to replace the card the user clicked)."""
    try:
        response = requests.post(response_url, json=payload, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise SlackCallFailed(f"response_url: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise SlackCallFailed(f"response_url: HTTP {response.status_code}")
