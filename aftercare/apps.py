from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftercareConfig(AppConfig):
    name = "aftercare"
    verbose_name = _("Nazorg na terugzetten")

    def ready(self) -> None:
        from backups.services import administration_restored

        administration_restored.connect(_draft, dispatch_uid="aftercare-draft")


def _draft(sender: Any, *, administration: Any, backup: Any, **kwargs: Any) -> None:
    from aftercare.services import aftercare_draft

    aftercare_draft(administration=administration, backup=backup)
