"""Texts that are stored and shown later: kept as the Dutch source text (the msgid) and its parameters, and put
into words when they are shown, in the reader's language. Formatting them at the moment they happen would freeze
them in the language of whoever ran the job."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


class StoredText(str):
    """A Dutch sentence (it reads as the formatted Dutch text wherever a str is expected: logs, exceptions) that
    also remembers its msgid and parameters for storage."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> StoredText:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text


def parts_of(text: str) -> tuple[str, dict[str, Any]]:
    """The msgid and parameters to store for a text (a plain str is its own msgid)."""
    if isinstance(text, StoredText):
        return text.msgid, {key: str(value) for key, value in text.params.items()}
    return str(text), {}


def render_stored(msgid: str, params: dict[str, Any] | None = None) -> str:
    """The stored text in the active language; a text without a translation reads as it was stored."""
    if not msgid:
        return ""
    translated = gettext(msgid)
    if not params:
        return translated
    try:
        return translated % params
    except (KeyError, TypeError, ValueError):
        return msgid % params
