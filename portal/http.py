"""HTTP answers shared by every app's views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails

# A form that was refused answers 422 (Unprocessable Content) with the form and its errors: htmx is configured in
# base.html to swap 422 in place, and django-htmx's debug handler (DEBUG) leaves 422 alone — it replaces the whole
# page with any 400 response, which would lose the page, its styling and the user's choices.
FORM_REFUSED = 422


class PortalRequest(HttpRequest):
    """The request a signed-in screen gets: `user` is a real user (login_required let it through) and `htmx`
    says whether htmx sent it (django-htmx's middleware). Views type their request with this instead of ignoring
    the types at every use."""

    user: User
    htmx: HtmxDetails


def htmx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for an HTMX request (which would otherwise swap the target page in)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
