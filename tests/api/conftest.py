from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from administrations import bookkeeping
from administrations.models import Administration, Location
from administrations.services import Target, administration_create
from api.models import ApiToken
from backups.models import Backup
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES

ALL_SCOPES = ("read", "backup", "restore")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def make_token(db: Any) -> Callable[..., str]:
    def make(
        user: Any,
        scopes: tuple[str, ...] = ALL_SCOPES,
        *,
        name: str = "nachtelijk script",
        expires_in: timedelta = timedelta(days=30),
        revoked: bool = False,
    ) -> str:
        secret = ApiToken.new_secret()
        ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[:12],
            token_hash=ApiToken.hash_secret(secret),
            scopes=list(scopes),
            expires_at=timezone.now() + expires_in,
            revoked_at=timezone.now() if revoked else None,
        )
        return secret

    return make


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json_body: Any = None,
        headers: dict | None = None,
        **kwargs: Any,
    ) -> Any:
        all_headers = {**(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method.lower())(f"/api/v1{path}", headers=all_headers, **kwargs)


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def online(cast: Any) -> Administration:
    """The cast's administration with a real database and a little bookkeeping in it."""
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=10),
    )


@pytest.fixture
def uploaded(cast: Any) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")
