"""No citizen's ID in the application's logs: the CLI's logging and uvicorn's mask them."""

from __future__ import annotations

import logging
import subprocess
import sys

from hub.core import personal_id
from hub.logs import PersonalIdFilter
from tests.support import ROOT

CITIZEN = personal_id.make("052", 1990, True, 123)
MASKED = personal_id.mask(CITIZEN)


def emitted(code: str) -> str:
    """stderr of a fresh interpreter that set logging up as `lgsp-hub` does and logged `code`."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_cli_logging_masks_ids_in_messages_arguments_and_tracebacks():
    out = emitted(f"""
import logging
from hub.cli.common import setup_logging as _logging
_logging("info")
log = logging.getLogger("hub.connectors")
log.info("verified citizen {CITIZEN}")
log.warning("verify failed for %s (%d attempts)", "{CITIZEN}", 3)
log.warning("numeric id %d", {int(CITIZEN)})
try:
    raise ValueError("no citizen {CITIZEN}")
except ValueError:
    log.exception("lookup of %s", {{"SoDinhDanh": "{CITIZEN}"}})
""")
    assert CITIZEN not in out and str(int(CITIZEN)) not in out
    assert f"verified citizen {MASKED}" in out and f"verify failed for {MASKED} (3 attempts)" in out
    assert f"ValueError: no citizen {MASKED}" in out


def test_uvicorn_access_and_error_lines_are_masked():
    out = emitted(f"""
import logging, logging.config, sys
from hub import logs
config = logs.uvicorn_config()
for handler in config["handlers"].values():
    handler["stream"] = "ext://sys.stderr"
logging.config.dictConfig(config)
logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                         "/v1/messages?personal_id={CITIZEN}", "1.1", 200)
logging.getLogger("uvicorn.error").error("bad request for {CITIZEN}")
""")
    assert CITIZEN not in out
    assert f"/v1/messages?personal_id={MASKED}" in out and f"bad request for {MASKED}" in out


def test_a_record_without_ids_is_left_as_it_is():
    record = logging.LogRecord("hub", logging.INFO, __file__, 1, "routed %d messages to %s", (12, "ndxp"), None)
    assert PersonalIdFilter().filter(record) and record.args == (12, "ndxp")
