from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import Event, Scope
from api.webhooks import WebhookRefused, check_url

EXPIRY_CHOICES = [
    ("30", _("30 dagen")),
    ("90", _("90 dagen")),
    ("180", _("180 dagen")),
    ("365", _("1 jaar")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Naam"), max_length=100, help_text=_("Waarvoor je hem gebruikt, bijvoorbeeld ‘nachtelijke back-up’.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Rechten"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )
    expires_in_days = forms.ChoiceField(label=_("Geldig"), choices=EXPIRY_CHOICES, initial="90")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Geef de sleutel een naam."))
        return name


class WebhookForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=500, help_text=_("Moet met https:// beginnen."))
    events = forms.MultipleChoiceField(
        label=_("Gebeurtenissen"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean_url(self) -> Any:
        url = self.cleaned_data["url"].strip()
        try:
            forms.URLField(assume_scheme="https").clean(url)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("Vul een volledige URL in, bijvoorbeeld https://voorbeeld.nl/webhook.")
            ) from None
        try:
            check_url(url)
        except WebhookRefused as refused:
            raise forms.ValidationError(refused.user_message) from None
        return url
