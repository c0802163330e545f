"""Attachments in the store, on each backend (the database's BLOB/bytea, or a directory) and each database:
bytes and metadata kept, read in chunks; references written by the message log only for the uploader's own
attachments and the targets that received the id; pruned with the log."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from hub.audit.decisions import Decision
from hub.audit.message_log import MessageLog, prune, verify
from hub.store import Store
from hub.store.attachments import CHUNK, DirectoryAttachments, open_attachments
from hub.store.tables import attachment_data, attachment_references, attachments, message_log

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture(params=["database", "directory"])
def kept(request, store: Store, tmp_path):
    return open_attachments(store.engine, tmp_path / "attachments" if request.param == "directory" else None)


def delivery(message_id: str, source: str, targets: tuple[str, ...], payload: dict, sharing: dict | None = None,
             outcome: str = "delivered") -> Decision:
    raw = orjson.dumps({"id": message_id, "type": "attachment.note", "source": source, "payload": payload})
    return Decision(message_id, "attachment.note", 1, source, targets, outcome, None, None, None, None, None, NOW,
                    sharing=sharing, raw=raw)


def logged(store: Store, decisions: list[Decision]) -> None:
    async def run() -> None:
        log = MessageLog(store)
        await log.start()
        await log.write(await log.head("w"), decisions)
    asyncio.run(run())


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_an_attachment_keeps_its_bytes_and_metadata_and_reads_in_chunks(kept):
    data = os.urandom(2 * CHUNK + 12345)
    stored = kept.put(data, "application/pdf", "Quyết định số 12.pdf", "mot-cua")
    assert stored.id.startswith("lgsp-att-") and len(stored.id) == 41
    assert stored.view() == {"id": stored.id, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                             "content_type": "application/pdf", "name": "Quyết định số 12.pdf"}
    again = kept.get(stored.id)
    assert again.view() == stored.view() and again.uploader == "mot-cua"
    chunks = list(kept.chunks(stored.id))
    assert len(chunks) == 3 and b"".join(chunks) == data
    assert kept.get("lgsp-att-" + "0" * 32) is None


def test_the_directory_backend_keeps_files_not_rows(store, tmp_path):
    kept = DirectoryAttachments(store.engine, tmp_path / "files")
    stored = kept.put(b"%PDF-1.7 ...", "application/pdf", "a.pdf", "mot-cua")
    assert (tmp_path / "files" / stored.id).read_bytes() == b"%PDF-1.7 ..."
    assert count(store, attachment_data) == 0 and count(store, attachments) == 1
    assert [p.name for p in (tmp_path / "files").iterdir()] == [stored.id]  # no temporary left behind


def test_a_delivery_grants_its_targets_only_the_sources_own_attachments(store, kept):
    own = kept.put(b"own", "text/plain", "own.txt", "mot-cua").id
    others = kept.put(b"other", "text/plain", "other.txt", "someone-else").id
    message = "00000000-0000-7000-8000-000000000001"
    logged(store, [
        delivery(message, "mot-cua", ("ndxp", "so-tu-phap"), {"TepDinhKem": [own, others], "note": f"see {own}"}),
        delivery("00000000-0000-7000-8000-000000000002", "mot-cua", (), {"f": own}, outcome="rejected")])
    assert kept.granted_by(own, "ndxp") == message and kept.granted_by(own, "so-tu-phap") == message
    assert kept.granted_by(others, "ndxp") is None  # named by someone who did not upload it: nothing granted
    assert kept.granted_by(own, "mot-cua") is None and count(store, attachment_references) == 2
    assert verify(store).ok


def test_a_target_under_an_agreement_is_granted_only_what_its_projection_kept(store, kept):
    first = kept.put(b"1", "text/plain", "1.txt", "mot-cua").id
    second = kept.put(b"2", "text/plain", "2.txt", "mot-cua").id
    sharing = {"deliveries": {"ndxp": {"agreement": "a-1", "version": 1, "fields": ["/Kept"]}}, "withheld": {}}
    logged(store, [delivery("00000000-0000-7000-8000-000000000003", "mot-cua", ("ndxp", "so-tu-phap"),
                            {"Kept": first, "Cut": second}, sharing)])
    assert kept.granted_by(first, "ndxp") and kept.granted_by(second, "ndxp") is None
    assert kept.granted_by(second, "so-tu-phap")  # under its grant alone it received the whole message


def test_an_id_spelt_with_escapes_is_found(store, kept):
    attachment = kept.put(b"x", "text/plain", "x.txt", "mot-cua").id
    message = "00000000-0000-7000-8000-000000000004"
    decision = delivery(message, "mot-cua", ("ndxp",), {})
    escaped = decision.raw.replace(b'"payload":{}', b'"payload":{"f":"\\u006c' + attachment[1:].encode() + b'"}')
    logged(store, [decision._replace(raw=escaped)])
    assert kept.granted_by(attachment, "ndxp") == message


def test_attachments_uploaded_before_the_retention_are_pruned_with_the_log(store, kept):
    old = kept.put(b"old", "text/plain", "old.txt", "mot-cua").id
    recent = kept.put(b"recent", "text/plain", "recent.txt", "mot-cua").id
    resent = kept.put(b"resent", "text/plain", "resent.txt", "mot-cua").id
    logged(store, [delivery("00000000-0000-7000-8000-000000000005", "mot-cua", ("ndxp",), {"a": [old, recent]}),
                   delivery("00000000-0000-7000-8000-000000000006", "mot-cua", ("ndxp",), {"a": resent})])
    with store.engine.begin() as conn:
        for id, age in ((old, 100 * DAY), (resent, 100 * DAY), (recent, DAY)):
            conn.execute(attachments.update().where(attachments.c.id == id)
                         .values(uploaded_at=datetime.fromtimestamp(NOW - age, timezone.utc)))
        # The log has pruned the first delivery's record; the second, of the file sent again, it keeps.
        conn.execute(message_log.delete().where(message_log.c.message_id == "00000000-0000-7000-8000-000000000005"))
    prune(store, 90, now=NOW, attachments=kept)
    assert kept.get(old) is None and kept.granted_by(old, "ndxp") is None
    assert kept.get(resent) is not None and kept.granted_by(resent, "ndxp")
    assert kept.get(recent) is not None and kept.granted_by(recent, "ndxp")
    assert b"".join(kept.chunks(recent)) == b"recent"
    if isinstance(kept, DirectoryAttachments):
        assert not kept.path(old).exists() and kept.path(recent).exists()
    else:
        assert count(store, attachment_data) == 2
    assert kept.prune(datetime.fromtimestamp(NOW, timezone.utc) - timedelta(days=90)) == 0
