"""Child processes of the hub: a free port, started in a process group of their own, stopped in bounded time."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the hub dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def spawn(argv: Sequence[str], log: Path | None = None, env: dict[str, str] | None = None,
          inherit_output: bool = False) -> subprocess.Popen:
    """Start a child process in a session of its own: a terminal's Ctrl-C reaches the hub, which then stops it
    in its turn (a broker after its clients have closed). Its output goes to `log`, else the hub's own output
    (`inherit_output`), else nowhere. Call from the main thread: the kernel ties the death signal to the thread."""
    out = open(log, "ab") if log else None if inherit_output else subprocess.DEVNULL  # noqa: SIM115 - the child holds it
    try:
        return subprocess.Popen(argv, stdout=out, stderr=None if out is None else subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, preexec_fn=_die_with_parent)
    finally:
        if log:
            out.close()


def terminate(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL once `timeout` seconds have passed; returns when the process is gone."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class BrokerProcess:
    """What the hub's own brokers share: one child process, started by `start()`, stopped by `stop()`."""

    _process: subprocess.Popen | None = None

    def start(self) -> BrokerProcess:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (a controlled shutdown), SIGKILL after `timeout` seconds."""
        terminate(self._process, timeout)
        self._process = None

    def __enter__(self) -> BrokerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
