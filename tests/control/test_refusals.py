"""Which refusals are kept in full and which counted (hub.control.refusals): pure logic, the time given."""

from __future__ import annotations

import logging

import pytest

from hub.control.refusals import SUPPRESSED, Refusals, unauthenticated
from hub.core.rejection import FieldError, Rejection


def refusal(stage: str, rule: str) -> Rejection:
    return Rejection.of(stage, [FieldError("lgsp.signature", rule, f"broke {rule}")])


UNSIGNED = refusal("auth", "signed")
FORGED = refusal("auth", "validSignature")


@pytest.mark.parametrize(("stage", "rule", "counted"), [
    ("auth", "signed", True), ("auth", "activeCredential", True), ("auth", "validSignature", True),
    ("auth", "signerIsSource", False), ("auth", "signedPayload", False),  # after a valid signature
    ("decode", "json", False), ("schema", "enum", False), ("routing", "mayPublish", False)])
def test_only_refusals_before_a_valid_signature_are_unauthenticated(stage, rule, counted):
    assert unauthenticated(refusal(stage, rule)) is counted


def test_the_burst_is_kept_then_one_more_per_refill_interval():
    refusals = Refusals(per_minute=6, burst=3, addresses=10)  # a token every 10 s
    assert [refusals.keep("10.0.0.1", UNSIGNED, 100.0) for _ in range(5)] == [True, True, True, False, False]
    assert not refusals.keep("10.0.0.1", UNSIGNED, 109.0)
    assert refusals.keep("10.0.0.1", UNSIGNED, 110.5)  # 10.5 s: one token, not two
    assert not refusals.keep("10.0.0.1", UNSIGNED, 110.5)
    assert refusals.keep("10.0.0.2", UNSIGNED, 110.5)  # each address has its own bucket
    assert refusals.total == 4


def test_refusals_of_authenticated_senders_are_always_kept_and_spend_nothing():
    refusals = Refusals(per_minute=1, burst=1, addresses=10)
    assert all(refusals.keep("10.0.0.1", refusal("schema", "enum"), 0.0) for _ in range(100))
    assert all(refusals.keep("10.0.0.1", refusal("auth", "signerIsSource"), 0.0) for _ in range(100))
    assert refusals.keep("10.0.0.1", UNSIGNED, 0.0) and refusals.total == 0
    assert refusals.keep(None, UNSIGNED, 0.0)  # no address (an in-process client): nothing to limit it by


def test_a_refusal_decided_before_the_signature_is_counted_unless_the_signature_verified():
    refusals = Refusals(per_minute=1, burst=1, addresses=10)
    unknown = refusal("routing", "registeredProvider")  # a call to no provider: refused before its signature
    assert refusals.keep("10.0.0.1", unknown, 0.0, proven=False)  # the burst
    assert all(refusals.keep("10.0.0.1", unknown, 0.0, proven=True) for _ in range(10))
    assert not refusals.keep("10.0.0.1", unknown, 0.0, proven=False)
    assert refusals.view(1)["addresses"][0]["rules"] == {"registeredProvider": 1}


def test_counts_per_address_and_rule_with_first_and_last_time(caplog):
    refusals = Refusals(per_minute=1, burst=1, addresses=10)
    before = SUPPRESSED.labels("auth", "validSignature")._value.get()
    with caplog.at_level(logging.WARNING, "hub.control.refusals"):
        for at, rejection in ((0.0, UNSIGNED), (1.0, UNSIGNED), (2.0, FORGED), (3.0, UNSIGNED)):
            refusals.keep("10.0.0.1", rejection, at)
        refusals.keep("10.0.0.2", UNSIGNED, 4.0)
        refusals.keep("10.0.0.2", FORGED, 4.0)
    view = refusals.view(10)
    assert (view["suppressed"], view["addresses_tracked"], view["forgotten"]) == (4, 2, 0)
    first, second = view["addresses"]
    assert first == {"address": "10.0.0.1", "suppressed": 3, "rules": {"signed": 2, "validSignature": 1},
                     "first_at": "1970-01-01T00:00:01+00:00", "last_at": "1970-01-01T00:00:03+00:00"}
    assert (second["address"], second["rules"]) == ("10.0.0.2", {"validSignature": 1})
    assert SUPPRESSED.labels("auth", "validSignature")._value.get() - before == 2
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and warned[0].startswith("10.0.0.1 ")  # once per address, not per request


def test_addresses_tracked_are_bounded_and_the_totals_still_add_up():
    refusals = Refusals(per_minute=1, burst=1, addresses=100)
    for n in range(1000):
        address = f"10.0.{n // 256}.{n % 256}"
        refusals.keep(address, UNSIGNED, 0.0)
        refusals.keep(address, UNSIGNED, 0.0)
    view = refusals.view(1000)
    assert len(refusals._buckets) == 100 and view["addresses_tracked"] == 100
    assert (view["suppressed"], view["forgotten"]) == (1000, 900)
    assert view["addresses"][0]["address"] == "10.0.3.231"  # the most recent kept, the least recent forgotten
    assert len(refusals.view(5)["addresses"]) == 5
