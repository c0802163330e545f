import orjson
import pytest

from hub.core.credentials import Keyring, issue
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import Envelope, encode
from hub.core.rejection import Rejection
from hub.core.routing import Delivery, route
from hub.testing.samples import dossier_submitted

LIMIT = 100_000


@pytest.fixture(scope="module")
def directory():
    return Directory.of([
        ConnectorSpec(id="mot-cua", name="Một cửa", agency="H22", produces=["dossier.submitted"],
                      consumes=["dossier.submitted"]),
        ConnectorSpec(id="ndxp", name="NDXP", agency="NDXP", level="national", consumes=["dossier.submitted"]),
        ConnectorSpec(id="kpi", name="KPI", agency="H22", consumes=["dossier.submitted"]),
        ConnectorSpec(id="csdl-dan-cu", name="CSDL dân cư", agency="BCA", consumes=["citizen.verify.request"]),
    ])


def decide(raw, schemas, directory):
    return route(raw, schemas, directory, LIMIT)


def test_subscribers_receive_except_the_sender(schemas, directory):
    outcome = decide(encode(dossier_submitted()), schemas, directory)
    assert isinstance(outcome, Delivery) and outcome.targets == ("kpi", "ndxp")


def test_explicit_target_wins(schemas, directory):
    outcome = decide(encode(dossier_submitted(target="ndxp")), schemas, directory)
    assert outcome.targets == ("ndxp",)


@pytest.mark.parametrize(("raw", "stage", "rule"), [
    (b"", "decode", "json"),
    (b"{not json", "decode", "json"),
    (b"[1, 2]", "decode", "type"),
    (b"x" * (LIMIT + 1), "decode", "maxBytes"),
    (b'{"id": "x"}', "envelope", "uuid_parsing"),
])
def test_undecodable_input_is_rejected_with_stage(schemas, directory, raw, stage, rule):
    outcome = decide(raw, schemas, directory)
    assert isinstance(outcome, Rejection)
    assert (outcome.stage, outcome.errors[0].rule) == (stage, rule)


def _with(**changes):
    data = orjson.loads(encode(dossier_submitted()))
    data.update(changes)
    return orjson.dumps(data)


@pytest.mark.parametrize(("changes", "stage", "field", "rule"), [
    ({"type": "dossier.deleted"}, "schema", "envelope.type", "knownType"),
    ({"version": 7}, "schema", "envelope.version", "knownVersion"),
    ({"source": "unknown-system"}, "routing", "envelope.source", "registeredSource"),
    ({"source": "ndxp"}, "routing", "envelope.type", "mayPublish"),
    ({"target": "nobody"}, "routing", "envelope.target", "knownTarget"),
    ({"target": "csdl-dan-cu"}, "routing", "envelope.target", "mayReceive"),
])
def test_rejections_name_field_and_rule(schemas, directory, changes, stage, field, rule):
    outcome = decide(_with(**changes), schemas, directory)
    assert isinstance(outcome, Rejection)
    assert (outcome.stage, outcome.errors[0].field, outcome.errors[0].rule) == (stage, field, rule)
    assert field in outcome.reason and rule in outcome.reason


def test_no_subscriber_is_a_rejection_not_a_drop(schemas):
    lonely = Directory.of([ConnectorSpec(id="mot-cua", name="x", agency="y", produces=["dossier.submitted"])])
    outcome = decide(encode(dossier_submitted()), schemas, lonely)
    assert isinstance(outcome, Rejection) and outcome.errors[0].rule == "hasSubscriber"


def test_schema_failure_carries_all_errors(schemas, directory):
    data = orjson.loads(encode(dossier_submitted()))
    data["payload"]["KenhThucHien"] = 9
    del data["payload"]["MaTTHC"]
    outcome = decide(orjson.dumps(data), schemas, directory)
    assert outcome.stage == "schema" and len(outcome.errors) == 2 and "(+1 more)" in outcome.reason


def test_a_signed_payload_the_hub_put_in_an_envelope_verifies_only_with_that_payload(schemas):
    credential, row = issue("mot-cua")
    keyring = Keyring([row])
    directory = Directory.of([
        ConnectorSpec(id="mot-cua", name="Một cửa", agency="H22", produces=["dossier.submitted"]),
        ConnectorSpec(id="ndxp", name="NDXP", agency="NDXP", consumes=["dossier.submitted"])])
    payload = dossier_submitted().payload
    signed = orjson.dumps(payload)
    seal = (credential.id, credential.sign(signed, 0), "0")  # signed at the epoch, routed then (now=0)
    wrapped = encode(Envelope.new("dossier.submitted", 1, "mot-cua", payload, target="ndxp"))
    assert isinstance(route(wrapped, schemas, directory, LIMIT, keyring, seal, 0, signed), Delivery)
    swapped = encode(Envelope.new("dossier.submitted", 1, "mot-cua", {**payload, "MaHoSo": "other"}, target="ndxp"))
    refused = route(swapped, schemas, directory, LIMIT, keyring, seal, 0, signed)
    assert isinstance(refused, Rejection) and (refused.stage, refused.errors[0].rule) == ("auth", "signedPayload")
    unsealed = route(wrapped, schemas, directory, LIMIT, keyring, seal, 0)  # the seal is not over the envelope
    assert isinstance(unsealed, Rejection) and unsealed.errors[0].rule == "validSignature"
