"""The Docker deployment checked without a Docker engine: docker-compose.yml and deploy/prometheus.yml.

None of it runs here (the development machines and CI have no Docker engine); these tests hold the files to
the hub's real settings, commands and ports, so the deployment cannot drift away from the code. What the image
installs, the wheel, is tested in test_packaging.py.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess

import pytest
import typer
import yaml
from pydantic import AliasChoices, ValidationError

from hub.cli import app
from hub.cli.workers import _load
from hub.control.api import create_app
from hub.settings import Settings
from province.settings import ProvinceSettings
from tests.support import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
HUB_IMAGE = "lgsp-hub:local"
HUB_SERVICES = {name: service for name, service in SERVICES.items() if service.get("image") == HUB_IMAGE}
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")  # what a service without a command runs: CMD
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = typer.main.get_command(app)


def interpolate(value):
    """Compose's `${NAME:-default}` with nothing set: every variable the file uses has a default."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if not isinstance(value, str):
        return value
    rest = re.sub(r"\$\{\w+:-[^}]*\}", "", value.replace("$$", ""))
    assert "$" not in rest, f"{value!r}: a variable without a default makes `docker compose up` need an .env file"
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in interpolate(env).items()}


def setting_names() -> set[str]:
    """Every environment variable the hub's and the province's settings read: LGSP_<FIELD>, or the field's aliases."""
    prefix = Settings.model_config["env_prefix"]
    names = set()
    for field_name, field in {**Settings.model_fields, **ProvinceSettings.model_fields}.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def command(service: dict) -> list[str]:
    """The `lgsp-hub` arguments a hub service runs (the image's entry point is `lgsp-hub`)."""
    given = service.get("command")
    return given.split() if isinstance(given, str) else list(given or dockerfile_list("CMD"))


def dockerfile_list(instruction: str) -> list[str]:
    [line] = [line for line in DOCKERFILE.splitlines() if line.startswith(f"{instruction} ")]
    return yaml.safe_load(line.split(" ", 1)[1])


def api_port() -> int:
    return int(environment(SERVICES["api"])["LGSP_PORT"])


# --- compose ----------------------------------------------------------------------------------------


def test_hub_services_set_only_real_settings():
    known = setting_names()
    for name, service in HUB_SERVICES.items():
        ours = [var for var in environment(service) if var.startswith(("LGSP_", "KAFKA_"))]
        assert ours, name
        unknown = sorted(set(ours) - known)
        assert not unknown, f"{name}: {unknown} are not hub settings (hub/settings.py)"


@pytest.mark.parametrize("name", sorted(HUB_SERVICES))
def test_hub_service_settings_validate(name, monkeypatch):
    for var in [var for var in os.environ if var.startswith(("LGSP_", "KAFKA_"))]:
        monkeypatch.delenv(var)
    for var, value in environment(HUB_SERVICES[name]).items():
        monkeypatch.setenv(var, value)
    try:
        settings = Settings()
    except ValidationError as exc:
        pytest.fail(f"{name}: {exc}")
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.operator_token is not None
    if name == "api":
        assert (settings.host, ProvinceSettings().stubs, settings.router) == ("0.0.0.0", False, False)


def test_kafka_is_one_kraft_node_advertised_as_the_hubs_bootstrap():
    kafka = environment(SERVICES["kafka"])
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in var for var in kafka)
    bootstrap = environment(SERVICES["api"])["KAFKA_BOOTSTRAP_SERVERS"]
    assert f"PLAINTEXT://{bootstrap}" in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert bootstrap == f"kafka:{kafka['KAFKA_LISTENERS'].split('PLAINTEXT://:')[1].split(',')[0]}"
    controller_port = kafka["KAFKA_LISTENERS"].split("CONTROLLER://:")[1]
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kafka['KAFKA_NODE_ID']}@kafka:{controller_port}"
    assert len(base64.urlsafe_b64decode(kafka["CLUSTER_ID"] + "==")) == 16  # a base64 UUID, as kafka-storage wants


def test_database_url_names_the_postgres_service_and_its_credentials():
    postgres = environment(SERVICES["postgres"])
    url = environment(SERVICES["api"])["LGSP_DATABASE_URL"]
    assert url == (f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
                   f"@postgres:5432/{postgres['POSTGRES_DB']}")


def test_services_come_up_in_order():
    def waits_for(name: str) -> dict[str, str]:
        depends = SERVICES[name].get("depends_on") or {}
        return {dep: "service_started" for dep in depends} if isinstance(depends, list) else {
            dep: spec.get("condition", "service_started") for dep, spec in depends.items()}

    for name in SERVICES:
        for dep, condition in waits_for(name).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep} to be healthy: it has no healthcheck"
    assert waits_for("api") == {"kafka": "service_healthy", "postgres": "service_healthy"}
    for name in ("router", "population-db", "ndxp"):
        assert waits_for(name) == {"api": "service_healthy"}, name
    # The dossier system verifies applicants with csdl-dan-cu and syncs to ndxp: both registered first.
    assert waits_for("dossier-system")["population-db"] == waits_for("dossier-system")["ndxp"] == "service_healthy"
    seen: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        assert name not in path, f"depends_on cycle: {' → '.join((*path, name))}"
        for dep in waits_for(name):
            visit(dep, (*path, name))
        seen.append(name)

    for name in SERVICES:
        visit(name)


def test_healthchecks_reach_the_api_where_it_listens():
    port = api_port()
    assert f"http://127.0.0.1:{port}/v1/health" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    for name, connector_id in (("population-db", "csdl-dan-cu"), ("ndxp", "ndxp")):
        assert f"http://api:{port}/v1/connectors/{connector_id}" in " ".join(SERVICES[name]["healthcheck"]["test"])


# --- commands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HUB_SERVICES))
def test_service_commands_are_lgsp_hub_commands_the_readme_documents(name):
    args = command(HUB_SERVICES[name])
    group, words = CLI, []
    while isinstance(group, typer.core.TyperGroup) and args and args[0] in group.commands:
        words.append(args.pop(0))
        group = group.commands[words[-1]]
    assert words and not isinstance(group, typer.core.TyperGroup), f"{name}: {command(HUB_SERVICES[name])}"
    group.make_context(" ".join(words), list(args))  # the arguments parse as the command's own
    assert f"`lgsp-hub {' '.join(words)}" in README, f"README does not document `lgsp-hub {' '.join(words)}`"
    if words == ["connector", "run"]:
        assert args[args.index("--hub") + 1] == f"http://api:{api_port()}"


def test_connector_services_run_the_bundled_connectors():
    ids = {}
    for name, service in HUB_SERVICES.items():
        args = command(service)
        if args[:2] == ["connector", "run"]:
            ids[name] = _load(args[2]).id  # the target loads as hub.cli does it: a hub.sdk.Connector
    # The e-offices run in one process: the first agency's connector, the others its companions.
    assert ids == {"population-db": "csdl-dan-cu", "ndxp": "ndxp", "dossier-system": "mot-cua",
                   "e-offices": "vpdt-000-00-10-h22"}


# --- Prometheus -------------------------------------------------------------------------------------


def test_prometheus_scrapes_the_api_service_metrics():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    job, workers = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    [discovery] = workers["dns_sd_configs"]
    port = SERVICES["router"]["environment"]["LGSP_ROUTER_METRICS_PORT"]
    assert discovery["names"] == ["router"] and str(discovery["port"]) == port
    assert "/metrics" in {getattr(route, "path", None) for route in create_app(Settings()).routes}
    assert [target for static in job["static_configs"] for target in static["targets"]] == [f"api:{api_port()}"]
    mount = SERVICES["prometheus"]["volumes"][0].split(":")
    assert mount[:2] == ["./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml"]


# --- docker compose itself --------------------------------------------------------------------------


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here: `docker compose config` cannot check docker-compose.yml")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if version.returncode != 0:
        said = (version.stderr or version.stdout).strip().splitlines()[:1]
        pytest.skip(f"the Docker Compose plugin is not installed here (`docker compose version`: {' '.join(said)})")
    done = subprocess.run([docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
