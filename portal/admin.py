from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Back-upportaal – klantenservice")
admin.site.site_title = _("Back-upportaal beheer")
admin.site.index_title = _("Klanten, administraties en back-ups")
