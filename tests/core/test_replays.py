"""The replay window: a message routed once is refused from another offset, routed again from the same one."""

import base64

import pytest

from hub.core.envelope import Envelope
from hub.core.rejection import FieldError, Rejection
from hub.core.replays import ReplayWindow
from hub.core.routing import Delivery
from hub.testing.samples import dossier_submitted

NOW = 1_700_000_000.0
AT = int(NOW)


def test_the_same_record_again_is_a_redelivery_and_another_one_a_replay():
    window = ReplayWindow(max_age=300)
    assert window.admit("mot-cua", "m1", AT, NOW, (2, 40))
    assert window.admit("mot-cua", "m1", AT, NOW + 1, (2, 40))  # the batch read again after a crash
    assert not window.admit("mot-cua", "m1", AT, NOW + 2, (2, 41))  # sent again: another offset
    assert not window.admit("mot-cua", "m1", AT, NOW + 2, (0, 40))  # …or another partition
    assert not window.admit("mot-cua", "m1", AT, NOW + 2)  # over HTTP there is no offset
    assert window.admit("ndxp", "m1", AT, NOW + 2, (2, 41))  # an id is a source's own
    assert len(window) == 2


def test_without_a_position_every_repeat_is_a_replay():
    window = ReplayWindow(max_age=300)
    assert window.admit("mot-cua", "m1", AT, NOW)
    assert not window.admit("mot-cua", "m1", AT, NOW)


def test_an_entry_leaves_when_its_signature_stops_being_fresh():
    window = ReplayWindow(max_age=300)
    window.admit("mot-cua", "old", AT - 100, NOW)
    window.admit("mot-cua", "new", AT, NOW)
    assert not window.admit("mot-cua", "old", AT - 100, NOW + 200, (0, 9))  # still fresh: remembered
    window.admit("mot-cua", "other", AT, NOW + 201)
    assert len(window) == 2  # "old" was signed 301 s before: freshness refuses it now, the window need not
    assert window.admit("mot-cua", "new", AT, NOW + 301)  # expired (refused as stale before reaching here)


def test_at_the_cap_the_oldest_is_forgotten_and_counted():
    window = ReplayWindow(max_age=300, cap=2)
    for i in range(3):
        assert window.admit("mot-cua", f"m{i}", AT, NOW)
    assert len(window) == 2 and window.evicted == 1
    assert window.admit("mot-cua", "m0", AT, NOW)  # forgotten: a replay of it is no longer caught
    assert not window.admit("mot-cua", "m2", AT, NOW)
    with pytest.raises(ValueError, match="cap"):
        ReplayWindow(max_age=300, cap=0)


def test_a_replayed_delivery_is_refused_at_stage_auth():
    window = ReplayWindow(max_age=300)
    envelope = dossier_submitted()
    delivered = Delivery(envelope, ("ndxp",))
    assert window.screen(delivered, str(AT), NOW, (1, 7)) is delivered
    assert window.screen(delivered, str(AT).encode(), NOW, (1, 7)) is delivered  # re-delivered
    refused = window.screen(delivered, str(AT), NOW, (1, 8))
    assert isinstance(refused, Rejection) and refused.envelope == envelope
    assert (refused.stage, refused.errors[0].field, refused.errors[0].rule) == ("auth", "envelope.id", "notReplayed")
    assert str(envelope.id) in refused.reason and "300 s" in refused.reason
    earlier = Rejection.of("schema", [FieldError("payload", "type", "not an object")], envelope)
    assert window.screen(earlier, None, NOW) is earlier  # a refusal is not remembered


def test_a_payload_the_hub_wrapped_is_known_by_its_signature():
    window = ReplayWindow(max_age=300)
    payload = dossier_submitted().payload
    first, again = (Delivery(Envelope.new("dossier.submitted", 1, "mot-cua", payload, target="ndxp"), ("ndxp",))
                    for _ in range(2))
    assert first.envelope.id != again.envelope.id  # a new envelope at every wrapping
    assert window.screen(first, str(AT), NOW, signature="c2ln") is first
    assert isinstance(window.screen(again, str(AT), NOW, signature="c2ln"), Rejection)
    window.forget(again.envelope, "c2ln")  # its ingress write failed: the caller may try again
    assert window.screen(again, str(AT), NOW, signature="c2ln") is again


def test_a_signature_spelt_another_way_is_the_same_message():
    """base64url forgives padding and the unused low bits of its last character: a replayer must not get a
    fresh window key by spelling the captured signature differently."""
    from hub.core.credentials import canonical

    signature = base64.urlsafe_b64encode(bytes(range(64))).rstrip(b"=").decode()
    last = signature[-1]
    flipped = signature[:-1] + next(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                    if c != last and base64.urlsafe_b64decode(signature[:-1] + c + "==") ==
                                    base64.urlsafe_b64decode(signature + "=="))
    assert {canonical(s) for s in (signature, signature + "==", signature + "====", flipped)} == {signature}
