from __future__ import annotations

from django.urls import path

from administrations import views
from backups.views import mdb_import_view

app_name = "administrations"
urlpatterns = [
    path("", views.administration_list, name="list"),
    path("<int:pk>/", views.administration_detail, name="detail"),
    path("<int:pk>/rechten/", views.right_list, name="rights"),
    path("<int:pk>/rechten/<int:right_pk>/verwijderen/", views.right_remove_view, name="right_remove"),
    path("<int:pk>/rechten/<int:right_pk>/<slug:action>/", views.right_change, name="right_change"),
    path("kantoor/", views.firm_dashboard, name="firm_dashboard"),
    path("kantoor/<int:pk>/rij/", views.firm_client_row, name="firm_client_row"),
    path("bestaande-toevoegen/", mdb_import_view, name="mdb_import"),
]
