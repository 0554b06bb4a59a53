"""A url-encoded body parses to the pairs werkzeug gives (Twilio's and Slack's forms go through it)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.test import EnvironBuilder

from plugin.app.forms import BoundedRequest, FormFields, form_pairs

bodies = st.text(alphabet=st.sampled_from("a=&+%20fFzZ3Gé€ \x00;"), max_size=40) | st.text(max_size=30)


@settings(max_examples=800, deadline=None)
@given(bodies)
@example("Body=hi+there%21&From=%2B14155550100&To=&NumMedia=0")
@example("a&&b=&=c&%zz=%E2%82&%ff=%2")
@example("x=1;y=2&z=%20+%2B")
def test_form_pairs_are_what_werkzeug_parses(text):
    assert form_pairs(text) == parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")


names = st.sampled_from(["From", "To", "Body", "NumMedia", "MediaUrl0", ""]) | st.text(max_size=4)
values = st.sampled_from(["", "0", "12", "x", "-3"]) | st.text(max_size=4)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(names, values), max_size=8), names, st.sampled_from([None, "d", 7]))
def test_a_form_field_is_found_as_werkzeug_finds_it(pairs, name, default):
    ours, theirs = FormFields(pairs), ImmutableMultiDict(pairs)
    assert ours.get(name) == theirs.get(name)
    assert ours.get(name, default) == theirs.get(name, default)
    assert ours.get(name, default, type=int) == theirs.get(name, default, type=int)
    assert ours.getlist(name) == theirs.getlist(name)


def test_a_request_reads_its_form_and_query_as_form_fields():
    environ = EnvironBuilder(
        "/sms/twilio/inbound?x=1", method="POST", data={"From": "+14155550100", "Body": "hi"}
    ).get_environ()
    request = BoundedRequest(environ)
    assert isinstance(request.form, FormFields) and isinstance(request.args, FormFields)
    assert request.form.get("From") == "+14155550100"
    assert request.form.get("MessagingServiceSid") is None
    assert request.args.get("x") == "1"
