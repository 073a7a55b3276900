from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = _("Back-ups")

    def ready(self) -> None:
        from administrations.services import right_removing
        from backups.services import firm_backup_on_revoke

        right_removing.connect(firm_backup_on_revoke, dispatch_uid="firm-backup-on-revoke")
