"""The Kafka admin requests aiokafka has no method for: SCRAM credentials (KIP-554) and ACLs in bulk.

aiokafka negotiates the version with the broker and frames the request; these classes only describe the
wire format, as Kafka's JSON message definitions (`clients/src/main/resources/common/message/`) give it.
"""

from __future__ import annotations

from enum import IntEnum

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    String,
    TaggedFields,
)


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class Pattern(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10
    IDEMPOTENT_WRITE = 12


ALLOW = 3
ANY_PERMISSION = 1
SCRAM_SHA_512 = 2  # the mechanism's code in AlterUserScramCredentials


# --- AlterUserScramCredentials (API key 51) ---------------------------------------------------------
class AlterScramResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), ("error_code", Int16),
                                 ("error_message", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterScramRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterScramResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        ("upsertions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("iterations", Int32),
                                    ("salt", CompactBytes), ("salted_password", CompactBytes),
                                    ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterScram(Request[AlterScramRequest_v0]):
    API_KEY = 51

    def __init__(self, deletions: list[str], upsertions: list[tuple[str, int, bytes, bytes]]) -> None:
        self._deletions = [(name, SCRAM_SHA_512, {}) for name in deletions]
        self._upsertions = [(name, SCRAM_SHA_512, iterations, salt, salted, {})
                            for name, iterations, salt, salted in upsertions]

    def build(self, request_struct_class: type[AlterScramRequest_v0]) -> AlterScramRequest_v0:
        return request_struct_class(self._deletions, self._upsertions, {})


# --- CreateAcls / DeleteAcls (API keys 30, 31), version 1: many bindings in one request --------------
Binding = tuple[Resource, str, Pattern, str, Operation]  # resource type, name, pattern, principal, operation


class CreateAclsResponse_v1(Response):
    API_KEY = 30
    API_VERSION = 1
    SCHEMA = Schema(("throttle_time_ms", Int32),
                    ("results", Array(("error_code", Int16), ("error_message", String("utf-8")))))


class CreateAclsRequest_v1(RequestStruct):
    API_KEY = 30
    API_VERSION = 1
    RESPONSE_TYPE = CreateAclsResponse_v1
    SCHEMA = Schema(("creations", Array(
        ("resource_type", Int8), ("resource_name", String("utf-8")), ("pattern_type", Int8),
        ("principal", String("utf-8")), ("host", String("utf-8")), ("operation", Int8), ("permission", Int8))))


class CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, bindings: list[Binding]) -> None:
        self._creations = [(int(kind), name, int(pattern), principal, "*", int(operation), ALLOW)
                           for kind, name, pattern, principal, operation in bindings]

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


class DeleteAclsResponse_v1(Response):
    API_KEY = 31
    API_VERSION = 1
    SCHEMA = Schema(("throttle_time_ms", Int32), ("results", Array(
        ("error_code", Int16), ("error_message", String("utf-8")),
        ("matches", Array(("error_code", Int16), ("error_message", String("utf-8")), ("resource_type", Int8),
                          ("resource_name", String("utf-8")), ("pattern_type", Int8), ("principal", String("utf-8")),
                          ("host", String("utf-8")), ("operation", Int8), ("permission", Int8))))))


class DeleteAclsRequest_v1(RequestStruct):
    API_KEY = 31
    API_VERSION = 1
    RESPONSE_TYPE = DeleteAclsResponse_v1
    SCHEMA = Schema(("filters", Array(
        ("resource_type", Int8), ("resource_name", String("utf-8")), ("pattern_type", Int8),
        ("principal", String("utf-8")), ("host", String("utf-8")), ("operation", Int8), ("permission", Int8))))


class DeleteAclsOf(Request[DeleteAclsRequest_v1]):
    """Every ACL of the given principals, whatever the resource."""

    API_KEY = 31

    def __init__(self, principals: list[str]) -> None:
        self._filters = [(1, None, int(Pattern.ANY), principal, None, int(Operation.ANY), ANY_PERMISSION)
                         for principal in principals]  # resource type 1: ANY

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._filters)
