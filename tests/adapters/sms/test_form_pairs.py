"""A url-encoded body parses to the pairs werkzeug gives (Twilio's and Slack's forms go through it)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler
from hypothesis import example, given, settings
from hypothesis import strategies as st

from plugin.app.forms import form_pairs

bodies = st.text(alphabet=st.sampled_from("a=&+%20fFzZ3Gé€ \x00;"), max_size=40) | st.text(max_size=30)


@settings(max_examples=800, deadline=None)
@given(bodies)
@example("Body=hi+there%21&From=%2B14155550100&To=&NumMedia=0")
@example("a&&b=&=c&%zz=%E2%82&%ff=%2")
@example("x=1;y=2&z=%20+%2B")
def test_form_pairs_are_what_werkzeug_parses(text):
    assert form_pairs(text) == parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
