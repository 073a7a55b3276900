"""The one kind of error a person reads: every failure the portal refuses or reports to a user is a PortalError.

`user_message` is a short Dutch sentence in the user's terms (translated where it is shown); the exception text
(`detail`) is for support staff and logs and never holds a password. Each app names its own subclasses (a refused
back-up, an unreachable database, …) so callers can tell them apart, but they all carry the message the same way.
"""

from __future__ import annotations


class PortalError(Exception):
    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.detail = detail or user_message
