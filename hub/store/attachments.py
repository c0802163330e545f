"""Attachments (hub.core.attachments): one interface, two places for the bytes.

The metadata (table `attachments`) and who may fetch (`attachment_references`) are always in the store.
The bytes are in the store's database too (`attachment_data`, BLOB or bytea), unless LGSP_ATTACHMENTS_DIR
names a directory: then one file per attachment there, named by its id, which every API process and log
indexer of the hub must see at the same path. Either way the bytes are read in chunks, so an answer
streams, and an attachment is pruned with the message log.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from hub.core.attachments import new_id
from hub.store.database import now
from hub.store.tables import attachment_data, attachment_references, attachments, message_log

CHUNK = 1 << 20  # bytes read or written at a time


@dataclass(frozen=True)
class Attachment:
    id: str
    sha256: str
    size: int
    content_type: str
    name: str
    uploader: str
    uploaded_at: datetime

    def view(self) -> dict[str, Any]:
        """As the API answers an upload."""
        return {"id": self.id, "sha256": self.sha256, "size": self.size, "content_type": self.content_type,
                "name": self.name}


class Attachments(Protocol):
    def put(self, data: bytes, content_type: str, name: str, uploader: str) -> Attachment: ...

    def get(self, attachment_id: str) -> Attachment | None: ...

    def chunks(self, attachment_id: str) -> Iterator[bytes]: ...

    def granted_by(self, attachment_id: str, consumer: str) -> str | None: ...

    def prune(self, before: datetime) -> int: ...


def open_attachments(engine: sa.Engine, directory: Path | None = None) -> Attachments:
    """The backend LGSP_ATTACHMENTS_DIR chooses: unset, the database."""
    return DatabaseAttachments(engine) if directory is None else DirectoryAttachments(engine, directory)


class _Metadata:
    """What both backends keep in the store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @staticmethod
    def _made(data: bytes, content_type: str, name: str, uploader: str) -> Attachment:
        return Attachment(new_id(), hashlib.sha256(data).hexdigest(), len(data), content_type, name, uploader, now())

    @staticmethod
    def _insert(conn: sa.Connection, attachment: Attachment) -> None:
        conn.execute(attachments.insert().values(**attachment.__dict__))

    def get(self, attachment_id: str) -> Attachment | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(attachments).where(attachments.c.id == attachment_id)).mappings().first()
        return Attachment(**row) if row else None

    def granted_by(self, attachment_id: str, consumer: str) -> str | None:
        """The first message delivered to `consumer` that referenced the attachment (None: none yet)."""
        refs = attachment_references.c
        with self.engine.connect() as conn:
            return conn.execute(sa.select(refs.message_id).where(refs.attachment_id == attachment_id,
                                                                 refs.consumer == consumer).limit(1)).scalar()

    @staticmethod
    def _delete_rows(conn: sa.Connection, before: datetime) -> list[str]:
        """The metadata and references of the attachments uploaded before `before` that no record the log still
        keeps references (a file sent again later lives as long as that delivery's record); their ids."""
        refs = attachment_references.c
        still_logged = sa.exists().where(refs.attachment_id == attachments.c.id,
                                         refs.message_id == message_log.c.message_id)
        ids = list(conn.execute(sa.select(attachments.c.id)
                                .where(attachments.c.uploaded_at < before, ~still_logged)).scalars())
        for start in range(0, len(ids), 500):  # bound the statement's parameters
            part = ids[start:start + 500]
            conn.execute(attachment_references.delete().where(attachment_references.c.attachment_id.in_(part)))
            conn.execute(attachment_data.delete().where(attachment_data.c.id.in_(part)))
            conn.execute(attachments.delete().where(attachments.c.id.in_(part)))
        return ids


class DatabaseAttachments(_Metadata):
    """The bytes in `attachment_data`, written with their metadata in one transaction."""

    def put(self, data: bytes, content_type: str, name: str, uploader: str) -> Attachment:
        attachment = self._made(data, content_type, name, uploader)
        with self.engine.begin() as conn:
            self._insert(conn, attachment)
            conn.execute(attachment_data.insert().values(id=attachment.id, data=data))
        return attachment

    def chunks(self, attachment_id: str) -> Iterator[bytes]:
        """substr() on the BLOB (SQLite) or bytea (PostgreSQL): a chunk at a time, never the whole file."""
        with self.engine.connect() as conn:
            size = conn.execute(sa.select(sa.func.length(attachment_data.c.data))
                                .where(attachment_data.c.id == attachment_id)).scalar() or 0
            for start in range(0, size, CHUNK):
                yield bytes(conn.execute(sa.select(sa.func.substr(attachment_data.c.data, start + 1, CHUNK))
                                         .where(attachment_data.c.id == attachment_id)).scalar())

    def prune(self, before: datetime) -> int:
        with self.engine.begin() as conn:
            return len(self._delete_rows(conn, before))


class DirectoryAttachments(_Metadata):
    """One file per attachment in `directory`, written whole under a temporary name, then renamed: a file
    named by an id is complete. Its metadata is stored after the file; a failure removes the file."""

    def __init__(self, engine: sa.Engine, directory: Path) -> None:
        super().__init__(engine)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, attachment_id: str) -> Path:
        return self.directory / attachment_id

    def put(self, data: bytes, content_type: str, name: str, uploader: str) -> Attachment:
        attachment = self._made(data, content_type, name, uploader)
        final = self.path(attachment.id)
        self._write(final, data)
        try:
            with self.engine.begin() as conn:
                self._insert(conn, attachment)
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        return attachment

    def _write(self, final: Path, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                view = memoryview(data)
                for start in range(0, len(view), CHUNK):
                    file.write(view[start:start + CHUNK])
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def chunks(self, attachment_id: str) -> Iterator[bytes]:
        with open(self.path(attachment_id), "rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk

    def prune(self, before: datetime) -> int:
        """Rows first, files after: a crash between leaves an orphan file, never a row without its bytes."""
        with self.engine.begin() as conn:
            ids = self._delete_rows(conn, before)
        for attachment_id in ids:
            self.path(attachment_id).unlink(missing_ok=True)
        return len(ids)


def record_references(conn: sa.Connection, references: Iterable[tuple[str, str, str, str]]) -> int:
    """Store (attachment id, message id, consumer, source) for each attachment its source uploaded, in the
    caller's transaction (the log's write of the delivery); an id of another's upload, or of none, grants
    nothing. How many were stored."""
    wanted = {(a, m, c): s for a, m, c, s in references}
    if not wanted:
        return 0
    ids = sorted({a for a, _, _ in wanted})
    uploaders = dict(conn.execute(sa.select(attachments.c.id, attachments.c.uploader)
                                  .where(attachments.c.id.in_(ids))).all())
    refs = attachment_references.c
    present = set(map(tuple, conn.execute(sa.select(refs.attachment_id, refs.message_id, refs.consumer)
                               .where(refs.attachment_id.in_(ids))).all()))
    rows = [{"attachment_id": a, "message_id": m, "consumer": c} for (a, m, c), source in wanted.items()
            if uploaders.get(a) == source and (a, m, c) not in present]
    if rows:
        conn.execute(attachment_references.insert(), rows)
    return len(rows)
