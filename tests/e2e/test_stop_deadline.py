"""However busy the loop, the process serving the hub ends STOP_SECONDS after the first Ctrl-C: here the
application's shutdown blocks its loop outright, so only the deadline can end it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from hub.cli.serve import STOP_SECONDS

APP = """
import sys, time
import uvicorn
from hub.cli.serve import run

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                print("started", flush=True)
            else:
                time.sleep(3600)  # a loop that never comes back

run(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_shutdown_stuck_in_its_loop_ends_at_the_deadline():
    process = subprocess.Popen([sys.executable, "-c", APP, str(_free_port())], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "started", process.stderr.read()
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=STOP_SECONDS + 30)
        took = time.monotonic() - signalled
    finally:
        process.kill()
    assert code == 128 + signal.SIGINT
    assert took >= STOP_SECONDS - 0.5  # the deadline ended it, not the shutdown
    assert f"still stopping {STOP_SECONDS:g} s after the signal" in process.stderr.read()
