from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class DutchFirstLocaleMiddleware:
    """Dutch unless the user chose another language (the language switch sets a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which turns the portal English on many
    Dutch bookkeepers' computers set up in English; the product speaks Dutch first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # Scoped to this request: work that runs after it in the same thread (a job run on commit, the next
        # request) must not inherit one user's language.
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
