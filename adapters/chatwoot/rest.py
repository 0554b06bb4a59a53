"""Chatwoot's REST API, the calls the hub makes (tests/fixtures/recorded/chatwoot/SIGNING.md §2):
`api_access_token` header, paths under `/api/v1/accounts/{account}/`, JSON both ways. Every call
goes through the SSRF guard (plugin.automation.public_urls) and follows no redirect.

An answer that retrying cannot change (401 bad token, 403 API disabled, 404 gone) is Undeliverable:
the outbox dead-letters it at once and `statushub chatwoot status` shows why. Anything else (5xx,
429, a timeout, no connection) is retried with the outbox's back-off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from plugin.automation import public_urls
from plugin.automation.outbox import Undeliverable
from plugin.domain.errors import StatushubError
from plugin.workspace.chatwoot import ChatwootAccount

TIMEOUT = 10  # seconds
SUBSCRIPTIONS = ["message_created", "contact_updated"]


class ChatwootUnavailable(Exception):
    """Retried. Its text is stored and shown to admins, so it never tells what the connection met."""


class ChatwootRefused(StatushubError):
    """For the CLI: Chatwoot answered `connect` with an error the admin must fix."""

    code = "chatwoot_refused"


class Client:
    """One account's calls on one HTTP session."""

    def __init__(self, account: ChatwootAccount, http: requests.Session) -> None:
        self.account, self.http = account, http

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        try:
            answer = public_urls.call(
                self.http,
                method,
                self.account.api(path),
                json=body,
                headers={"api_access_token": self.account.api_token, "Accept": "application/json"},
                timeout=TIMEOUT,
            )
        except public_urls.Unreachable as failed:
            if failed.kind == "refused":
                raise Undeliverable("refused: the Chatwoot URL does not lead to a public address") from None
            if failed.kind == "timeout":
                raise ChatwootUnavailable(f"Chatwoot did not answer in {TIMEOUT} s") from None
            raise ChatwootUnavailable("connection to Chatwoot failed") from None
        if answer.status_code in (401, 403):
            raise Undeliverable(f"Chatwoot refused the API token ({answer.status_code}): {_reason(answer)}")
        if answer.status_code == 404:
            raise Undeliverable(f"Chatwoot has no {path.split('/')[0]} there (404)")
        return answer

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = self.call(method, path, body)
        if not 200 <= answer.status_code < 300:
            raise ChatwootUnavailable(f"Chatwoot answered {answer.status_code}")
        try:
            document = answer.json()
        except ValueError:
            raise ChatwootUnavailable(f"Chatwoot answered {answer.status_code} without JSON") from None
        return document if isinstance(document, dict) else {}

    def conversation_labels(self, conversation_id: int) -> list[str]:
        payload = self.ok("GET", f"conversations/{conversation_id}/labels").get("payload")
        if not isinstance(payload, list):
            raise ChatwootUnavailable("Chatwoot's label list had no payload")
        return [label for label in payload if isinstance(label, str)]

    def set_conversation_labels(self, conversation_id: int, labels: list[str]) -> None:
        # Replaces the whole list (Labelable#update_labels): the caller read and merged it.
        self.ok("POST", f"conversations/{conversation_id}/labels", {"labels": labels})

    def set_contact_attributes(self, contact_id: int, attributes: dict[str, str]) -> None:
        # Merged into the contact's custom_attributes by Chatwoot (ContactsController#update).
        self.ok("PUT", f"contacts/{contact_id}", {"custom_attributes": attributes})


@contextmanager
def client(account: ChatwootAccount, *, allow_private: bool) -> Iterator[Client]:
    with public_urls.session(allow_private=allow_private) as http:
        yield Client(account, http)


class RestSetup:
    """What `statushub chatwoot connect` asks of Chatwoot (plugin.automation.chatwoot_sync.ChatwootSetup)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def register_webhook(self, account: ChatwootAccount, url: str) -> tuple[int, str]:
        """Creates the account webhook (administrator token) and returns its id and secret; a webhook
        already there for this URL is looked up instead (Chatwoot refuses a second one)."""
        body = {"name": "statushub", "url": url, "subscriptions": SUBSCRIPTIONS}
        with client(account, allow_private=self.allow_private) as cw:
            answer = _setup_call(cw, "POST", "webhooks", body)
            if answer.status_code == 422 and "taken" in _reason(answer):
                listed = _json(cw, _setup_call(cw, "GET", "webhooks")).get("payload") or {}
                found = [
                    w for w in listed.get("webhooks") or [] if isinstance(w, dict) and w.get("url") == url
                ]
                if not found:
                    raise ChatwootRefused(
                        f"Chatwoot says the webhook URL is taken: {_reason(answer)}", field="url"
                    )
                hook = found[0]
                if sorted(hook.get("subscriptions") or []) != sorted(SUBSCRIPTIONS):
                    _setup_call(cw, "PATCH", f"webhooks/{hook['id']}", body)
            else:
                if not 200 <= answer.status_code < 300:
                    raise ChatwootRefused(
                        f"Chatwoot refused the webhook ({answer.status_code}): {_reason(answer)}"
                    )
                hook = (_json(cw, answer).get("payload") or {}).get("webhook") or {}
        secret, hook_id = hook.get("secret"), hook.get("id")
        if not isinstance(secret, str) or not secret or not isinstance(hook_id, int):
            raise ChatwootRefused(
                "Chatwoot returned no webhook secret: it signs deliveries from version 4.11.2 on; "
                "upgrade Chatwoot, or pass --webhook-secret",
                field="register",
            )
        return hook_id, secret

    def create_labels(self, account: ChatwootAccount, labels: list[tuple[str, str, str]]) -> list[str]:
        made = []
        with client(account, allow_private=self.allow_private) as cw:
            listed = _json(cw, _setup_call(cw, "GET", "labels")).get("payload") or []
            have = {item.get("title") for item in listed if isinstance(item, dict)}
            for title, description, color in labels:
                if title in have:
                    continue
                body = {"title": title, "description": description, "color": color, "show_on_sidebar": True}
                answer = _setup_call(cw, "POST", "labels", body)
                if answer.status_code == 422 and "taken" in _reason(answer):
                    continue  # created meanwhile
                if not 200 <= answer.status_code < 300:
                    raise ChatwootRefused(
                        f"Chatwoot refused the label {title} ({answer.status_code}): {_reason(answer)}"
                    )
                made.append(title)
        return made


def _setup_call(cw: Client, method: str, path: str, body: dict | None = None) -> requests.Response:
    """A call made for an admin at the command line: every failure is a one-line reason."""
    try:
        return cw.call(method, path, body)
    except (Undeliverable, ChatwootUnavailable) as exc:
        hint = (
            " (creating webhooks and labels needs an administrator's access token)"
            if "token" in str(exc)
            else ""
        )
        raise ChatwootRefused(f"{exc}{hint}", field="api_token" if "token" in str(exc) else "url") from None


def _json(cw: Client, answer: requests.Response) -> dict:
    try:
        document = answer.json()
    except ValueError:
        raise ChatwootRefused(f"Chatwoot answered {answer.status_code} without JSON", field="url") from None
    return document if isinstance(document, dict) else {}


def _reason(answer: requests.Response) -> str:
    try:
        document = answer.json()
    except ValueError:
        return "no reason given"
    if isinstance(document, dict):
        for key in ("message", "error"):
            if isinstance(document.get(key), str):
                return document[key][:200]
    return "no reason given"
