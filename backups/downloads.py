"""Handing a stored back-up to the person who may have it: a short-lived presigned redirect on S3, else the file
streamed with its SHA-256 checked on the way (the screens and the API alike)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.text import slugify

from backups import storage
from backups.models import Backup


def stored_file_complete(backup: Backup) -> bool:
    """Whether the stored file is there with the size recorded when it was made (checked before a download)."""
    try:
        return storage.size_of(backup.file_name) == backup.size
    except (OSError, FileNotFoundError):
        return False


def stream_backup(backup: Backup) -> HttpResponseBase:
    """The file itself: a short-lived presigned redirect on S3, else streamed with its SHA-256 checked.
    The caller checked access and the stored size."""
    download_name = f"{slugify(backup.administration_name) or 'administratie'}-{backup.created_at:%Y%m%d-%H%M}.bacpac"
    url = storage.download_url(backup.file_name, download_name=download_name)
    if url:
        return HttpResponseRedirect(url)
    response = StreamingHttpResponse(verified_chunks(backup), content_type="application/octet-stream")
    response["Content-Length"] = str(backup.size)
    response["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response


def verified_chunks(backup: Backup) -> Iterator[bytes]:
    """Stream the stored file and check its SHA-256 on the way; a mismatch breaks the download off, so a damaged
    file never arrives looking complete."""
    digest = hashlib.sha256()
    for chunk in storage.iter_chunks(backup.file_name):
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != backup.sha256:
        raise OSError(f"back-up {backup.pk}: stored file does not match its SHA-256")
