"""API errors: always JSON `{"code": "...", "message": "..."}`, the code stable, the message in the request's
language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Niet gevonden, of je hebt er geen toegang toe."))


def refused(message: str, code: str = "refused") -> ApiError:
    return ApiError(400, code, message)
