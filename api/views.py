"""API-sleutels (personal access tokens) and webhooks: the screens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from administrations.models import Account, account_of, manages_account
from api.forms import TokenForm, WebhookForm
from api.models import ApiToken, Webhook
from backups import credentials
from portal import audit
from portal.http import PortalRequest
from portal.models import AuditEvent

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a recognisable prefix, not a secret


def _managed_account(request: PortalRequest) -> Account | None:
    """Webhooks belong to the account; its main users and administrators manage them."""
    account = account_of(request.user)
    return account if account is not None and manages_account(request.user, account) else None


def _token_page(request: PortalRequest, form: TokenForm, new_secret: str = "", status: int = 200) -> HttpResponse:
    tokens = ApiToken.objects.filter(user_id=request.user.pk or 0)
    account = _managed_account(request)
    context = {
        "form": form,
        "tokens": tokens,
        "new_secret": new_secret,
        "account": account,
        "webhooks": Webhook.objects.filter(account=account) if account else [],
        "api_base": request.build_absolute_uri("/api/v1/"),
    }
    return render(request, "api/token_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: PortalRequest) -> HttpResponse:
    """API-sleutels: your personal access tokens; a new one is shown once, only its hash is kept."""
    if request.method != "POST":
        return _token_page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _token_page(request, form, status=400)
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=request.user,
        name=form.cleaned_data["name"],
        prefix=secret[:12],
        token_hash=ApiToken.hash_secret(secret),
        scopes=sorted(form.cleaned_data["scopes"]),
        expires_at=timezone.now() + timedelta(days=int(form.cleaned_data["expires_in_days"])),
    )
    audit.record(
        request,
        AuditEvent.Action.API_TOKEN_CREATED,
        account=account_of(request.user),
        target=token.name,
        api_token=token.name,
        scopes=token.scopes,
    )
    # Not a redirect: the secret is in this answer only.
    return _token_page(request, TokenForm(), new_secret=secret)


@login_required
@require_POST
def token_revoke(request: PortalRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user_id=request.user.pk)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        audit.record(
            request,
            AuditEvent.Action.API_TOKEN_REVOKED,
            account=account_of(request.user),
            target=token.name,
            api_token=token.name,
        )
        messages.success(request, _("De API-sleutel ‘%(name)s’ is ingetrokken.") % {"name": token.name})
    return redirect("api:tokens")


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: PortalRequest) -> HttpResponse:
    account = _managed_account(request)
    if account is None:
        raise Http404
    form = WebhookForm(request.POST or None)
    new_secret = ""
    created = None
    if request.method == "POST" and form.is_valid():
        new_secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
        created = Webhook.objects.create(
            account=account,
            url=form.cleaned_data["url"],
            secret=credentials.encrypt(new_secret),
            events=sorted(form.cleaned_data["events"]),
            created_by=request.user,
        )
        audit.record(request, AuditEvent.Action.WEBHOOK_CREATED, account=account, target=created.url)
        form = WebhookForm()
    context = {
        "form": form,
        "account": account,
        "webhooks": Webhook.objects.filter(account=account),
        "new_secret": new_secret,
        "created": created,
    }
    return render(request, "api/webhook_list.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def webhook_detail(request: PortalRequest, pk: int) -> HttpResponse:
    account = _managed_account(request)
    if account is None:
        raise Http404
    webhook = get_object_or_404(Webhook, pk=pk, account=account)
    deliveries = webhook.deliveries.all()[:50]
    return render(request, "api/webhook_detail.html", {"webhook": webhook, "deliveries": deliveries})


@login_required
@require_POST
def webhook_delete(request: PortalRequest, pk: int) -> HttpResponse:
    account = _managed_account(request)
    if account is None:
        raise Http404
    webhook = get_object_or_404(Webhook, pk=pk, account=account)
    audit.record(request, AuditEvent.Action.WEBHOOK_DELETED, account=account, target=webhook.url)
    webhook.delete()
    messages.success(request, _("De webhook naar %(url)s is verwijderd.") % {"url": webhook.url})
    return redirect("api:webhooks")
