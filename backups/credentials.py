"""Encryption of SQL passwords at rest, with a key of its own (CREDENTIALS_KEY), never SECRET_KEY.

Without a configured key (the embedded default), a key file is made once in the data folder, readable by the
portal's user only, so a demo works and production can still bring its own key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _key() -> bytes:
    if settings.CREDENTIALS_KEY:
        return settings.CREDENTIALS_KEY.encode()
    path = Path(settings.DATA_DIR) / "credentials.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def encrypt(secret: str) -> bytes:
    return Fernet(_key()).encrypt(secret.encode())


def decrypt(token: bytes | memoryview) -> str:
    try:
        return Fernet(_key()).decrypt(bytes(token)).decode()
    except InvalidToken:
        # Never echo the token: it is the encrypted password.
        raise ValueError("stored credential cannot be decrypted with the current CREDENTIALS_KEY") from None
