"""edXML at the e-office's edge: a package of the standard's shape to a message and back, hardened parsing,
errors naming the element, and the sending agency's XML signature."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from province.connectors.eoffice import edxml, signature
from province.connectors.eoffice.edxml import NS, EdXMLError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edxml" / "cong-van.edxml"
REFERENCE = "lgsp-att-" + "a" * 32


def leaves(xml: bytes) -> list[tuple[str, str]]:
    """Every element with text, as (path of local names, text), in document order."""
    out: list[tuple[str, str]] = []

    def walk(element: ET.Element, path: str) -> None:
        here = f"{path}/{element.tag.rsplit('}', 1)[-1]}"
        if len(element) == 0:
            out.append((here, (element.text or "").strip()))
        for child in element:
            walk(child, here)

    walk(ET.fromstring(xml), "")
    return out


def referenced(payload: dict) -> dict:
    return {**payload, "Attachments": [{**a, "Reference": REFERENCE} for a in payload.get("Attachments", [])]}


def problem(xml: bytes) -> tuple[str, str]:
    with pytest.raises(EdXMLError) as caught:
        edxml.read_document(xml)
    first = caught.value.problems[0]
    return first.field, first.rule


def test_a_package_of_the_standards_shape_becomes_a_message_and_comes_back_with_every_field():
    original = SAMPLE.read_bytes()
    package = edxml.read_document(original)
    payload = package.payload
    assert payload["From"]["OrganId"] == "000.00.10.H22" and [t["OrganId"] for t in payload["To"]] == [
        "000.00.01.H22", "000.00.13.H22"]
    assert payload["DocumentId"] == "000.00.10.H22,2023/08/28,123/STTTT-CĐS"
    assert payload["TraceHeaderList"]["Bussiness"] == {
        "BussinessDocType": 0, "BussinessDocReason": "Văn bản điện tử mới", "Paper": 0,
        "StaffInfo": {"Department": "Văn phòng Sở", "Staff": "Trần Thị Bình", "Mobile": "0905000000",
                      "Email": "vanthu@binhdinh.gov.vn"}}
    assert payload["ToPlaces"] == ["Như trên", "Lưu: VT, CĐS"]
    (attachment,) = payload["Attachments"]
    assert attachment["ContentId"] == "8c1f6a2e-5b7d-4f3a-9e21-0d4c7b9a1f20" and attachment["Size"] == len(
        package.contents[attachment["ContentId"]])

    written = edxml.write_document(referenced(payload), package.contents)
    again = edxml.read_document(written)
    assert again.payload == payload and again.contents == package.contents
    # Every element of the original with its text is in the written package, whatever the order of siblings.
    assert sorted(leaves(written)) == sorted(leaves(original))


def test_the_hubs_reference_replaces_the_content_and_is_not_edxml():
    package = edxml.read_document(SAMPLE.read_bytes())
    written = edxml.write_document(referenced(package.payload), package.contents)
    assert REFERENCE.encode() not in written
    encoded = ET.fromstring(written).find(f"{{{NS}}}AttachmentEncoded/{{{NS}}}Attachment/{{{NS}}}ContentTransferEncoded")
    assert base64.b64decode(encoded.text) == next(iter(package.contents.values()))


def test_a_status_package_round_trips():
    status = {"From": {"OrganId": "000.00.01.H22", "OrganName": "Sở Tư pháp"},
              "ResponseFor": {"OrganId": "000.00.10.H22", "Code": "123/STTTT-CĐS", "PromulgationDate": "2023/08/28",
                              "DocumentId": "000.00.10.H22,2023/08/28,123/STTTT-CĐS"},
              "StatusCode": "06", "Description": "Đã xử lý xong", "Timestamp": "2023/09/04 10:15:00",
              "StaffInfo": {"Department": "Văn phòng", "Staff": "Lê Văn Cường"}}
    assert edxml.read_status(edxml.write_status(status)) == status
    with pytest.raises(EdXMLError) as caught:
        edxml.read_status(edxml.write_status({**status, "StatusCode": "07"}))
    assert (caught.value.problems[0].field, caught.value.problems[0].rule) == ("Status/StatusCode", "enum")


@pytest.mark.parametrize("change, where, rule", [
    (lambda x: x.replace(b"</edXML>", b""), "edXML", "wellFormed"),
    (lambda x: x.replace(b"<edXML:Subject>", b"<edXML:Sbuject>").replace(b"</edXML:Subject>", b"</edXML:Sbuject>"),
     "MessageHeader/Sbuject", "unknownElement"),
    (lambda x: x.replace(b"<edXML:OrganId>000.00.10.H22</edXML:OrganId>", b"<edXML:OrganId>H22</edXML:OrganId>", 1),
     "MessageHeader/From/OrganId", "pattern"),
    (lambda x: x.replace(b"<edXML:Priority>1</edXML:Priority>", b"<edXML:Priority>high</edXML:Priority>"),
     "MessageHeader/OtherInfo/Priority", "integer"),
    (lambda x: x.replace(b"<edXML:Paper>0</edXML:Paper>", b"<edXML:Paper>2</edXML:Paper>"),
     "edXMLHeader/TraceHeaderList/Bussiness/Paper", "enum"),
    (lambda x: x.replace(b"<edXML:DocumentId>000.00.10.H22,2023/08/28,", b"<edXML:DocumentId>000.00.10.H22;"),
     "MessageHeader/DocumentId", "pattern"),
    (lambda x: x.replace("<edXML:Subject>V/v báo cáo kết quả kết nối các hệ thống thông tin qua LGSP</edXML:Subject>"
                         .encode(), b""), "MessageHeader/Subject", "required"),
    (lambda x: x.replace(b"<ContentId>8c1f", b"<ContentId>9c1f"), "edXMLManifest/Reference[1]", "attachmentEncoded"),
    (lambda x: x.replace(b"<ContentTransferEncoded>", b"<ContentTransferEncoded>*"),
     "AttachmentEncoded/Attachment[8c1f6a2e-5b7d-4f3a-9e21-0d4c7b9a1f20]/ContentTransferEncoded", "base64"),
    (lambda x: x.replace(b"<edXML:TraceHeaderList>", b"<edXML:TraceHeaderLis>").replace(
        b"</edXML:TraceHeaderList>", b"</edXML:TraceHeaderLis>"), "edXMLHeader/TraceHeaderList", "required"),
])
def test_a_package_that_breaks_a_rule_is_refused_naming_the_element(change, where, rule):
    assert problem(change(SAMPLE.read_bytes())) == (where, rule)


@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
])
def test_entities_and_external_references_are_refused_not_expanded(doctype):
    xml = SAMPLE.read_bytes().replace(b"<edXML xmlns", doctype + b"<edXML xmlns", 1)
    xml = xml.replace(b"<edXML:Subject>", b"<edXML:Subject>&b;&x;")
    assert problem(xml) == ("edXML", "noDTD")


def test_the_senders_signature_verifies_and_catches_a_changed_header_or_file():
    key = SigningKey.generate()
    keys = {"000.00.10.H22": key.verify_key}
    signed = signature.sign(SAMPLE.read_bytes(), key, "000.00.10.H22")
    assert signature.verify(signed, keys) is None
    # Through the hub and back: the receiver's package is written again from the message.
    package = edxml.read_document(signed)
    rewritten = edxml.write_document(referenced(package.payload), package.contents)
    assert signature.verify(rewritten, keys) is None

    assert "changed" in signature.verify(signed.replace(b"V/v b", b"V/v B"), keys)
    content = base64.b64encode(next(iter(package.contents.values()))).decode()
    tampered = signed.replace(content.encode(), base64.b64encode(b"another file").decode().encode())
    assert "changed" in signature.verify(tampered, keys)
    assert "not verify" in signature.verify(signed, {"000.00.10.H22": SigningKey.generate().verify_key})
    assert "no key" in signature.verify(signed, {})
    assert signature.verify(SAMPLE.read_bytes(), keys) == "the package is not signed"


def test_a_package_signed_by_another_agency_than_its_sender_does_not_verify():
    impostor = SigningKey.generate()
    keys = {"000.00.10.H22": SigningKey.generate().verify_key, "000.00.13.H22": impostor.verify_key}
    forged = signature.sign(SAMPLE.read_bytes(), impostor, "000.00.13.H22")  # From says 000.00.10.H22
    assert signature.verify(forged, keys) == "signed by '000.00.13.H22', not by the sender 000.00.10.H22"


@pytest.mark.parametrize("carried, rule", [
    ('<!DOCTYPE s [<!ENTITY a "aaaa">]><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">&a;'
     '</ds:Signature>', "noDTD"),
    ('<edXML:MessageHeader xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>', "signature"),
])
def test_the_signature_a_message_carries_is_parsed_hardened_and_must_be_one(carried, rule):
    package = edxml.read_document(SAMPLE.read_bytes())
    with pytest.raises(EdXMLError) as caught:
        edxml.write_document({**referenced(package.payload), "DigitalSignature": carried}, package.contents)
    assert (caught.value.problems[0].field, caught.value.problems[0].rule) == ("edXMLHeader/ds:Signature", rule)


def test_a_broken_attachment_entry_is_named_by_its_manifest_reference():
    broken = SAMPLE.read_bytes().replace(b"<edXML:AttachmentName>123-STTTT-CDS.pdf</edXML:AttachmentName>", b"")
    assert problem(broken) == ("edXMLBody/edXMLManifest/Reference[1]/AttachmentName", "required")
