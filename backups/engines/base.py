"""What every engine shares: how it reports progress, and how it fails."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called by an engine as it works: percent (0–100) and a short Dutch phase text for the user."""

    def __call__(self, percent: int, phase: str) -> None: ...


def no_progress(percent: int, phase: str) -> None:
    """For callers that do not follow progress."""


class EngineError(Exception):
    """A back-up or restore that failed. `user_message` is a short Dutch sentence for the user; the exception
    text (`detail`) is for support staff and logs, and never holds a password."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.detail = detail or user_message
