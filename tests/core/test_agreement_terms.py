"""Data-sharing agreements as pure logic: the projection, the members a schema allows, which agreement a
delivery follows, routing's per-target decision, and the hub's signature over a projection."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from hub.core.agreements import Agreement, Agreements, Projection, Withheld, projected, unknown_member
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import encode
from hub.core.hub_signature import HubKey, HubKeys, HubSignatureError
from hub.core.rejection import Rejection
from hub.core.routing import Delivery, resolve
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.testing.samples import dossier_submitted

NOW = time.time()


def agreement(consumer: str = "so-tu-phap", provider: str = "mot-cua", fields=("/MaHoSo",), **terms) -> Agreement:
    at = datetime.fromtimestamp(NOW, timezone.utc)
    return Agreement.model_validate({
        "id": f"{consumer}.1", "version": 1, "provider": provider, "consumer": consumer,
        "types": ["dossier.submitted"], "fields": list(fields), "purpose": {"code": "P", "text": "p"},
        "legal_basis": "NĐ 47/2020", "valid_from": at - timedelta(days=1), "changed_at": at, "changed_by": "a",
        **terms})


def test_a_projection_keeps_only_the_members_named_and_below_a_member_named_whole():
    payload = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f/g": 4}
    assert Projection(["/a", "/b/c"])(payload) == {"a": 1, "b": {"c": 2}}
    assert Projection(["/b/c", "/b"])(payload) == Projection(["/b", "/b/c"])(payload) == {"b": {"c": 2, "d": 3}}
    assert Projection(["/e", "/f~1g", "/missing", "/e/0"])(payload) == {"e": [1, 2], "f/g": 4}


def test_only_members_the_schema_allows_are_taken():
    schema = SchemaRegistry.from_dirs(bundled_schemas_dir()).schema("dossier.submitted", 1)
    assert unknown_member(schema, "/ChuHoSo/HoVaTen") is None
    assert unknown_member(schema, "/MaHoSo") is None  # through a $ref of the schema's own $defs
    assert "no member 'Tuoi'" in unknown_member(schema, "/ChuHoSo/Tuoi")
    assert "has no members" in unknown_member(schema, "/MaHoSo/x")


def test_a_delivery_follows_the_agreement_in_force_else_it_is_withheld_unless_none_governs():
    ended = agreement("cong-an", ended_at=datetime.fromtimestamp(NOW - 1, timezone.utc))
    book = Agreements.of([agreement(), ended])
    assert book.terms("mot-cua", "so-tu-phap", "dossier.submitted", NOW).id == "so-tu-phap.1"
    assert book.terms("mot-cua", "ndxp", "dossier.submitted", NOW) is None  # no agreement names it
    assert isinstance(book.terms("ho-tich", "so-tu-phap", "dossier.submitted", NOW), Withheld)  # another provider
    assert "not in force" in book.terms("mot-cua", "cong-an", "dossier.submitted", NOW).reason
    assert isinstance(book.terms("mot-cua", "so-tu-phap", "dossier.submitted", NOW - 2 * 86400), Withheld)
    expiring = agreement(valid_to=datetime.fromtimestamp(NOW + 5, timezone.utc))
    assert expiring.in_force(NOW + 4.9) and not expiring.in_force(NOW + 5.1)


def test_agreements_of_the_same_parties_and_a_common_type_overlap_only_over_a_common_period():
    first = agreement(valid_to=datetime.fromtimestamp(NOW + 100, timezone.utc))
    later = agreement(valid_from=datetime.fromtimestamp(NOW + 100, timezone.utc))
    assert first.overlaps(agreement()) and not first.overlaps(later)
    assert not first.overlaps(agreement("cong-an")) and not first.overlaps(agreement(types=["dossier.completed"]))


def test_routing_projects_withholds_and_delivers_whole_per_target():
    specs = [ConnectorSpec(id="mot-cua", name="m", agency="a", produces=["dossier.submitted"])] + [
        ConnectorSpec(id=c, name=c, agency="a", consumes=["dossier.submitted"]) for c in ("so-tu-phap", "cong-an", "ndxp")]
    ended = agreement("cong-an", ended_at=datetime.fromtimestamp(NOW - 1, timezone.utc))
    directory = Directory.of(specs, Agreements.of([agreement(), ended]))
    envelope = dossier_submitted()
    outcome = resolve(envelope, directory, NOW)
    assert isinstance(outcome, Delivery) and outcome.targets == ("ndxp", "so-tu-phap")
    assert [a and a.id for a in outcome.terms] == [None, "so-tu-phap.1"]
    assert [w.consumer for w in outcome.withheld] == ["cong-an"]
    assert resolve(envelope, Directory.of(specs), NOW) == Delivery(envelope, ("cong-an", "ndxp", "so-tu-phap"))
    refused = resolve(envelope.model_copy(update={"target": "cong-an"}), directory, NOW)
    assert isinstance(refused, Rejection) and (refused.stage, refused.errors[0].rule) == ("routing", "agreement")
    assert refused.errors[0].field == "envelope.target" and refused.withheld[0].consumer == "cong-an"


def test_the_hubs_signature_covers_the_projection_its_agreement_and_the_originals_hash():
    key, envelope = HubKey.parse(HubKey.new_seed()), dossier_submitted()
    original = encode(envelope)
    value = projected(original, Projection(["/MaHoSo"]))
    assert orjson.loads(value)["payload"] == {"MaHoSo": envelope.payload["MaHoSo"]}
    headers = key.headers(value, "so-tu-phap.1", original)
    keys = HubKeys.of({"keys": [key.jwk()]})
    assert keys.verify(value, headers) == "so-tu-phap.1"
    assert keys.verify(original, []) is None  # not projected: nothing to check
    swapped = [(n, b"cong-an.1" if n == "lgsp.agreement" else v) for n, v in headers]
    for forged, why in ((value + b" ", "does not match"), (value, "does not match")):
        with pytest.raises(HubSignatureError, match=why):
            keys.verify(forged, headers if forged != value else swapped)
    with pytest.raises(HubSignatureError, match="not among the keys"):
        HubKeys.of([HubKey.parse(HubKey.new_seed()).jwk()]).verify(value, headers)
    with pytest.raises(HubSignatureError, match="without"):
        keys.verify(value, headers[:2])
