"""The one module that talks to back-up storage (the `backups` storage: filesystem or S3).

A file is first written under a temporary name while its SHA-256 and size are computed, then checked, then
published under its final name. Only then may a Backup row say "ready". Nothing existing is ever overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from portal.errors import PortalError

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
TEMP_PREFIX = "tmp/"


class StorageError(PortalError):
    """Back-up storage that refused or lost a file."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str


def backup_storage() -> Storage:
    return storages["backups"]


class _HashingReader:
    """A file-like wrapper that hashes and counts what the storage backend reads through it."""

    closed = False

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.size = 0

    def seekable(self) -> bool:
        # Not seekable on purpose: a backend that rewinds would hash the same bytes twice.
        return False

    def read(self, size: int = -1) -> bytes:
        # Fill the request: some uploaders (s3transfer) take a short read for the end of the file.
        if size is None or size < 0:
            data = self._source.read()
        else:
            pieces, wanted = [], size
            while wanted > 0:
                piece = self._source.read(wanted)
                if not piece:
                    break
                pieces.append(piece)
                wanted -= len(piece)
            data = b"".join(pieces)
        self._hash.update(data)
        self.size += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def final_name(account_id: int, suffix: str = ".bacpac") -> str:
    return f"account-{account_id}/{uuid.uuid4().hex}{suffix}"


def store(source: IO[bytes], *, name: str) -> StoredFile:
    """Copy `source` into storage: written as a temporary file, hashed on the way, size checked, then published
    under `name`. On any failure the temporary file is removed and StorageError raised."""
    storage = backup_storage()
    temp_name = f"{TEMP_PREFIX}{uuid.uuid4().hex}.part"
    reader = _HashingReader(source)
    try:
        written_name = storage.save(temp_name, File(reader, name=temp_name))  # type: ignore[arg-type]
    except Exception as error:
        _delete_quietly(storage, temp_name)
        raise StorageError(
            "Het back-upbestand kon niet worden opgeslagen. Er is niets verloren gegaan; probeer het later opnieuw.",
            f"storage write failed: {type(error).__name__}: {error}",
        ) from error
    try:
        stored_size = storage.size(written_name)
        if stored_size != reader.size:
            raise StorageError(
                "Het back-upbestand is niet volledig opgeslagen. Probeer het opnieuw.",
                f"stored size {stored_size} != written {reader.size}",
            )
        _publish(storage, written_name, name)
    except Exception as error:
        _delete_quietly(storage, written_name)
        if isinstance(error, StorageError):
            raise
        raise StorageError(
            "Het back-upbestand kon niet worden opgeslagen. Er is niets verloren gegaan; probeer het later opnieuw.",
            f"storage publish failed: {type(error).__name__}: {error}",
        ) from error
    return StoredFile(name=name, size=reader.size, sha256=reader.sha256)


def _publish(storage: Storage, temp_name: str, name: str) -> None:
    if storage.exists(name):
        raise StorageError("Er bestaat al een bestand met deze naam.", f"refusing to overwrite {name}")
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        # link + unlink instead of rename: link fails if the target appeared meanwhile, so nothing is overwritten.
        os.link(storage.path(temp_name), target)
        os.unlink(storage.path(temp_name))
        return
    # S3 has no rename: a server-side copy (multipart for large objects, done by boto3), then the temp is deleted.
    bucket = storage.bucket  # type: ignore[attr-defined]
    source_key = storage._normalize_name(temp_name)  # type: ignore[attr-defined]
    target_key = storage._normalize_name(name)  # type: ignore[attr-defined]
    bucket.copy({"Bucket": bucket.name, "Key": source_key}, target_key)
    storage.delete(temp_name)


def _delete_quietly(storage: Storage, name: str) -> None:
    # Best effort: if even this fails, the reaper removes stale temporary files later.
    with contextlib.suppress(Exception):
        storage.delete(name)


def delete(name: str) -> None:
    if name:
        backup_storage().delete(name)


def open_for_reading(name: str) -> IO[bytes]:
    return backup_storage().open(name, "rb")


def iter_chunks(name: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The stored file in chunks. A storage that fails while it is read (an S3 server gone mid-download, a disk
    error) raises StorageError with a message for the customer."""
    try:
        with open_for_reading(name) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
    except Exception as error:
        raise StorageError(
            "Het back-upbestand kon niet uit de opslag worden gelezen. Er is niets gewijzigd; probeer het later "
            "opnieuw.",
            f"storage read of {name} failed: {type(error).__name__}: {error}",
        ) from error


def sha256_of(name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter_chunks(name):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def size_of(name: str) -> int:
    return backup_storage().size(name)


def download_url(name: str, *, download_name: str) -> str | None:
    """A short-lived presigned URL when the storage is S3; None for the filesystem (the view streams it)."""
    storage = backup_storage()
    if isinstance(storage, FileSystemStorage):
        return None
    params: dict[str, Any] = {"ResponseContentDisposition": f'attachment; filename="{download_name}"'}
    return storage.url(name, parameters=params)  # type: ignore[call-arg]


def temporary_names() -> list[str]:
    storage = backup_storage()
    try:
        _, files = storage.listdir(TEMP_PREFIX.rstrip("/"))
    except FileNotFoundError:
        return []
    return [f"{TEMP_PREFIX}{name}" for name in files]


def delete_stale_temporary_files() -> list[str]:
    """Temporary files nobody has written to for longer than a job may stay silent: their writer died."""
    from backups.jobs import stale_before

    storage = backup_storage()
    cutoff = stale_before()
    deleted = []
    if not isinstance(storage, FileSystemStorage):
        deleted += _abort_stale_multipart_uploads(storage, cutoff)
    for name in temporary_names():
        try:
            if storage.get_modified_time(name) < cutoff:
                storage.delete(name)
                deleted.append(name)
        except FileNotFoundError:
            continue
    return deleted


def _abort_stale_multipart_uploads(storage: Storage, cutoff: Any) -> list[str]:
    """A multipart upload whose writer lost the server half-way stays on the server, unfinished and invisible to
    listings (and billed). Those of our temporary files that nobody touched for long enough are aborted."""
    bucket = storage.bucket  # type: ignore[attr-defined]
    prefix = storage._normalize_name(TEMP_PREFIX)  # type: ignore[attr-defined]
    aborted = []
    try:
        for upload in bucket.multipart_uploads.filter(Prefix=prefix):
            if upload.initiated < cutoff:
                upload.abort()
                aborted.append(upload.object_key)
    except Exception:
        # Best effort: the next reaper round tries again.
        logger.exception("unfinished multipart uploads could not be listed or aborted")
    return aborted
