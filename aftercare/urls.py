from __future__ import annotations

from django.urls import path

from aftercare import views

app_name = "aftercare"
urlpatterns = [
    path("administratie/<int:pk>/", views.aftercare_panel, name="panel"),
    path("taak/<int:pk>/<slug:action>/", views.aftercare_action, name="act"),
]
