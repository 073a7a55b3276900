"""A filesystem storage that breaks half-way through writing, like a full disk or a dropped S3 connection."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage


class FailingStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        path = self.path(name)
        import os

        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content.read(1000))  # a partial file is left behind, as a real failure would
        raise OSError(28, "No space left on device")
