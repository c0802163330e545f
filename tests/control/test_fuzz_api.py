"""Schemathesis against the hub's own OpenAPI document, over real HTTP to a real `lgsp-hub up` process.

Every operation gets generated requests, valid and invalid (`mode: all`). A 5xx is a bug; a refusal is a
4xx whose body is `{"error": {"code", "message", "details"}}`; answers keep to the documented status codes
and schemas. DELETE and PUT may unregister or pause the connectors registered here: the hub is throwaway.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import ComponentInfo

from hub.control.api import create_app
from hub.core.envelope import encode
from hub.settings import Settings
from hub.testing.samples import dossier_submitted
from tests.support.connectors import MOT_CUA_VERIFYING as MOT_CUA
from tests.support.connectors import NDXP_RECEIPTS as NDXP
from tests.support.hubs import OPERATOR
from tests.support.records import produce

TRIED: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def mot_cua_key(hub_process):
    hub_process.register(NDXP)  # something to route to, to pause, to delete
    return hub_process.register(MOT_CUA)


@pytest.fixture(scope="module")
def hub_url(hub_process, mot_cua_key) -> str:
    return hub_process.url


@pytest.fixture(scope="module", autouse=True)
def report_inputs_tried(request):
    yield
    total = sum(TRIED.values())
    lines = [f"test_fuzz_api: {total} requests over {len(TRIED)} operations; statuses "
             + ", ".join(f"{code}={n}" for code, n in sorted(STATUSES.items()))]
    lines += [f"  {operation}: {n}" for operation, n in sorted(TRIED.items())]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + "\n".join(lines))


# schemathesis.pytest.from_fixture() cannot run on pytest 9 (it sets Node._nodeid, gone in pytest 9.2), so the
# document is built at collection time from the application the hub process serves, and the first test
# checks that the running hub serves exactly this document.
OPENAPI = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=schemathesis.Config.from_dict(
    {"generation": {"mode": "all", "database": "none"}, "request-timeout": 30}))


def test_the_running_hub_serves_the_document_under_test(hub_url):
    assert httpx.get(f"{hub_url}/openapi.json").json() == OPENAPI


STATEFUL_422 = {
    "GET /v1/messages": "correlation_id and key are each optional but one is required; OpenAPI cannot say so",
    "POST /v1/messages": "the body must be signed by its source's credential (403 otherwise), the payload must "
                         "match the JSON Schema of its type and version, registered at run time, and "
                         "source/target must be registered connectors",
    "POST /v1/attachments": "the body must be signed by the uploading connector's credential (403 otherwise), "
                            "its name given in LGSP-Attachment-Name",
    "GET /v1/attachments/{attachment_id}": "the request must be signed by the fetching connector's credential "
                                           "(403 otherwise), and the attachment delivered to it (404 otherwise)",
    "POST /v1/services/{provider}/{type}": "as POST /v1/messages, and the provider must be registered and serve "
                                           "the type, its timeout at most LGSP_SERVICE_TIMEOUT_MAX_SECONDS",
    "POST /v1/connectors/{connector_id}/credentials": "a public key of the right length may still not be a "
                                                      "point of the Ed25519 curve",
    "PUT /v1/connectors/{connector_id}/grants": "produces/consumes must be registered message types",
    "POST /v1/connectors": "produces/consumes must be registered message types, systems in the loaded inventory",
    "PUT /v1/inventory": "rules across fields: agency codes share one province part, system owners are listed "
                         "agencies, the province code is one of birth registration and the name names it",
    "POST /v1/schemas/{type}/versions": "the body must be a valid JSON Schema (draft 2020-12)",
    "POST /v1/schemas/{type}/compatibility": "the body must be a valid JSON Schema (draft 2020-12)",
    "POST /v1/agreements": "provider and consumer must be registered connectors and differ, the types registered, "
                           "each field a member of one of the types' schemas, valid_to after valid_from",
    "PATCH /v1/agreements/{agreement_id}": "as POST /v1/agreements",
    "GET /v1/people/{personal_id}/disclosures": "the personal ID must be well formed: 12 digits, a province code, "
                                                "a century digit and a birth year not in the future",
    "GET /v1/people/{personal_id}/disclosures/page": "as GET /v1/people/{personal_id}/disclosures",
}


@schema.parametrize()
# derandomize: the same requests every run, so a failure reproduces and CI does not hang on the draw
@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_api_never_fails_and_refuses_in_the_error_shape(case, hub_url):
    # positive_data_acceptance is left out where a schema-valid request is refused (422, field and rule) for a
    # reason the OpenAPI document cannot state; everywhere else it applies
    excluded = [schemathesis.checks.positive_data_acceptance] if case.operation.label in STATEFUL_422 else []
    # Where the generated request carries an operator token, it is the real one: otherwise every write would
    # stop at 401. A request generated without one (a negative case) keeps going without, and must get 401.
    if case.headers and "Authorization" in case.headers:
        case.headers["Authorization"] = OPERATOR["Authorization"]
        case.meta.components[ParameterLocation.HEADER] = ComponentInfo(GenerationMode.POSITIVE)  # no longer mutated
    response = case.call_and_validate(base_url=hub_url, excluded_checks=excluded)
    TRIED[case.operation.label] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500 or response.status_code == 503 and case.operation.path == "/v1/health"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert {"code", "message", "details"} <= set(body["error"]), body
        assert isinstance(body["error"]["code"], str) and body["error"]["message"], body


# --- regressions: each was a 500 (or worse) before its fix -------------------------------------------------

def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


def test_unknown_type_with_a_version_number_is_404(hub_url):
    # found by schemathesis: GET /v1/schemas/%C2%8D%F0%96%8F%82.../versions/897 answered 500 (UnknownType escaped)
    error = _error(httpx.get(f"{hub_url}/v1/schemas/no.such.type/versions/3"), 404)
    assert "no.such.type" in error["message"]


@pytest.mark.parametrize("version", ["%C2%B2", "9" * 5000, "%EF%BC%91", "0", "-1", "1.0"])
def test_a_version_that_is_not_a_positive_ascii_integer_is_422(hub_url, version):
    # "²".isdigit() is true but int("²") raises, and int() refuses 5000 digits: both answered 500
    error = _error(httpx.get(f"{hub_url}/v1/schemas/dossier.submitted/versions/{version}"), 422)
    assert "version" in error["message"]


def test_a_deeply_nested_payload_is_refused_and_does_not_stop_the_router(hub_url, hub_process, mot_cua_key):
    # jsonschema-rs raised "Recursion limit reached" at 256 levels: POST answered 500, and the same record on
    # lgsp.ingress raised out of route() and ended the router task (re-delivered on every restart)
    envelope = orjson.loads(encode(dossier_submitted()))
    envelope["payload"]["MaHoSo"] = "\x00deep\x00"
    raw = orjson.dumps(envelope).replace(b'"\\u0000deep\\u0000"', b"[" * 300 + b"]" * 300)
    error = _error(hub_process.publish(raw, mot_cua_key), 422)
    assert error["details"]["stage"] == "schema"
    assert error["details"]["errors"][0]["field"] == "payload.MaHoSo"
    assert error["details"]["errors"][0]["rule"] == "maxDepth"
    marker = str(uuid.uuid4())
    envelope["id"] = marker
    asyncio.run(produce(hub_process.client, hub_process.topics.ingress,
                        [orjson.dumps(envelope).replace(b'"\\u0000deep\\u0000"', b"[" * 300 + b"]" * 300)],
                        signer=mot_cua_key))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        letters = httpx.get(f"{hub_url}/v1/dlq", params={"stage": "schema", "limit": 500},
                            headers=OPERATOR).json()["items"]
        if any(marker in letter.get("original", "") and letter["ingress"]["topic"] == hub_process.topics.ingress
               for letter in letters):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the deeply nested record never reached the DLQ from the router")
    health = httpx.get(f"{hub_url}/v1/health").json()
    assert health["checks"]["router"] is True, health


def test_boolean_subschemas_do_not_break_the_compatibility_check(hub_url):
    # {"$defs": {"a": true}} is valid JSON Schema; breaking_changes called .get() on the boolean: 500 on every
    # later compatibility check or registration of that type
    first = {"type": "object", "$defs": {"a": True}}
    assert httpx.post(f"{hub_url}/v1/schemas/fuzz.boolean_defs/versions", json={"schema": first},
                      headers=OPERATOR).status_code == 200
    second = {**first, "properties": {"note": {"type": "string"}}}
    response = httpx.post(f"{hub_url}/v1/schemas/fuzz.boolean_defs/compatibility", json={"schema": second})
    assert response.status_code == 200 and response.json() == {"is_compatible": True, "messages": []}
    response = httpx.post(f"{hub_url}/v1/schemas/fuzz.boolean_defs/versions", json={"schema": second},
                          headers=OPERATOR)
    assert response.status_code == 200 and response.json()["version"] == 2


def test_a_remote_reference_is_refused_not_fetched(hub_url, schema_server):
    # compiling a schema fetched any http(s) $ref, synchronously on the hub's event loop
    base, hits = schema_server
    schema_ = {"$ref": f"{base}/shared.json"}
    for operation in ("compatibility", "versions"):
        error = _error(httpx.post(f"{hub_url}/v1/schemas/fuzz.remote/{operation}", json={"schema": schema_},
                                  headers=OPERATOR), 422)
        assert "remote references are not fetched" in error["message"]
    assert hits == []


def test_method_not_allowed_lists_every_method_of_the_resource(hub_url):
    # the handler dropped Starlette's Allow header, which named one route's methods only anyway
    for path, allowed in [("/v1/messages", "GET, POST"), ("/v1/connectors/x", "DELETE, GET"), ("/v1/health", "GET")]:
        response = httpx.request("PATCH", f"{hub_url}{path}")
        assert _error(response, 405)["code"] == "method_not_allowed"
        assert response.headers["allow"] == allowed
