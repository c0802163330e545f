"""The AsyncAPI document of a hub's contracts: built from the bundled schemas and a directory, then served by a real
hub, each checked by the AsyncAPI parser (tests/asyncapi), and the /asyncapi page that lists it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from hub.bus.topics import Topics
from hub.control.asyncapi import document
from hub.core.directory import ConnectorSpec, Directory
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from tests.support.asyncapi import diagnostics, errors_of
from tests.support.connectors import MOT_CUA_VERIFYING, NDXP_RECEIPTS, POPULATION

# The population database answers citizen verifications; mot-cua calls it.
VERIFIER = {**POPULATION, "produces": ["citizen.verify.reply"],
            "serves": [{"request": "citizen.verify.request", "reply": "citizen.verify.reply",
                        "description": "Verify a citizen against the population database."}]}
SERVICE = "csdl-dan-cu-serves-citizen.verify.request"
CALL = "mot-cua-calls-csdl-dan-cu-citizen.verify.request"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    """The bundled schemas, and a second version of one type."""
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    v1 = registry.schema("ndxp.receipt", 1)
    registry.put("ndxp.receipt", 2, {**v1, "$id": "urn:lgsp:schema:ndxp.receipt:v2",
                                     "properties": {**v1["properties"], "GhiChu": {"type": "string"}}})
    return registry


@pytest.fixture(scope="module")
def contracts(registry) -> dict:
    directory = Directory.of(ConnectorSpec.model_validate(spec) for spec in (MOT_CUA_VERIFYING, NDXP_RECEIPTS, VERIFIER))
    return document(Topics("lgsp"), registry, directory, bootstrap_servers="10.0.0.5:9092,10.0.0.6:9092",
                    api_url="http://hub.example:8000/", version="0.1.0")


def test_the_parser_finds_no_error(contracts, tmp_path):
    valid, found = diagnostics(contracts, tmp_path)
    assert valid and not errors_of(found), json.dumps(found, indent=1)


def test_the_parser_would_refuse_a_broken_document(contracts, tmp_path):
    """The check can fail: a reply naming a message its channel lacks is an error."""
    broken = json.loads(json.dumps(contracts))
    broken["operations"][SERVICE]["reply"]["messages"] = [{"$ref": "#/channels/ingress/messages/no.such.v1"}]
    valid, found = diagnostics(broken, tmp_path)
    assert not valid and any("no.such.v1" in d["message"] for d in errors_of(found))


def test_servers_are_the_bootstrap_addresses(contracts):
    assert contracts["asyncapi"] == "3.0.0" and contracts["info"]["title"] == "lgsp-hub"
    assert [(s["host"], s["protocol"]) for s in contracts["servers"].values()] == [("10.0.0.5:9092", "kafka"),
                                                                                  ("10.0.0.6:9092", "kafka")]


def test_ingress_and_each_inbox_are_channels(contracts, registry):
    channels = contracts["channels"]
    assert channels["ingress"]["address"] == "lgsp.ingress"
    assert {t: channels[f"inbox-{t}"]["address"] for t in ("mot-cua", "ndxp", "csdl-dan-cu")} == {
        "mot-cua": "lgsp.out.mot-cua", "ndxp": "lgsp.out.ndxp", "csdl-dan-cu": "lgsp.out.csdl-dan-cu"}
    every_version = {f"{t}.v{v}" for t in registry.types() for v in registry.versions(t)}
    assert set(channels["ingress"]["messages"]) == every_version
    assert set(channels["inbox-ndxp"]["messages"]) == {"dossier.submitted.v1"}
    assert (channels["dlq"]["address"], channels["control"]["address"]) == ("lgsp.dlq", "lgsp.control")


def test_each_version_is_a_message_around_its_schema(contracts, registry):
    messages, schemas = contracts["components"]["messages"], contracts["components"]["schemas"]
    receipt = messages["ndxp.receipt.v2"]
    envelope, fixed = receipt["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/Envelope"}
    assert fixed["properties"]["type"] == {"const": "ndxp.receipt"} and fixed["properties"]["version"] == {"const": 2}
    assert fixed["properties"]["payload"] == {"$ref": "#/components/schemas/ndxp.receipt.v2"}
    assert "GhiChu" in schemas["ndxp.receipt.v2"]["properties"] and "GhiChu" not in schemas["ndxp.receipt.v1"].get(
        "properties", {})
    assert receipt["x-schema-id"] == "urn:lgsp:schema:ndxp.receipt:v2"
    assert receipt["externalDocs"]["url"] == "http://hub.example:8000/v1/schemas/ndxp.receipt/versions/2"
    assert set(schemas["Envelope"]["required"]) >= {"id", "type", "version", "source", "payload"}


def test_the_schema_keywords_stay_and_references_point_into_the_document(contracts):
    submitted = contracts["components"]["schemas"]["dossier.submitted.v1"]
    text = json.dumps(submitted)
    assert '"x-personal-id": true' in text and '"x-birth-year-matches"' in text
    assert '"#/$defs/' not in text and '"#/components/schemas/dossier.submitted.v1/$defs/MaHoSo"' in text
    assert "$id" not in submitted and "$schema" not in submitted


def test_records_are_signed_and_keyed(contracts):
    signed = contracts["components"]["messageTraits"]["signed"]
    assert signed["headers"]["required"] == ["lgsp.credential", "lgsp.signature", "lgsp.signed-at"]
    assert signed["bindings"]["kafka"]["key"]["type"] == "string"
    assert contracts["components"]["messages"]["dossier.submitted.v1"]["traits"] == [
        {"$ref": "#/components/messageTraits/signed"}]


def test_connectors_send_to_ingress_and_receive_from_their_inbox(contracts):
    operations = contracts["operations"]
    publish = operations["mot-cua-publish"]
    assert (publish["action"], publish["channel"]) == ("send", {"$ref": "#/channels/ingress"})
    assert [m["$ref"] for m in publish["messages"]] == ["#/channels/ingress/messages/citizen.verify.request.v1",
                                                        "#/channels/ingress/messages/dossier.submitted.v1"]
    receive = operations["ndxp-receive"]
    assert (receive["action"], receive["channel"]) == ("receive", {"$ref": "#/channels/inbox-ndxp"})
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == ["lgsp.connector.ndxp"]


def test_a_service_is_a_request_with_its_reply(contracts):
    """The provider answers on ingress (the hub delivers to the caller); the caller's reply arrives in its inbox."""
    operations, messages = contracts["operations"], contracts["components"]["messages"]
    served = operations[SERVICE]
    assert (served["action"], served["channel"]) == ("receive", {"$ref": "#/channels/inbox-csdl-dan-cu"})
    assert served["summary"] == "Verify a citizen against the population database."
    assert served["reply"] == {"channel": {"$ref": "#/channels/ingress"},
                               "messages": [{"$ref": "#/channels/ingress/messages/citizen.verify.reply.v1"}]}
    assert served["x-lgsp-http-call"] == {"method": "POST", "path": "/v1/services/csdl-dan-cu/citizen.verify.request"}
    called = operations[CALL]
    assert (called["action"], called["channel"]) == ("send", {"$ref": "#/channels/ingress"})
    assert called["reply"]["channel"] == {"$ref": "#/channels/inbox-mot-cua"}
    assert messages["citizen.verify.reply.v1"]["correlationId"]["location"] == "$message.payload#/correlation_id"
    assert messages["citizen.verify.request.v1"]["correlationId"]["location"] == "$message.payload#/id"


def test_a_type_no_schema_describes_is_left_out(registry):
    odd = ConnectorSpec.model_validate({**NDXP_RECEIPTS, "consumes": ["dossier.submitted", "nowhere.known"]})
    contracts = document(Topics("lgsp"), registry, Directory.of([odd]), bootstrap_servers="b:9092",
                         api_url="http://h", version="0")
    assert set(contracts["channels"]["inbox-ndxp"]["messages"]) == {"dossier.submitted.v1"}


# Through a running hub ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(hub_process) -> dict:
    """The hub's document once the verifier and its caller are registered (public: no token)."""
    for spec in (MOT_CUA_VERIFYING, VERIFIER):
        hub_process.register(spec)
    response = httpx.get(f"{hub_process.url}/v1/asyncapi.json", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_hub_serves_its_registrations(served, hub_process, tmp_path):
    prefix = hub_process.topics.prefix
    assert served["channels"]["inbox-csdl-dan-cu"]["address"] == f"{prefix}.out.csdl-dan-cu"
    assert served["operations"][SERVICE]["reply"]["channel"] == {"$ref": "#/channels/ingress"}
    assert served["operations"][CALL]["reply"]["channel"] == {"$ref": "#/channels/inbox-mot-cua"}
    group = served["operations"]["csdl-dan-cu-receive"]["bindings"]["kafka"]["groupId"]
    assert group["enum"] == [hub_process.topics.connector_group("csdl-dan-cu")]
    assert [s["host"] for s in served["servers"].values()] == hub_process.bootstrap.split(",")
    valid, found = diagnostics(served, tmp_path)
    assert valid and not errors_of(found), json.dumps(found, indent=1)


def test_a_registration_shows_without_a_restart(served, hub_process):
    hub_process.register({"id": "so-tnmt", "name": "Sở TN&MT", "agency": "000.00.14.H22",
                          "consumes": ["land.parcel.request"], "produces": ["land.parcel.reply"],
                          "serves": [{"request": "land.parcel.request", "reply": "land.parcel.reply"}]})
    operations = httpx.get(f"{hub_process.url}/v1/asyncapi.json", timeout=10).json()["operations"]
    assert operations["so-tnmt-serves-land.parcel.request"]["reply"]["messages"] == [
        {"$ref": "#/channels/ingress/messages/land.parcel.reply.v1"}]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")
async def test_the_page_lists_channels_operations_and_messages(served, hub_process):
    """…and shows the document's strings as text: a description with markup stays characters."""
    from playwright.async_api import async_playwright

    markup = '<img src="x" onerror="window.injected = 1"> lookup'
    hub_process.register({"id": "tra-cuu", "name": "Tra cứu", "agency": "000.00.15.H22",
                          "consumes": ["land.parcel.request"], "produces": ["land.parcel.reply"],
                          "serves": [{"request": "land.parcel.request", "reply": "land.parcel.reply",
                                      "description": markup}]})

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{hub_process.url}/asyncapi")
            inbox = page.locator("[data-channel=inbox-csdl-dan-cu]")
            await inbox.wait_for()
            assert f"{hub_process.topics.prefix}.out.csdl-dan-cu" in await inbox.text_content()
            reply = page.locator(f"[data-operation='{SERVICE}'] [data-reply]")
            assert "citizen.verify.reply.v1" in await reply.text_content()
            message = page.locator("[data-message='dossier.submitted.v1']")
            await message.locator("summary").click()
            assert '"x-personal-id": true' in await message.locator("pre").text_content()
            lookup = page.locator("[data-operation='tra-cuu-serves-land.parcel.request']")
            assert markup in await lookup.text_content() and await lookup.locator("img").count() == 0
            assert await page.evaluate("window.injected") is None
            assert not errors and await page.get_by_test_id("load-error").is_hidden()
        finally:
            await browser.close()
