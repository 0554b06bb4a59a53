"""TwiML answers to Twilio's messaging webhook: empty, or the workspace's configured auto-reply."""

from __future__ import annotations

from xml.sax.saxutils import escape

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def response(reply: str | None = None) -> str:
    """`<Response/>`, or one `<Message>` carrying `reply` as escaped text."""
    if not reply:
        return EMPTY
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(reply)}</Message></Response>'
