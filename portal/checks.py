"""The portal's own system checks (run by `manage.py check`, `migrate`, `runserver` and the job worker)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register()
def demo_secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Outside debug mode the portal must not run on the demo key from the repository: anyone could sign sessions,
    password-reset links and CSRF tokens with it."""
    if settings.DEBUG or settings.SECRET_KEY != settings.DEMO_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the demo key from the repository while DEBUG is off.",
            hint="Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; only the demo (DEBUG=1) may use the "
            "built-in key.",
            id="portal.E001",
        )
    ]


@register(Tags.security, deploy=True)
def second_factor_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Staff without a second factor: one stolen password would open every customer's back-ups."""
    if getattr(settings, "ADMIN_REQUIRE_2FA", True):
        return []
    return [
        Warning(
            "ADMIN_REQUIRE_2FA is off: staff enter the admin (/beheer/) with a password alone.",
            hint="Only the demo turns it off; leave ADMIN_REQUIRE_2FA unset (true) in production.",
            id="portal.W201",
        )
    ]
