"""Receiving uploaded files without letting one fill the disk.

Django's own handlers write the whole request body to disk before a form can look at the size. `limited_upload`
puts one handler in their place that refuses on Content-Length before anything is read, stops the stream as soon
as more than the limit has arrived (the partial temporary file is removed), and refuses while the disk holding
uploads and back-ups is nearly full. The view then shows the refusal in its form, in Dutch.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils import formats
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

logger = logging.getLogger(__name__)

# Room for the multipart boundaries, the part headers and the small form fields around the file.
MULTIPART_ALLOWANCE = 64 * 1024
# Longest file name kept (the name column and most filesystems stop at 255).
MAX_FILE_NAME_LENGTH = 255


def human_size(size: int) -> str:
    """A size as people write it, in the active language: "1 MB", "1,5 GB", "10 GB" (units of 1024, like Django's
    filesizeformat, without a needless ",0")."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    rounded = round(value, 1)
    text = formats.number_format(rounded, decimal_pos=0 if rounded == int(rounded) else 1, use_l10n=True)
    return f"{text}\xa0{unit}"


def too_large_message(max_bytes: int) -> str:
    return _("Dit bestand is groter dan de toegestane %(max)s.") % {"max": human_size(max_bytes)}


def disk_full_message() -> str:
    return _(
        "Er is nu niet genoeg schijfruimte om dit bestand te ontvangen. Probeer het later opnieuw of neem contact op "
        "met de klantenservice."
    )


# Also the forms' FileField max_length message (Django fills in %(max)s).
NAME_TOO_LONG = gettext_lazy(
    "De bestandsnaam is te lang (hoogstens %(max)s tekens). Geef het bestand een kortere naam."
)


def name_too_long_message() -> str:
    return NAME_TOO_LONG % {"max": MAX_FILE_NAME_LENGTH}


def unreadable_message() -> str:
    return _("Het bestand kon niet worden ontvangen. Probeer het opnieuw.")


def upload_folders() -> list[Path]:
    """Where an upload lands on its way to a back-up: Django's temporary folder, the data folder (staging) and the
    back-up folder when back-ups are kept on the filesystem."""
    folders = [Path(settings.FILE_UPLOAD_TEMP_DIR), Path(settings.DATA_DIR)]
    backups: dict[str, Any] = cast(dict[str, Any], settings.STORAGES.get("backups") or {})
    location = backups.get("OPTIONS", {}).get("location")
    if backups.get("BACKEND") == "django.core.files.storage.FileSystemStorage" and location:
        folders.append(Path(location))
    return folders


def short_of_space(folders: Iterable[Path], incoming: int) -> Path | None:
    """The first folder whose disk would have less than MIN_FREE_DISK_BYTES left after `incoming` more bytes."""
    for folder in folders:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        free = shutil.disk_usage(existing).free
        if free - incoming < settings.MIN_FREE_DISK_BYTES:
            logger.warning("upload refused: %s has %d bytes free, %d incoming", existing, free, incoming)
            return existing
    return None


class LimitedUploadHandler(FileUploadHandler):
    """Streams uploaded files to temporary files like Django's TemporaryFileUploadHandler, but never more than
    `max_bytes` of file data per request. `refusal` holds the Dutch reason when it refused."""

    def __init__(self, request: HttpRequest, *, max_bytes: int, folders: list[Path]) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.folders = folders
        self.received = 0
        self.refusal: str | None = None
        # No `file` attribute until a file starts: Django closes `handler.file` whenever the attribute exists.
        self.file: TemporaryUploadedFile

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: str | None = None
    ) -> tuple[QueryDict, MultiValueDict] | None:
        if content_length > self.max_bytes + MULTIPART_ALLOWANCE:
            self.refusal = too_large_message(self.max_bytes)
        elif short_of_space(self.folders, content_length) is not None:
            self.refusal = disk_full_message()
        if self.refusal is None:
            return None
        # Refused before a byte of the body is read: nothing reaches the disk.
        return QueryDict(encoding=encoding), MultiValueDict()

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if len(file_name) > MAX_FILE_NAME_LENGTH:
            self.refusal = name_too_long_message()
            raise StopUpload(connection_reset=True)
        super().new_file(field_name, file_name, *args, **kwargs)
        # A neutral name for the temporary file: Django would put the (untrusted, maybe very long) extension in it.
        self.file = TemporaryUploadedFile("upload", self.content_type, 0, self.charset, self.content_type_extra)
        self.file.name = file_name

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.refusal = too_large_message(self.max_bytes)
        elif short_of_space(self.folders[:1], len(raw_data)) is not None:
            self.refusal = disk_full_message()
        if self.refusal is not None:
            # Django closes (and so deletes) the partial temporary file and reads no further.
            raise StopUpload(connection_reset=True)
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> TemporaryUploadedFile | None:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()


def upload_refusal(request: HttpRequest) -> str | None:
    """Why `limited_upload` refused this request's file, in Dutch; None when it did not."""
    return getattr(request, "upload_refusal", None)


def refused_form(form_class: Callable[..., Any], request: HttpRequest, refusal: str, **kwargs: Any) -> Any:
    """The form again, unbound, with what did arrive as its initial values and the refusal on the file field: the
    fields after the file in the body may never have been read, so nothing else is validated."""
    initial = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    form = form_class(initial=initial, **kwargs)
    form.errors["file"] = form.error_class([refusal])
    return form


def limited_upload(
    max_bytes: Callable[[], int],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Receive a POST's files through LimitedUploadHandler (limit read from settings at request time).

    The CSRF middleware would parse the body before the view could change the handlers, so the check moves in
    here (Django's documented pattern). A refused request is passed to the view with `upload_refusal` set and no
    file: the view only renders its form with that message, so no CSRF check is needed for it (its token may have
    been in the part of the body that was never read)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        protected = csrf_protect(view)

        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return protected(request, *args, **kwargs)
            handler = LimitedUploadHandler(request, max_bytes=max_bytes(), folders=upload_folders())
            request.upload_handlers = [handler]
            if request.META.get("HTTP_TRANSFER_ENCODING") or not request.META.get("CONTENT_LENGTH"):
                # A body without a length (chunked): Django would silently read none of it.
                handler.refusal = unreadable_message()
            else:
                try:
                    request.POST  # noqa: B018 - parse the body now, through the handler
                except MultiPartParserError as error:
                    # Django refuses a part whose headers pass 1 KB: in practice a file name of many hundreds of
                    # characters.
                    too_long = "header size" in str(error)
                    handler.refusal = name_too_long_message() if too_long else unreadable_message()
                    handler.upload_interrupted()
            if handler.refusal is not None:
                request.upload_refusal = handler.refusal  # type: ignore[attr-defined]
                return view(request, *args, **kwargs)
            return protected(request, *args, **kwargs)

        return wrapper

    return decorator


def stage_upload(upload: object, staged: Path) -> None:
    """Move Django's temporary upload file into the staging folder (a rename on the same disk, else a copy)."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        try:
            os.link(temporary(), staged)
            return
        except OSError:
            pass
    with staged.open("wb") as out:
        for chunk in upload.chunks():  # type: ignore[attr-defined]
            out.write(chunk)
