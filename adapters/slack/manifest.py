"""The Slack app manifest (https://docs.slack.dev/reference/app-manifest): everything a fresh Slack app
needs to talk to this hub, so nobody clicks scopes and URLs together by hand (SPEC §11). Pure."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from plugin.domain.errors import StatushubError

EVENTS_PATH = "/slack/events"  # one Request URL for events, slash commands and interactivity (SPEC §5)

# Bot events the hub listens to: messages in (Slack Connect) channels linked to a customer, public,
# private and direct, and App Home. Anything else Slack sends is acknowledged and ignored.
BOT_EVENTS = ("message.channels", "message.groups", "message.im", "app_home_opened")

# Each scope and why the hub needs it (https://docs.slack.dev/reference/scopes).
BOT_SCOPES = {
    "commands": "the slash commands",
    "chat:write": "alerts and nudges in the alert channel",
    "channels:history": "message.channels: messages in public channels the app is in",
    "groups:history": "message.groups: messages in private channels the app is in",
    "im:history": "message.im: direct messages to the app",
}

COMMANDS = {
    "status": ("Show a customer's card, or set a status", "<customer> [status] [note…] | help"),
    "log": (
        "Log a call, SMS, email or visit and its outcome",
        "<customer> <outcome> [call|sms|email|in-store] [note…]",
    ),
    "leads": ("List customers on a status, highest priority first", "[status] | funnel"),
}


# Slack's rule for a command name: a slash, then lower case, no spaces, 32 characters in all.
COMMAND_NAME = re.compile(r"\A/[a-z0-9._-]{1,31}\Z")


class NoPublicUrl(StatushubError):
    code = "no_public_url"


def request_url(base: str | None) -> str:
    """`https://hub.example` (or a path under it) → its /slack/events URL; Slack calls only https."""
    if not base or not base.strip():
        raise NoPublicUrl(
            "say where Slack reaches the hub: --url https://hub.example, or set STATUSHUB_PUBLIC_URL",
            field="url",
        )
    parts = urlsplit(base.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise NoPublicUrl(
            f"the hub's public URL must be a plain https URL such as https://hub.example, not {base!r}"
            " (Slack sends requests to https URLs only)",
            field="url",
        )
    return f"https://{parts.netloc}{parts.path.rstrip('/')}{EVENTS_PATH}"


def app_manifest(base_url: str | None, commands: dict[str, str], *, name: str = "statushub") -> dict:
    """The manifest, as a document for yaml (or json) to write: `commands` maps each command's role
    (status, log, leads) to its configured name (`/status`, ...)."""
    url = request_url(base_url)
    if not name.strip() or len(name) > 35:
        raise StatushubError("the app's name must be 1 to 35 characters (Slack's limit)", field="name")
    slash_commands = []
    for role, command in commands.items():
        if not COMMAND_NAME.match(command):
            raise StatushubError(
                f"{command!r} is not a Slack command name (a slash, then up to 31 lower-case letters,"
                f" digits, '-', '_' or '.'): check STATUSHUB_SLACK_{role.upper()}_COMMAND",
                field="command",
            )
        description, hint = COMMANDS.get(role, ("statushub", ""))
        slash_commands.append(
            {
                "command": command,
                "url": url,
                "description": description,
                "usage_hint": hint,
                # Slack turns @mentions into <@U…> ids, which name Slack Connect customers
                "should_escape": True,
            }
        )
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Customer statuses from SMS, web chat and Slack: who is hot, who waits.",
            "background_color": "#1f2937",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": slash_commands,
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {"request_url": url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
