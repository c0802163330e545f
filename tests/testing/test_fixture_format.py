"""The fixture format's outcomes, and reading a refusal back out of the message log."""

from __future__ import annotations

from hub.core.rejection import FieldError, Rejection
from hub.testing.format import FixtureMessage, Outcome
from hub.testing.session import _logged_rejection


def test_an_unseen_outcome_is_written_as_null_and_read_back_unknown():
    message = FixtureMessage(12, b'{"id":"x"}')
    line = message.to_json()
    assert line["outcome"] is None
    assert not FixtureMessage.from_json(line).outcome.known
    seen = FixtureMessage(12, b'{"id":"x"}', Outcome(("ndxp",)))
    assert FixtureMessage.from_json(seen.to_json()).outcome.key() == ("delivered", ("ndxp",))


def test_a_logged_reason_gives_back_its_field_and_rule():
    errors = [FieldError("payload.NgaySinh", "format", "not a date"), FieldError("payload.X", "required", "missing")]
    reason = Rejection.of("schema", errors).reason
    assert _logged_rejection({"stage": "schema", "reason": reason}) == {
        "stage": "schema", "field": "payload.NgaySinh", "rule": "format", "reason": reason}
    assert _logged_rejection({"stage": "schema", "reason": "no rule named here"}) is None


def test_a_logged_rejection_is_read_from_its_stored_field_and_rule():
    logged = {"stage": "routing", "field": "envelope.target", "rule": "knownTarget", "reason": "target: unknown"}
    assert _logged_rejection(logged) == {"stage": "routing", "field": "envelope.target", "rule": "knownTarget",
                                         "reason": "target: unknown"}
