from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from api.api import api
from api.api import not_found_view as api_not_found
from portal import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("gezondheid/", health.health, name="health"),
    path("inloggen/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("uitloggen/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "wachtwoord-vergeten/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            extra_email_context={"hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)},
        ),
        name="password_reset",
    ),
    path("wachtwoord-vergeten/verstuurd/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "wachtwoord-herstellen/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "wachtwoord-herstellen/klaar/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("taal/", include("django.conf.urls.i18n")),
    path("beheer/", admin.site.urls),
    path("administraties/", include("administrations.urls")),
    path("back-ups/", include("backups.urls")),
    path("nazorg/", include("aftercare.urls")),
    path("api-sleutels/", include("api.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
]
