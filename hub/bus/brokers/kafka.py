"""Apache Kafka run by the hub itself: jars from Maven Central, one KRaft node (broker and controller in one
process) formatted under a data folder, started with a bounded heap in a process group of its own.

Clients authenticate with SASL/SCRAM-SHA-512 and the KRaft `StandardAuthorizer` allows only what an ACL
allows. The admin principal (a super user) is created when the folder is formatted; its password is kept
beside the data (`admin.credential`, readable by its owner only). The controller listener takes SASL/PLAIN
with a password of its own: KRaft keeps SCRAM credentials in the metadata the controller serves, so the
controller cannot check them itself."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from functools import cached_property
from pathlib import Path

from hub.bus.broker_security import MECHANISM, BrokerLogin
from hub.bus.brokers.process import BrokerProcess, alive, free_port, spawn
from hub.bus.topics import RECORD_BYTES_MAX
from hub.core.errors import HubError

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOGGING = HERE / "log4j2.properties"
STARTED = b"Kafka Server started"
JAVA_MIN = 17
STATE_FILE = "lgsp-broker.json"  # pid, address and version of the broker running on a data folder
ADMIN_FILE = "admin.credential"  # the admin principal's and the controller listener's passwords
ADMIN = "admin"


class BrokerUnavailable(HubError, RuntimeError):
    """What is missing to run Apache Kafka here, and what to do instead."""


def pinned_version(pom: Path = POM) -> str:
    """The broker version the project's Maven file pins."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns).text.strip()


def find_java() -> str:
    """A `java` of version 17 or newer (JAVA_HOME first, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    advice = ("install it (Debian: apt-get install openjdk-17-jre-headless, or run `make up`), "
              "or set LGSP_BROKER=tansu for the light broker without Java")
    if not java or not Path(java).exists():
        raise BrokerUnavailable(f"Apache Kafka needs Java {JAVA_MIN} or newer and no java was found: {advice}")
    shown = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    major = int(found[1]) if found else 0
    major = int(found[2]) if major == 1 and found[2] else major  # "1.8.0" is Java 8
    if major < JAVA_MIN:
        raise BrokerUnavailable(f"Apache Kafka needs Java {JAVA_MIN} or newer, {java} is {major or 'unknown'}: {advice}")
    return java


def installed(cache_dir: Path, version: str) -> bool:
    return (cache_dir / version / "complete").exists()


def install(cache_dir: Path, version: str | None = None) -> Path:
    """The broker's jars, fetched by Maven once into `cache_dir/<version>/lib` (several processes may ask)."""
    version = version or pinned_version()
    home = cache_dir / version
    lib = home / "lib"
    if installed(cache_dir, version):
        return lib
    if not shutil.which("mvn"):
        raise BrokerUnavailable("Apache Kafka's jars are fetched with Maven and no mvn was found: install it "
                                "(Debian: apt-get install maven, or run `make up`), or set LGSP_BROKER=tansu")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed(cache_dir, version):  # another process fetched them while this one waited
            return lib
        shutil.rmtree(lib, ignore_errors=True)
        fetched = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}", "dependency:copy-dependencies",
             f"-DoutputDirectory={lib}"], capture_output=True, text=True)
        if fetched.returncode != 0:
            raise BrokerUnavailable(f"Maven could not fetch Apache Kafka {version}:\n{fetched.stdout[-2000:]}"
                                    f"{fetched.stderr[-2000:]}")
        (home / "complete").touch()
    return lib


def cluster_id() -> str:
    """A KRaft cluster id as Kafka makes them: 16 random bytes, URL-safe base64, not starting with '-'."""
    while (made := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())[0] == "-":
        pass
    return made


class ApacheKafka(BrokerProcess):
    kind = "kafka"

    def __init__(self, data_dir: Path, cache_dir: Path, port: int | None = None, heap_mb: int = 768,
                 partitions: int = 6, version: str | None = None, authenticate: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.cache_dir = Path(cache_dir).expanduser()
        self.port = port or free_port()
        self.heap_mb, self.partitions = heap_mb, partitions
        self.version = version or pinned_version()
        self.authenticate = authenticate  # off: anyone may do anything (benchmarks measure what SASL costs)
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        self.log = self.data_dir / "broker.log"

    # --- start -----------------------------------------------------------------------------------
    def start(self, timeout: float = 120.0, tied: bool = True) -> ApacheKafka:
        """Fetch, format and start; returns once the broker logged that it started. `tied`: it gets SIGTERM
        when the starting process dies (off for `lgsp-hub kafka start`, which leaves it running)."""
        java, lib = find_java(), install(self.cache_dir, self.version)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = read_state(self.data_dir)
        if running:
            raise BrokerUnavailable(f"Apache Kafka already runs on {self.data_dir} (pid {running['pid']}, "
                                    f"{running['bootstrap_servers']}): stop it with `lgsp-hub kafka stop`")
        formatted = (self.data_dir / "log" / "meta.properties").exists()
        secrets_ = self._secrets(formatted) if self.authenticate else None
        properties = self._write_properties(secrets_)
        if not formatted:
            self._format(java, lib, properties, secrets_ and secrets_["admin"])
        seen = self.log.stat().st_size if self.log.exists() else 0
        argv = [java, f"-Xmx{self.heap_mb}m", f"-Xms{min(self.heap_mb, 256)}m", "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOGGING}", "-cp", f"{lib}/*", "kafka.Kafka", str(properties)]
        self._process = spawn(argv, self.log) if tied else _spawn_detached(argv, self.log)
        self._wait_started(seen, timeout)
        write_state(self.data_dir, {"pid": self._process.pid, "bootstrap_servers": self.bootstrap_servers,
                                    "version": self.version})
        return self

    @cached_property
    def admin_login(self) -> BrokerLogin | None:
        """The super user the hub administers the broker as (None when it takes anyone)."""
        return BrokerLogin(ADMIN, self._secrets(True)["admin"]) if self.authenticate else None

    def _secrets(self, formatted: bool) -> dict[str, str]:
        path = self.data_dir / ADMIN_FILE
        if path.exists():
            return json.loads(path.read_text())
        if formatted:
            raise BrokerUnavailable(f"{self.data_dir} holds a broker formatted without authentication (no "
                                    f"{ADMIN_FILE}): delete the folder, or set LGSP_KAFKA_DATA_DIR to a new one")
        made = {"admin": secrets.token_urlsafe(24), "controller": secrets.token_urlsafe(24)}
        path.touch(mode=0o600)
        path.write_text(json.dumps(made))
        return made

    def _write_properties(self, secrets_: dict[str, str] | None) -> Path:
        controller = free_port()
        protocol = "SASL_PLAINTEXT" if secrets_ else "PLAINTEXT"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller}",
            "controller.listener.names": "CONTROLLER",
            "listeners": f"{protocol}://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"{protocol}://127.0.0.1:{self.port}",
            "inter.broker.listener.name": protocol,
            "listener.security.protocol.map": f"CONTROLLER:{protocol},{protocol}:{protocol}",
            **(_authentication(secrets_) if secrets_ else {}),
            "log.dirs": str(self.data_dir / "log"),
            "num.partitions": str(self.partitions),
            "message.max.bytes": str(RECORD_BYTES_MAX),  # topics the hub did not create (auto-created) too
            # One node: every internal topic has one replica, and few partitions (a group's first join
            # creates __consumer_offsets, 50 partitions by default, which takes seconds on two cores).
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "6",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Retention is applied every 5 s, not every 5 min: deleting old segments costs little.
            "log.retention.check.interval.ms": "5000",
            "log.segment.delete.delay.ms": "1000",
        }
        path = self.data_dir / "server.properties"
        path.touch(mode=0o600)  # it holds the admin's password
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path

    def _format(self, java: str, lib: Path, properties: Path, admin_password: str | None) -> None:
        admin = ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={admin_password}]"] if admin_password else []
        done = subprocess.run([java, f"-Dlog4j2.configurationFile={LOGGING}", "-cp", f"{lib}/*",
                               "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(properties),
                               "--ignore-formatted", *admin], capture_output=True, text=True)
        if done.returncode != 0:
            raise BrokerUnavailable(f"formatting {self.data_dir} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _wait_started(self, seen: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerUnavailable(f"Apache Kafka exited with code {self._process.returncode}; "
                                        f"the end of {self.log}:\n{self._log_tail(seen)}")
            with open(self.log, "rb") as out:
                out.seek(seen)
                if STARTED in out.read():
                    return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Apache Kafka did not start within {timeout:g} s; the end of {self.log}:\n"
                           f"{self._log_tail(seen)}")

    def _log_tail(self, seen: int) -> str:
        with open(self.log, "rb") as out:
            out.seek(seen)
            return out.read()[-3000:].decode(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        clear_state(self.data_dir)


def _authentication(secrets_: dict[str, str]) -> dict[str, str]:
    """SCRAM on the client listener, PLAIN on the controller's, and only what an ACL allows."""
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    return {
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            f'{plain} required username="{ADMIN}" password="{secrets_["controller"]}" '
            f'user_{ADMIN}="{secrets_["controller"]}";',
        f"listener.name.sasl_plaintext.{MECHANISM.lower()}.sasl.jaas.config":
            f'{scram} required username="{ADMIN}" password="{secrets_["admin"]}";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def _spawn_detached(argv: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def admin_credential(data_dir: Path) -> str | None:
    """'admin:password' of the broker formatted on `data_dir`; None when there is none."""
    path = Path(data_dir) / ADMIN_FILE
    return f"{ADMIN}:{json.loads(path.read_text())['admin']}" if path.exists() else None


# --- the broker a data folder holds, for `lgsp-hub kafka status|stop` ---------------------------------
def read_state(data_dir: Path) -> dict | None:
    """The broker last started on `data_dir`, when its process still runs."""
    try:
        state = json.loads((Path(data_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if alive(state["pid"]) else None


def write_state(data_dir: Path, state: dict) -> None:
    (data_dir / STATE_FILE).write_text(json.dumps(state))


def clear_state(data_dir: Path) -> None:
    (Path(data_dir) / STATE_FILE).unlink(missing_ok=True)


def stop_pid(pid: int, timeout: float = 15.0) -> bool:
    """Stop a broker this process did not start; True once it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return not alive(pid)
