"""The sending agency's signature on an edXML package: an enveloped `ds:Signature` in edXMLHeader.

XML Signature with Ed25519 (RFC 9231's URI) over C14N 2.0 with trimmed text nodes and sequential prefixes
(ElementTree's `canonicalize(strip_text=True, rewrite_prefixes=True)`), so a package pretty-printed or
re-prefixed on the way still verifies. One reference covers the envelope without the signature (the
message header, the trace and the attachments' manifest), one per attachment its content (`cid:` URIs), so
neither the header nor a file can change unseen. The key is named by the agency code (`KeyName`); where a
province's agencies sign with certificates of the government CA, `keys` would be read from them.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from province.connectors.eoffice.edxml import DS, NS, read_document

C14N2 = "http://www.w3.org/2010/xml-c14n2"
ED25519 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def sign(xml: bytes, key: SigningKey, agency: str) -> bytes:
    """`xml` (a package this side wrote) with the agency's signature added to its header."""
    root = ET.fromstring(xml)
    header = root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader")
    signed_info = _signed_info(root, read_document(xml).contents)
    signature = ET.SubElement(header, f"{{{DS}}}Signature")
    signature.append(signed_info)
    ET.SubElement(signature, f"{{{DS}}}SignatureValue").text = base64.b64encode(
        key.sign(_canonical(signed_info)).signature).decode()
    ET.SubElement(ET.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}KeyName").text = agency
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def verify(xml: bytes, keys: Mapping[str, VerifyKey]) -> str | None:
    """None when the package is signed by the agency its From names, under that agency's key; else what is
    wrong. Raises edxml.EdXMLError for a package that breaks the contract."""
    package = read_document(xml)  # hardened: what passes it, ElementTree may read again
    root = ET.fromstring(xml)
    header = root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader")
    signature = header.find(f"{{{DS}}}Signature")
    if signature is None:
        return "the package is not signed"
    header.remove(signature)
    agency, sender = signature.findtext(f"{{{DS}}}KeyInfo/{{{DS}}}KeyName", ""), package.payload["From"]["OrganId"]
    if agency != sender:
        return f"signed by {agency!r}, not by the sender {sender}"
    if agency not in keys:
        return f"no key known for {agency!r}"
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    if signed_info is None or _canonical(_signed_info(root, package.contents)) != _canonical(signed_info):
        return "the header or an attachment changed since it was signed"
    try:
        keys[agency].verify(_canonical(signed_info), base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue", "")))
    except (BadSignatureError, ValueError):
        return f"the signature does not verify under {agency}'s key"
    return None


def _signed_info(root: ET.Element, contents: Mapping[str, bytes]) -> ET.Element:
    signed_info = ET.Element(f"{{{DS}}}SignedInfo")
    ET.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N2)
    ET.SubElement(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=ED25519)
    _reference(signed_info, "", _canonical(root.find(f"{{{NS}}}edXMLEnvelope")), enveloped=True)
    for content_id, data in contents.items():
        _reference(signed_info, f"cid:{content_id}", data)
    return signed_info


def _reference(signed_info: ET.Element, uri: str, data: bytes, enveloped: bool = False) -> None:
    reference = ET.SubElement(signed_info, f"{{{DS}}}Reference", URI=uri)
    if enveloped:
        transforms = ET.SubElement(reference, f"{{{DS}}}Transforms")
        ET.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=ENVELOPED)
        ET.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=C14N2)
    ET.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    ET.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(hashlib.sha256(data).digest()).decode()


def _canonical(element: ET.Element) -> bytes:
    return ET.canonicalize(ET.tostring(element, encoding="unicode"), strip_text=True,
                           rewrite_prefixes=True).encode()
