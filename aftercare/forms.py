from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MailboxForm(forms.Form):
    address = forms.EmailField(label=_("E-mailadres van de mailbox"))
