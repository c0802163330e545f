"""edXML (QCVN 102:2016/BTTTT, amended by Circular 01/2022/TT-BTTTT) to the hub's messages and back.

An agency's document-management system speaks edXML; the hub routes `document.sent` and `document.status`
(schemas/document.*). The contract is the map: each payload member is the edXML element of its name, an
object member an element with children, an array of objects the element repeated (`To`, `ResponseFor`,
`TraceHeader`), an array of strings a container of one child each (`ToPlaces/Place`, `Appendixes/Appendix`).
So the schema is the one home of the fields, and a field added to it travels both ways. The package's
parts outside the message header are placed by hand: `TraceHeaderList`, the sender's `ds:Signature` (kept as
its canonical XML text) and the attachments (manifest `Reference`s in the body, their content base64 in
`AttachmentEncoded`, which the message replaces by the hub's reference).

Parsing is hardened (defusedxml): a DTD, an entity or an external reference is refused, not expanded. A
package that breaks a rule raises `EdXMLError`, whose problems name the element and the rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import defusedxml
import orjson
from defusedxml.ElementTree import fromstring

from hub.core.errors import HubError
from hub.core.rejection import FieldError
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
XLINK = "http://www.w3.org/1999/xlink"
for prefix, uri in (("edXML", NS), ("ds", DS), ("xlink", XLINK)):
    ET.register_namespace(prefix, uri)

SENT, STATUS = "document.sent", "document.status"
CONTAINED = {"ToPlaces": "Place", "Appendixes": "Appendix"}  # array of strings → container of these children
OUTSIDE_HEADER = ("TraceHeaderList", "DigitalSignature", "Attachments")  # document.sent members placed by hand
ATTACHMENT_PARTS = ("ContentId", "ContentType", "AttachmentName", "Description")  # in edXML's manifest
UNREFERENCED = "lgsp-att-" + "0" * 32  # stands for the hub's reference until the content is uploaded


class EdXMLError(HubError, ValueError):
    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message} ({p.rule})" for p in problems))
        self.problems = problems


@dataclass
class Package:
    """A `document.sent` payload read from edXML, and the attachments' content by ContentId."""

    payload: dict[str, Any]
    contents: dict[str, bytes] = field(default_factory=dict)


@cache
def schema(type: str) -> dict[str, Any]:
    return orjson.loads((bundled_schemas_dir() / type / "v1.json").read_bytes())


# --- reading -------------------------------------------------------------------------------------------


def read_document(xml: bytes) -> Package:
    """A document package as a `document.sent` payload (its attachments' `Reference` still to be filled)."""
    root = _root(xml)
    header = _one(root, ("edXMLEnvelope", "edXMLHeader"), "edXML")
    message = _one(header, ("MessageHeader",), "edXMLHeader")
    sent = schema(SENT)
    payload = _object(message, _header_schema(sent), sent, "MessageHeader")
    payload["TraceHeaderList"] = _object(_one(header, ("TraceHeaderList",), "edXMLHeader"),
                                         sent["properties"]["TraceHeaderList"], sent, "TraceHeaderList")
    signature = header.find(f"{{{DS}}}Signature")
    if signature is not None:
        payload["DigitalSignature"] = ET.canonicalize(ET.tostring(signature, encoding="unicode"))
    attachments, contents = _attachments(root)
    if attachments:
        payload["Attachments"] = attachments
    _check(SENT, {**payload, "Attachments": [{**a, "Reference": UNREFERENCED} for a in attachments]}
           if attachments else payload)
    return Package(payload, contents)


def read_status(xml: bytes) -> dict[str, Any]:
    """A status package as a `document.status` payload."""
    status = _one(_root(xml), ("edXMLEnvelope", "edXMLHeader", "Status"), "edXML")
    payload = _object(status, schema(STATUS), schema(STATUS), "Status")
    _check(STATUS, payload)
    return payload


def _root(xml: bytes) -> ET.Element:
    root = _parsed(xml, "edXML")
    if root.tag != f"{{{NS}}}edXML":
        raise _error(_name(root.tag), "root", f"the root must be edXML in namespace {NS}")
    return root


def _parsed(xml: bytes, where: str) -> ET.Element:
    try:
        return fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ET.ParseError as exc:
        raise _error(where, "wellFormed", f"not well-formed XML: {exc}") from exc
    except defusedxml.DefusedXmlException as exc:
        raise _error(where, "noDTD", f"refused: {exc} (a package carries no DTD, entity or external reference)") from exc


def _one(parent: ET.Element, path: tuple[str, ...], where: str) -> ET.Element:
    for name in path:
        found = parent.findall(f"{{{NS}}}{name}")
        if len(found) != 1:
            raise _error(f"{where}/{name}", "required" if not found else "once",
                         f"{name} must appear once in {where}, found {len(found)}")
        parent, where = found[0], f"{where}/{name}"
    return parent


def _object(element: ET.Element, node: dict[str, Any], root: dict[str, Any], where: str) -> dict[str, Any]:
    properties = _resolved(node, root).get("properties", {})
    result: dict[str, Any] = {}
    for child in element:
        name = _name(child.tag)
        if not child.tag.startswith(f"{{{NS}}}") or name not in properties:
            raise _error(f"{where}/{name}", "unknownElement", f"{name} is not an element of {where} in this contract")
        member = _resolved(properties[name], root)
        here = f"{where}/{name}"
        if member.get("type") == "array":
            result.setdefault(name, []).extend(_items(child, member, root, here))
        elif name in result:
            raise _error(here, "once", f"{name} appears more than once")
        else:
            result[name] = _value(child, member, root, here)
    return result


def _items(element: ET.Element, node: dict[str, Any], root: dict[str, Any], where: str) -> list[Any]:
    item = _resolved(node["items"], root)
    name = _name(element.tag)
    if name not in CONTAINED:
        return [_value(element, item, root, where)]
    return [_value(child, item, root, f"{where}/{_name(child.tag)}") for child in element
            if _expected(child, CONTAINED[name], where)]


def _expected(child: ET.Element, name: str, where: str) -> bool:
    if child.tag != f"{{{NS}}}{name}":
        raise _error(f"{where}/{_name(child.tag)}", "unknownElement", f"{where} holds only {name} elements")
    return True


def _value(element: ET.Element, node: dict[str, Any], root: dict[str, Any], where: str) -> Any:
    if node.get("type") == "object":
        return _object(element, node, root, where)
    text = (element.text or "").strip()
    if node.get("type") == "integer":
        if not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise _error(where, "integer", f"must be a whole number, got {text[:40]!r}")
        return int(text)
    return text


def _attachments(root: ET.Element) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    manifest = root.findall(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLBody/{{{NS}}}edXMLManifest/{{{NS}}}Reference")
    encoded = {_cid(_text(a, "ContentId")): a for a in root.findall(f"{{{NS}}}AttachmentEncoded/{{{NS}}}Attachment")}
    attachments, contents = [], {}
    for n, reference in enumerate(manifest, 1):
        where = f"edXMLManifest/Reference[{n}]"
        entry = {part: _cid(text) if part == "ContentId" else text
                 for part in ATTACHMENT_PARTS if (text := _text(reference, part)) is not None}
        content = encoded.get(entry.get("ContentId", ""))
        if content is None:
            raise _error(where, "attachmentEncoded", "no AttachmentEncoded/Attachment has this ContentId")
        try:
            data = base64.b64decode(_text(content, "ContentTransferEncoded") or "", validate=True)
        except binascii.Error as exc:
            raise _error(f"AttachmentEncoded/Attachment[{entry['ContentId']}]/ContentTransferEncoded", "base64",
                         f"not base64: {exc}") from exc
        contents[entry["ContentId"]] = data
        attachments.append({**entry, "SHA256": hashlib.sha256(data).hexdigest(), "Size": len(data)})
    return attachments, contents


def _text(element: ET.Element, name: str) -> str | None:
    child = element.find(f"{{{NS}}}{name}")
    return None if child is None else (child.text or "").strip()


def _cid(text: str | None) -> str:
    return (text or "").removeprefix("cid:")


def _check(type: str, payload: dict[str, Any]) -> None:
    """The contract's rules, named by element: what the hub would refuse is refused at the edge."""
    problems = _registry().validate(type, 1, payload)
    if problems:
        raise EdXMLError([FieldError(_element_path(type, p.field), p.rule, p.message) for p in problems])


@cache
def _registry() -> SchemaRegistry:
    return SchemaRegistry.from_dirs(bundled_schemas_dir())


def _element_path(type: str, payload_field: str) -> str:
    """`payload.To[0].OrganId` → `MessageHeader/To[1]/OrganId`: where the rule broke, in the package."""
    parts = re.sub(r"\[([0-9]+)\]", lambda m: f"[{int(m.group(1)) + 1}]", payload_field).split(".")[1:]
    head = parts[0].split("[")[0] if parts else ""
    if type == STATUS:
        return "/".join(["Status", *parts])
    if head == "Attachments":  # the manifest's Reference of the same rank
        return "/".join(["edXMLBody/edXMLManifest", parts[0].replace("Attachments", "Reference"), *parts[1:]])
    if head == "DigitalSignature":
        return "edXMLHeader/ds:Signature"
    return "/".join(["edXMLHeader" if head == "TraceHeaderList" else "MessageHeader", *parts])


# --- writing -------------------------------------------------------------------------------------------


def write_document(payload: dict[str, Any], contents: dict[str, bytes] | None = None) -> bytes:
    """A `document.sent` payload as an edXML package, with its attachments' content base64 (by ContentId)."""
    sent = schema(SENT)
    root, header = _envelope()
    header_node = _header_schema(sent)
    _put(header, "MessageHeader", {k: v for k, v in payload.items() if k not in OUTSIDE_HEADER}, header_node, sent)
    _put(header, "TraceHeaderList", payload["TraceHeaderList"], sent["properties"]["TraceHeaderList"], sent)
    if "DigitalSignature" in payload:
        header.append(_signature_element(payload["DigitalSignature"]))
    attachments = payload.get("Attachments", [])
    body = ET.SubElement(root.find(f"{{{NS}}}edXMLEnvelope"), f"{{{NS}}}edXMLBody")
    manifest = ET.SubElement(body, f"{{{NS}}}edXMLManifest", version="1.0")
    for attachment in attachments:
        _reference(manifest, attachment)
    if attachments:
        encoded = ET.SubElement(root, f"{{{NS}}}AttachmentEncoded")
        for attachment in attachments:
            _encoded(encoded, attachment, (contents or {})[attachment["ContentId"]])
    return _serialised(root)


def _signature_element(text: str) -> ET.Element:
    """The sender's ds:Signature, from the message: parsed as hardened as a package, and nothing else."""
    element = _parsed(text.encode(), "edXMLHeader/ds:Signature")
    if element.tag != f"{{{DS}}}Signature":
        raise _error("edXMLHeader/ds:Signature", "signature", f"DigitalSignature must be a ds:Signature, not {element.tag}")
    return element


def write_status(payload: dict[str, Any]) -> bytes:
    root, header = _envelope()
    _put(header, "Status", payload, schema(STATUS), schema(STATUS))
    return _serialised(root)


def _envelope() -> tuple[ET.Element, ET.Element]:
    root = ET.Element(f"{{{NS}}}edXML")
    envelope = ET.SubElement(root, f"{{{NS}}}edXMLEnvelope")
    return root, ET.SubElement(envelope, f"{{{NS}}}edXMLHeader")


def _put(parent: ET.Element, name: str, value: Any, node: dict[str, Any], root: dict[str, Any]) -> None:
    node = _resolved(node, root)
    if node.get("type") == "array":
        item = _resolved(node["items"], root)
        if name in CONTAINED:
            container = ET.SubElement(parent, f"{{{NS}}}{name}")
            for text in value:
                _put(container, CONTAINED[name], text, item, root)
        else:
            for each in value:
                _put(parent, name, each, item, root)
        return
    element = ET.SubElement(parent, f"{{{NS}}}{name}")
    if node.get("type") != "object":
        element.text = str(value)
        return
    for member, child in node.get("properties", {}).items():  # the contract's order
        if member in value:
            _put(element, member, value[member], child, root)


def _reference(manifest: ET.Element, attachment: dict[str, Any]) -> None:
    reference = ET.SubElement(manifest, f"{{{NS}}}Reference", {
        f"{{{XLINK}}}href": f"cid:{attachment['ContentId']}", f"{{{XLINK}}}type": "simple"})
    for part in ATTACHMENT_PARTS:
        if part in attachment:
            text = f"cid:{attachment[part]}" if part == "ContentId" else attachment[part]
            ET.SubElement(reference, f"{{{NS}}}{part}").text = text


def _encoded(encoded: ET.Element, attachment: dict[str, Any], data: bytes) -> None:
    element = ET.SubElement(encoded, f"{{{NS}}}Attachment")
    for part, text in (("ContentType", attachment["ContentType"]), ("ContentId", attachment["ContentId"]),
                       ("Description", attachment.get("Description")),
                       ("ContentTransferEncoded", base64.b64encode(data).decode()),
                       ("AttachmentName", attachment["AttachmentName"])):
        if text is not None:
            ET.SubElement(element, f"{{{NS}}}{part}").text = text


def _serialised(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- the contract --------------------------------------------------------------------------------------


def _header_schema(sent: dict[str, Any]) -> dict[str, Any]:
    """document.sent without the members outside edXML's MessageHeader."""
    return {"type": "object",
            "properties": {k: v for k, v in sent["properties"].items() if k not in OUTSIDE_HEADER}}


def _resolved(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _error(where: str, rule: str, message: str) -> EdXMLError:
    return EdXMLError([FieldError(where, rule, message)])
