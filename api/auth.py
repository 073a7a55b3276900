"""Bearer authentication with personal access tokens, scopes and a rate limit per token."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.errors import ApiError
from api.models import TOKEN_PREFIX, ApiToken
from portal.audit import client_address

# Names under which scripts commonly put a token in a URL; refused so a token never lands in access logs.
QUERY_TOKEN_NAMES = ("token", "access_token", "api_key", "apikey", "key", "bearer", "auth")


def _unauthenticated(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


class TokenAuth(HttpBearer):
    """`Authorization: Bearer bup_…` only. The request then acts as the token's user, exactly as on the screens."""

    def __call__(self, request: HttpRequest) -> Any:
        for name, values in request.GET.lists():
            if name.lower() in QUERY_TOKEN_NAMES or any(v.startswith(TOKEN_PREFIX) for v in values):
                raise ApiError(
                    400,
                    "token_in_query",
                    _(
                        "Een API-sleutel hoort niet in de URL: die komt in logboeken terecht. Stuur hem in de "
                        "header Authorization: Bearer <sleutel>."
                    ),
                )
        header = request.headers.get("Authorization", "")
        if not header:
            raise _unauthenticated(
                "not_authenticated", _("Stuur een API-sleutel in de header Authorization: Bearer <sleutel>.")
            )
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _unauthenticated(
                "not_authenticated", _("Stuur een API-sleutel in de header Authorization: Bearer <sleutel>.")
            )
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = (
            ApiToken.objects.select_related("user").filter(token_hash=ApiToken.hash_secret(token)).first()
            if token.startswith(TOKEN_PREFIX)
            else None
        )
        if found is None or not found.user.is_active:
            raise _unauthenticated("invalid_token", _("Deze API-sleutel bestaat niet."))
        if found.is_revoked:
            raise _unauthenticated("token_revoked", _("Deze API-sleutel is ingetrokken."))
        if found.is_expired:
            raise _unauthenticated(
                "token_expired", _("Deze API-sleutel is verlopen. Maak een nieuwe op de pagina API-sleutels.")
            )
        rate_limit(found)
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now(), last_used_ip=client_address(request))
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found


def rate_limit(token: ApiToken) -> None:
    """A fixed window per token in the Django cache: at most API_RATE_LIMIT requests per API_RATE_WINDOW_SECONDS."""
    window = int(settings.API_RATE_WINDOW_SECONDS)
    now = int(time.time())
    start = now - now % window
    key = f"api-rate:{token.token_hash[:32]}:{start}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    if count > settings.API_RATE_LIMIT:
        retry_after = start + window - now
        raise ApiError(
            429,
            "rate_limited",
            _("Te veel verzoeken met deze API-sleutel. Probeer het over %(seconds)s seconden opnieuw.")
            % {"seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


def require_scope(request: HttpRequest, scope: str) -> ApiToken:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if scope not in token.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            _("Deze API-sleutel heeft het recht ‘%(scope)s’ niet.") % {"scope": scope},
        )
    return token
