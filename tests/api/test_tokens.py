"""Personal access tokens: the API-sleutels page, hashing, scopes, expiry, revocation, the Bearer-only rule, the
rate limit and the audit trail."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from api.models import ApiToken
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def main_of(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client, cast, api) -> None:
    client.force_login(cast.owner)
    made = client.post(
        reverse("api:tokens"), {"name": "Nachtelijke back-up", "scopes": ["read", "backup"], "expires_in_days": "90"}
    )
    assert made.status_code == 200
    secret = re.search(r'<code class="key"[^>]*>(bup_[A-Za-z0-9_-]{40,})</code>', main_of(made)).group(1)
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get())
    assert token.scopes == ["backup", "read"] and token.user == cast.owner
    assert timedelta(days=89) < token.expires_at - token.created_at <= timedelta(days=90)
    # The list shows its name, its first characters and "not used yet"; never the secret again.
    listed = main_of(client.get(reverse("api:tokens")))
    assert secret not in listed
    assert "Nachtelijke back-up" in listed and token.prefix in listed and "Nog niet" in listed
    assert AuditEvent.objects.get(action="api_token_created").actor == cast.owner

    assert api("get", "/administrations/", secret).status_code == 200
    row = re.search(rf'<tr id="token-{token.pk}">.*?</tr>', main_of(client.get(reverse("api:tokens"))), re.S).group(0)
    assert "Nog niet" not in row and "127.0.0.1" in row


def test_the_page_is_in_english_when_chosen(client, cast) -> None:
    client.force_login(cast.owner)
    client.cookies["django_language"] = "en"
    page = main_of(client.get(reverse("api:tokens")))
    assert "API keys" in page and "Create key" in page


def test_a_token_without_name_or_scope_is_refused_with_a_dutch_message(client, cast) -> None:
    client.force_login(cast.owner)
    refused = client.post(reverse("api:tokens"), {"name": " ", "expires_in_days": "30"})
    assert refused.status_code == 400
    assert "Dit veld is verplicht." in main_of(refused)
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_refused_at_once(client, cast, api, make_token) -> None:
    secret = make_token(cast.owner)
    assert api("get", "/administrations/", secret).status_code == 200
    client.force_login(cast.owner)
    token = ApiToken.objects.get()
    client.post(reverse("api:token_revoke", args=[token.pk]))
    refused = api("get", "/administrations/", secret)
    assert refused.status_code == 401
    assert refused.json() == {"code": "token_revoked", "message": "Deze API-sleutel is ingetrokken."}
    assert "Ingetrokken" in main_of(client.get(reverse("api:tokens")))


def test_nobody_revokes_someone_elses_token(client, cast, make_token, api) -> None:
    secret = make_token(cast.owner)
    client.force_login(cast.outsider)
    assert client.post(reverse("api:token_revoke", args=[ApiToken.objects.get().pk])).status_code == 404
    assert api("get", "/administrations/", secret).status_code == 200


def test_expired_unknown_and_malformed_tokens_are_refused(api, cast, make_token) -> None:
    expired = make_token(cast.owner, expires_in=timedelta(seconds=-1))
    response = api("get", "/administrations/", expired)
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    assert api("get", "/administrations/", "bup_" + "x" * 43).json()["code"] == "invalid_token"
    assert api("get", "/administrations/").json()["code"] == "not_authenticated"
    basic = api("get", "/administrations/", headers={"Authorization": "Basic b3duZXI6Z2VoZWlt"})
    assert basic.status_code == 401 and basic["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_a_deactivated_user_is_refused(api, cast, make_token) -> None:
    secret = make_token(cast.owner)
    cast.owner.is_active = False
    cast.owner.save()
    assert api("get", "/administrations/", secret).status_code == 401


@pytest.mark.parametrize("query", ["token", "access_token", "api_key", "x"])
def test_a_token_in_the_query_string_is_refused_even_with_a_good_header(api, cast, make_token, query) -> None:
    secret = make_token(cast.owner)
    response = api("get", f"/administrations/?{query}={secret}", secret)
    assert response.status_code == 400
    assert response.json()["code"] == "token_in_query"
    assert "Authorization: Bearer" in response.json()["message"]


def test_messages_follow_accept_language(api, cast, make_token) -> None:
    secret = make_token(cast.owner, expires_in=timedelta(seconds=-1))
    english = api("get", "/administrations/", secret, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.json() == {
        "code": "token_expired",
        "message": "This API key has expired. Create a new one on the API keys page.",
    }
    assert english["Content-Language"] == "en"
    dutch = api("get", "/administrations/", secret, headers={"Accept-Language": "de, nl;q=0.5"})
    assert dutch.json()["message"].startswith("Deze API-sleutel is verlopen.")


SCOPED_CALLS = [
    ("read", "get", "/administrations/"),
    ("read", "get", "/backups/"),
    ("backup", "post", "/administrations/{administration}/backups"),
    ("backup", "delete", "/backups/{backup}"),
    ("restore", "post", "/backups/{backup}/restore"),
]


@pytest.mark.parametrize("scope", ["read", "backup", "restore"])
def test_each_scope_opens_its_own_calls_only(api, cast, make_token, uploaded, online, scope) -> None:
    secret = make_token(cast.owner, (scope,))
    for needed, method, path in SCOPED_CALLS:
        url = path.format(administration=online.pk, backup=uploaded.pk)
        body = {"name": "", "location": "online"} if "restore" in path else None
        response = api(method, url, secret, json_body=body)
        if needed == scope:
            assert response.status_code != 403, (method, url)
        else:
            assert response.status_code == 403, (method, url)
            assert response.json()["code"] == "insufficient_scope"


def test_the_rate_limit_counts_per_token(api, cast, make_token, settings) -> None:
    settings.API_RATE_LIMIT = 3
    first, second = make_token(cast.owner), make_token(cast.owner, name="ander script")
    statuses = [api("get", "/administrations/", first).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api("get", "/administrations/", first)
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= settings.API_RATE_WINDOW_SECONDS
    # Another token of the same user has its own window.
    assert api("get", "/administrations/", second).status_code == 200


def test_every_api_call_is_in_the_audit_trail_with_the_tokens_name(api, cast, make_token, uploaded) -> None:
    secret = make_token(cast.owner, name="Boekhoudkoppeling")
    api("get", f"/backups/{uploaded.pk}", secret)
    b"".join(api("get", f"/backups/{uploaded.pk}/download", secret).streaming_content)
    api("delete", f"/backups/{uploaded.pk}", secret)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.action for e in events] == ["api_read", "backup_downloaded", "backup_deleted"]
    for event in events:
        assert event.actor == cast.owner and event.ip_address == "127.0.0.1"
        assert event.details["api_token"] == "Boekhoudkoppeling"
    assert events[1].details["api_call"] == f"GET /api/v1/backups/{uploaded.pk}/download"


def test_a_token_without_the_read_scope_learns_nothing_about_which_ids_exist(api, cast, make_token) -> None:
    secret = make_token(cast.owner, ("backup",))
    for pk in (cast.administration.pk, cast.other_administration.pk, 999_999):
        response = api("get", f"/administrations/{pk}", secret)
        assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
