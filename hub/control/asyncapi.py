"""Every contract of one hub as an AsyncAPI 3.0.0 document: its topics, the connectors' operations on them and each
message type's JSON Schema, built from the topics, the schema registry and the directory (`GET /v1/asyncapi.json`).

A message is the whole Kafka record: its value is the envelope, so a message's payload is the envelope's schema
with `type` and `version` fixed and `payload` the type's schema; a vendor writes and reads exactly that.
Schemas are in AsyncAPI's own schema format, JSON Schema draft-07 with `x-` extensions: the registry's schemas
declare 2020-12 but use only keywords that mean the same in draft-07, the hub's own keywords (`x-personal-id`,
`x-birth-year-matches`) are such extensions, and AsyncAPI tools read no 2020-12. AsyncAPI resolves `$ref` against
the document, not a schema's `$id`: a schema's local references are rewritten to where it sits here, and its `$id`
(kept as the message's `x-schema-id`) and `$schema` left out. `GET /v1/schemas/...` serves each as registered.

`lgsp.decisions` is left out: the hub writes it for its own message log, and no connector reads or writes it.
"""

from __future__ import annotations

from typing import Any, get_args

from hub.bus.topics import Topics
from hub.core.credentials import CREDENTIAL_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import Envelope
from hub.core.rejection import DEAD_LETTER_PREFIX, Stage
from hub.core.schemas.registry import SchemaRegistry

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
INGRESS = "ingress"


def document(topics: Topics, schemas: SchemaRegistry, directory: Directory, *, bootstrap_servers: str,
             api_url: str, version: str) -> dict[str, Any]:
    """`api_url`: the hub's HTTP address, which links each message to its schema as registered."""
    connectors = [spec for _, spec in sorted(directory.connectors.items())]
    messages = _messages(schemas, directory, api_url.rstrip("/"))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "lgsp-hub", "version": version, "description": _DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": _servers(bootstrap_servers),
        "channels": _channels(topics, schemas, connectors),
        "operations": _operations(topics, schemas, connectors),
        "components": {"schemas": _schemas(schemas), "messages": messages,
                       "messageTraits": {"signed": _signed_trait()}},
    }


_DESCRIPTION = (
    "The message contracts of a provincial integration hub (LGSP). A connector publishes envelopes to the ingress "
    "topic, signed with its credential in record headers; the hub checks each against its type's schema and the "
    "sender's grants and delivers it to the inbox of every connector that receives the type (or the one named as "
    "`target`), with the same bytes, key and headers. A refused message goes to the dead-letter topic. A service's "
    "reply is an envelope whose `correlation_id` is the request's `id`, addressed to the caller (`target`).")


def message_name(type: str, version: int) -> str:
    return f"{type}.v{version}"


def _inbox(connector_id: str) -> str:
    return f"inbox-{connector_id}"


def _servers(bootstrap_servers: str) -> dict[str, Any]:
    hosts = [host.strip() for host in bootstrap_servers.split(",") if host.strip()]
    return {f"kafka-{n}": {"host": host, "protocol": "kafka", "description": "A bootstrap server of the hub's broker."}
            for n, host in enumerate(hosts, 1)}


# Schemas ---------------------------------------------------------------------------------------------------------

def _schemas(schemas: SchemaRegistry) -> dict[str, Any]:
    contracts = {message_name(type, version): _relocated(schemas.schema(type, version), message_name(type, version))
                 for type in schemas.types() for version in schemas.versions(type)}
    return {"Envelope": Envelope.model_json_schema(), **contracts, **_hub_records()}


def _relocated(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema as it sits at components/schemas/<name>: local `$ref`s point there, `$id`/`$schema` left out."""
    copy = {key: value for key, value in schema.items() if key not in ("$id", "$schema")}
    return _rewrite_refs(copy, f"#/components/schemas/{name}")


def _rewrite_refs(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        return {key: (base + value[1:] if key == "$ref" and isinstance(value, str) and value.startswith("#")
                      else _rewrite_refs(value, base)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item, base) for item in node]
    return node


def _hub_records() -> dict[str, Any]:
    """The records of the hub's own topics, as hub/control/registration.py and hub/sdk/connector.py write them."""
    return {
        "ControlState": {"type": "object", "required": ["connector", "paused"], "properties": {
            "connector": {"type": "string", "description": "The connector told (also the record key)."},
            "paused": {"type": "boolean", "description": "Whether the operator paused it: a paused connector "
                       "stops reading its inbox."}}},
        "Heartbeat": {"type": "object", "required": ["connector", "at", "state"], "properties": {
            "connector": {"type": "string", "description": "The connector (also the record key); it signs."},
            "at": {"type": "number", "description": "Unix time in seconds."},
            "state": {"type": "string", "enum": ["RUNNING", "PAUSED", "FAILED"]},
            **{name: {"type": "integer", "minimum": 0} for name in ("handled", "duplicates", "failed", "published")},
            "last_error": {"type": ["string", "null"]}}},
    }


# Messages --------------------------------------------------------------------------------------------------------

def _messages(schemas: SchemaRegistry, directory: Directory, api_url: str) -> dict[str, Any]:
    roles = _service_roles(directory)
    typed = {message_name(type, version): _message(type, version, schemas.schema(type, version), roles.get(type),
                                                   f"{api_url}/v1/schemas/{type}/versions/{version}")
             for type in schemas.types() for version in schemas.versions(type)}
    return {**typed, **_hub_messages()}


def _service_roles(directory: Directory) -> dict[str, str]:
    roles: dict[str, str] = {}
    for spec in directory.connectors.values():
        for service in spec.serves:
            roles.setdefault(service.request, "request")
            roles.setdefault(service.reply, "reply")
    return roles


def _message(type: str, version: int, schema: dict[str, Any], role: str | None, schema_url: str) -> dict[str, Any]:
    message = {
        "name": message_name(type, version),  # one per version: code generators name a class after it
        "title": f"{type} v{version}",
        "contentType": "application/json",
        "payload": {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {"type": "object", "properties": {
            "type": {"const": type}, "version": {"const": version},
            "payload": {"$ref": f"#/components/schemas/{message_name(type, version)}"}}}]},
        "traits": [{"$ref": "#/components/messageTraits/signed"}],
        "externalDocs": {"description": "The JSON Schema as registered", "url": schema_url},
    }
    if "description" in schema:
        message["summary"] = schema["description"]
    if "$id" in schema:
        message["x-schema-id"] = schema["$id"]
    if role is not None:  # a service's reply carries its request's id; a request is known by its own
        message["correlationId"] = _CORRELATION[role]
    return message


_CORRELATION = {
    "request": {"description": "The request's envelope id: its reply carries it as `correlation_id`.",
                "location": "$message.payload#/id"},
    "reply": {"description": "The id of the request it answers.", "location": "$message.payload#/correlation_id"},
}


_SEAL_HEADERS = {
    CREDENTIAL_HEADER: {"type": "string", "description": "The id of the sender's credential."},
    SIGNATURE_HEADER: {"type": "string", "description": "Ed25519 signature (or HMAC-SHA256) under that credential "
                       "of `lgsp-signed-at:<lgsp.signed-at>\\n` followed by the exact record value, base64url "
                       "without padding."},
    SIGNED_AT_HEADER: {"type": "string", "pattern": "^[0-9]{1,12}$", "description": "When the signature was made, "
                       "Unix seconds: refused when older than LGSP_SIGNATURE_MAX_AGE_SECONDS (300 s by default)."},
}


def _signed_trait() -> dict[str, Any]:
    """What every record to the hub carries: its signature in headers, its ordering key as the Kafka key."""
    return {
        "headers": {"type": "object", "required": [CREDENTIAL_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER],
                    "properties": _SEAL_HEADERS},
        "bindings": {"kafka": {"key": {"type": "string", "maxLength": 256, "description": "The envelope's `key` "
                                       "(per-key order is kept); absent when it has none."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _hub_messages() -> dict[str, Any]:
    connector_key = {"kafka": {"key": {"type": "string", "description": "The connector id."},
                               "bindingVersion": KAFKA_BINDING_VERSION}}
    return {
        "control": {"name": "control", "title": "Desired state", "contentType": "application/json",
                    "payload": {"$ref": "#/components/schemas/ControlState"}, "bindings": connector_key},
        "heartbeat": {"name": "heartbeat", "title": "Heartbeat", "contentType": "application/json",
                      "payload": {"$ref": "#/components/schemas/Heartbeat"},
                      "headers": _signed_trait()["headers"], "bindings": connector_key},
        "dead-letter": {"name": "dead-letter", "title": "Dead letter",
                        "summary": "A refused or unhandled message: its original bytes and key, why in headers.",
                        "contentType": "application/octet-stream",
                        "payload": {"description": "The record value exactly as received, perhaps not JSON."},
                        "headers": _dead_letter_headers()},
    }


def _dead_letter_headers() -> dict[str, Any]:
    """As hub/core/rejection.py writes them, every one a UTF-8 string."""
    fields = {"stage": "The check it failed (handler: the receiving connector gave up on it).",
              "reason": "Why, in one line.", "errors": "The field errors, a JSON array of {field, rule, message}.",
              "topic": "The topic it was read from.", "partition": "Its partition there.",
              "offset": "Its offset there.", "at": "When it was refused (ISO 8601)."}
    properties = {DEAD_LETTER_PREFIX + name: {"type": "string", "description": text} for name, text in fields.items()}
    properties[DEAD_LETTER_PREFIX + "stage"]["enum"] = list(get_args(Stage))
    return {"type": "object", "required": list(properties), "properties": properties}


# Channels and operations -----------------------------------------------------------------------------------------

def _refs(names: list[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/messages/{name}"} for name in names}


def _versions(schemas: SchemaRegistry, types: list[str]) -> list[str]:
    """Every version's message of the types the registry knows, in order."""
    known = set(schemas.types())
    return [message_name(type, version) for type in sorted(set(types) & known) for version in schemas.versions(type)]


def _channels(topics: Topics, schemas: SchemaRegistry, connectors: list[ConnectorSpec]) -> dict[str, Any]:
    channels = {INGRESS: {"address": topics.ingress, "title": "Ingress",
                          "description": "Every connector publishes here; the hub routes from here.",
                          "messages": _refs(_versions(schemas, schemas.types()))}}
    for spec in connectors:
        channels[_inbox(spec.id)] = {
            "address": topics.inbox(spec.id), "title": f"Inbox of {spec.id}",
            "description": f"What the hub delivers to {spec.name} ({spec.agency}); read in consumer group "
                           f"{topics.connector_group(spec.id)}.",
            "messages": _refs(_versions(schemas, spec.consumes))}
    channels.update({
        "control": {"address": topics.control, "title": "Control", "messages": _refs(["control"]),
                    "description": "The operator's pause and resume, keyed by connector id."},
        "heartbeats": {"address": topics.heartbeats, "title": "Heartbeats", "messages": _refs(["heartbeat"]),
                       "description": "Each connector's liveness and counters, signed, keyed by connector id."},
        "dlq": {"address": topics.dlq, "title": "Dead letters", "messages": _refs(["dead-letter"]),
                "description": "Messages the hub refused and messages a connector's handler gave up on."},
    })
    return channels


def _on(channel: str, names: list[str]) -> dict[str, Any]:
    return {"channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]}


def _operations(topics: Topics, schemas: SchemaRegistry, connectors: list[ConnectorSpec]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for spec in connectors:
        operations.update(_data_operations(topics, schemas, spec))
        operations.update(_service_operations(schemas, spec, connectors))
    operations.update({
        "follow-control": {"action": "receive", **_on("control", ["control"]),
                           "summary": "Every connector follows its desired state (records keyed by its id)."},
        "send-heartbeat": {"action": "send", **_on("heartbeats", ["heartbeat"]),
                           "summary": "Every connector reports its liveness every few seconds."},
        "dead-letter": {"action": "send", **_on("dlq", ["dead-letter"]),
                        "summary": "A connector puts a message its handler cannot handle here, with why."},
    })
    return operations


def _data_operations(topics: Topics, schemas: SchemaRegistry, spec: ConnectorSpec) -> dict[str, Any]:
    operations = {}
    produced, consumed = _versions(schemas, spec.produces), _versions(schemas, spec.consumes)
    if produced:
        operations[f"{spec.id}-publish"] = {"action": "send", "title": f"{spec.id} publishes",
                                            **_on(INGRESS, produced)}
    if consumed:
        operations[f"{spec.id}-receive"] = {
            "action": "receive", "title": f"{spec.id} receives", **_on(_inbox(spec.id), consumed),
            "bindings": {"kafka": {"groupId": {"type": "string", "enum": [topics.connector_group(spec.id)]},
                                   "bindingVersion": KAFKA_BINDING_VERSION}}}
    return operations


def _service_operations(schemas: SchemaRegistry, provider: ConnectorSpec,
                        connectors: list[ConnectorSpec]) -> dict[str, Any]:
    """A service as its provider answers it and as each caller calls it: the request on one channel, the reply
    on the other. The provider's reply goes to ingress (the hub delivers it to the caller, its `target`); a
    caller's reply arrives in its own inbox."""
    operations = {}
    for service in provider.serves:
        requests, replies = _versions(schemas, [service.request]), _versions(schemas, [service.reply])
        if not (requests and replies and service.request in provider.consumes and service.reply in provider.produces):
            continue  # registration refuses such a service; the document never names a message a channel lacks
        about = service.description or f"{service.request} answered with {service.reply}"
        operations[f"{provider.id}-serves-{service.request}"] = {
            "action": "receive", "title": f"{provider.id} answers {service.request}", "summary": about,
            **_on(_inbox(provider.id), requests), "reply": _on(INGRESS, replies),
            # A caller that speaks only HTTP calls it there and waits for the reply (the hub's HTTP edge).
            "x-lgsp-http-call": {"method": "POST", "path": f"/v1/services/{provider.id}/{service.request}"}}
        for caller in _callers(provider, service.request, service.reply, connectors):
            operations[f"{caller.id}-calls-{provider.id}-{service.request}"] = {
                "action": "send", "title": f"{caller.id} calls {provider.id}: {service.request}", "summary": about,
                **_on(INGRESS, requests), "reply": _on(_inbox(caller.id), replies)}
    return operations


def _callers(provider: ConnectorSpec, request: str, reply: str,
             connectors: list[ConnectorSpec]) -> list[ConnectorSpec]:
    """Who may call: they may send the request and receive the reply."""
    return [spec for spec in connectors
            if spec.id != provider.id and request in spec.produces and reply in spec.consumes]
