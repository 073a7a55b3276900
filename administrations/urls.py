from __future__ import annotations

from django.urls import path

from administrations import views

app_name = "administrations"
urlpatterns = [
    path("", views.administration_list, name="list"),
    path("<int:pk>/", views.administration_detail, name="detail"),
]
