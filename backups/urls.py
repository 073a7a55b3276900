from __future__ import annotations

from django.urls import path

from backups import schedule_views, views

app_name = "backups"
urlpatterns = [
    path("", views.backup_list, name="list"),
    path("uploaden/", views.backup_upload_view, name="upload"),
    path("terugzetten/", views.restore_choose, name="restore_choose"),
    path("meldingen/", schedule_views.message_preferences, name="messages"),
    path("<int:pk>/", views.backup_detail, name="detail"),
    path("<int:pk>/rij/", views.backup_row, name="row"),
    path("<int:pk>/downloaden/", views.backup_download, name="download"),
    path("<int:pk>/verwijderen/", views.backup_delete_view, name="delete"),
    path("<int:pk>/terugzetten/", views.restore_view, name="restore"),
    path("<int:pk>/controleren/", schedule_views.verify_view, name="verify"),
    path("taken/<int:pk>/", views.job_detail, name="job"),
    path("taken/<int:pk>/opnieuw/", views.job_retry, name="job_retry"),
    path("administratie/<int:pk>/maken/", views.backup_create_view, name="create"),
    path("administratie/<int:pk>/verwijderen/", views.administration_delete_view, name="delete_administration"),
    path("administratie/<int:pk>/automatisch/", schedule_views.schedule_edit, name="schedule"),
    path("administratie/<int:pk>/automatisch/voorbeeld/", schedule_views.schedule_preview, name="schedule_preview"),
]
