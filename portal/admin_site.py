"""The support desk's admin site (`/beheer/`): staff sign in with a password and a second factor.

A second factor is a TOTP code from an authenticator app (django-otp's TOTP device) or, once each, one of ten
recovery codes (django-otp's static device). Staff who have none set one up on `tweestapsverificatie/instellen/`
after their password; staff who have one enter a code on `tweestapsverificatie/`. Until then every admin page
sends them there. `ADMIN_REQUIRE_2FA=false` (the demo only) lets staff in on their password alone.

A refused admin page (PermissionDenied) answers with a Dutch page in the admin's layout instead of a bare 403.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
TOTP_CODE_RE = re.compile(r"^\d{6}$")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )

    def clean_code(self) -> str:
        return re.sub(r"[\s-]", "", self.cleaned_data["code"])


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def second_factor_required() -> bool:
    return bool(getattr(settings, "ADMIN_REQUIRE_2FA", True))


class PortalAdminSite(admin.AdminSite):
    site_header = _("Back-upportaal – klantenservice")
    site_title = _("Back-upportaal beheer")
    index_title = _("Klanten, administraties en back-ups")

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not second_factor_required() or is_verified(request.user)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def refusing(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                return inner(request, *args, **kwargs)
            except PermissionDenied:
                return self.refused(request)

        return refusing

    def refused(self, request: HttpRequest) -> TemplateResponse:
        context = {**self.each_context(request), "title": _("Geen toegang")}
        return TemplateResponse(request, "admin/refused.html", context, status=403)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Signed in with a password but not yet with a second factor: straight on to the code.
        if request.method == "GET" and self._awaits_second_factor(request):
            return self._redirect("admin:otp_verify", request)
        return super().login(request, extra_context)

    def get_urls(self) -> list[Any]:
        urls: list[URLPattern] = [
            path("tweestapsverificatie/", self._second_factor_view(self.verify_view), name="otp_verify"),
            path("tweestapsverificatie/instellen/", self._second_factor_view(self.setup_view), name="otp_setup"),
        ]
        return urls + super().get_urls()

    # The two pages of the second factor: for staff signed in with their password, before has_permission holds.

    def _awaits_second_factor(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and second_factor_required() and not is_verified(user))

    def _second_factor_view(self, view: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
        @wraps(view)
        def inner(request: HttpRequest) -> HttpResponseBase:
            user = request.user
            if not (user.is_active and user.is_staff):
                return self._redirect("admin:login", request)
            return view(request)

        return never_cache(csrf_protect(inner))

    def _redirect(self, name: str, request: HttpRequest) -> HttpResponseRedirect:
        target = self._next(request)
        query = "?" + urlencode({"next": target}) if target != reverse("admin:index") else ""
        return HttpResponseRedirect(reverse(name) + query)

    def _next(self, request: HttpRequest) -> str:
        target = request.POST.get("next") or request.GET.get("next") or ""
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return resolve_url("admin:index")

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {**self.each_context(request), "next": self._next(request), **extra}

    def verify_view(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            return self._redirect("admin:otp_setup", request)
        if is_verified(user):
            return HttpResponseRedirect(self._next(request))
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            device = self._matching_device(user, form.cleaned_data["code"], form)
            if device is not None:
                otp_login(request, device)
                return HttpResponseRedirect(self._next(request))
        context = self._context(request, form=form, title=_("Tweestapsverificatie"))
        return TemplateResponse(request, "admin/otp_verify.html", context)

    def _matching_device(self, user: Any, code: str, form: CodeForm) -> Any:
        # Six digits are an app code, anything else a recovery code: trying only the one kind keeps the other
        # kind's failure counter (throttling) untouched.
        model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if TOTP_CODE_RE.match(code) else StaticDevice
        devices = list(model.objects.filter(user=user, confirmed=True))
        throttled = False
        with transaction.atomic():
            for device in devices:
                allowed, _details = device.verify_is_allowed()
                if not allowed:
                    throttled = True
                    continue
                if device.verify_token(code):
                    return device
        if throttled:
            form.add_error("code", _("Te veel onjuiste codes achter elkaar. Wacht een minuut en probeer het opnieuw."))
        else:
            form.add_error("code", _("Deze code klopt niet. Typ de zes cijfers uit de app, of een herstelcode."))
        return None

    def setup_view(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        if has_device and not is_verified(user):
            # Replacing an app needs the current second factor: a password alone never sets up a new one.
            return self._redirect("admin:otp_verify", request)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=str(_("Authenticator-app")), confirmed=False)
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["code"]):
                codes = self._confirm(user, device)
                otp_login(request, device)
                context = self._context(request, codes=codes, title=_("Herstelcodes"))
                return TemplateResponse(request, "admin/otp_recovery_codes.html", context)
            form.add_error("code", _("Deze code klopt niet. Kijk of de tijd op uw telefoon goed staat."))
        secret = base64.b32encode(device.bin_key).decode()
        context = self._context(
            request,
            form=form,
            title=_("Tweestapsverificatie instellen"),
            qr_svg=segno.make(device.config_url, error="m").svg_inline(scale=4, title=str(_("QR-code voor de app"))),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            otpauth_url=device.config_url,
            replacing=has_device,
        )
        return TemplateResponse(request, "admin/otp_setup.html", context)

    @staticmethod
    @transaction.atomic
    def _confirm(user: Any, device: TOTPDevice) -> list[str]:
        """The new app becomes the one; earlier apps and recovery codes stop working; ten new codes, shown once."""
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name=str(_("Herstelcodes")), confirmed=True)
        codes = [StaticToken.random_token() for _n in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
        return codes
