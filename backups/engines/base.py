"""What every engine shares: how it reports progress, and how it fails."""

from __future__ import annotations

from typing import Protocol

from portal.errors import PortalError


class Progress(Protocol):
    """Called by an engine as it works: percent (0–100) and a short Dutch phase text for the user."""

    def __call__(self, percent: int, phase: str) -> None: ...


def no_progress(percent: int, phase: str) -> None:
    """For callers that do not follow progress."""


class EngineError(PortalError):
    """A back-up or restore that failed in the engine that did it."""
