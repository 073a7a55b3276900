from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from administrations.models import Account, Administration, Membership, Package, Right


def _member_label(membership: Membership) -> str:
    return membership.user.get_full_name() or membership.user.username


class RightForm(forms.Form):
    """Rechten → toevoegen: an extra user of the account, an external user by e-mail, or an accountancy firm."""

    grantee_kind = forms.ChoiceField(label=_("Wie"), choices=Right.Grantee.choices, widget=forms.RadioSelect)
    extra_user = forms.ModelChoiceField(label=_("Extra gebruiker"), queryset=Membership.objects.none(), required=False)
    email = forms.EmailField(label=_("E-mailadres van de externe gebruiker"), required=False)
    firm = forms.ModelChoiceField(
        label=_("Accountantskantoor"), queryset=Account.objects.filter(package=Package.ACCOUNTANT), required=False
    )
    role = forms.ChoiceField(label=_("Rol"), choices=Right.Role.choices, initial=Right.Role.BOOKKEEPING)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.administration = administration
        extra_field = self.fields["extra_user"]
        assert isinstance(extra_field, forms.ModelChoiceField)
        extra_field.queryset = Membership.objects.filter(
            account=administration.account, role=Membership.Role.STANDARD
        ).select_related("user")
        extra_field.label_from_instance = _member_label  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("grantee_kind")
        grantee: dict[str, Any] = {}
        if kind == Right.Grantee.EXTRA_USER:
            if not data.get("extra_user"):
                self.add_error("extra_user", _("Kies een extra gebruiker."))
            else:
                grantee = {"user": data["extra_user"].user}
        elif kind == Right.Grantee.EXTERNAL_USER:
            user = get_user_model().objects.filter(email__iexact=data.get("email") or "", is_active=True).first()
            if not data.get("email"):
                self.add_error("email", _("Vul het e-mailadres in."))
            elif user is None:
                self.add_error(
                    "email",
                    _("Er is geen gebruiker met dit e-mailadres. Vraag de gebruiker eerst een account aan te maken."),
                )
            else:
                grantee = {"user": user}
        elif kind == Right.Grantee.FIRM:
            if not data.get("firm"):
                self.add_error("firm", _("Kies een accountantskantoor."))
            else:
                grantee = {"firm": data["firm"]}
        if grantee and Right.objects.filter(administration=self.administration, **grantee).exists():
            raise forms.ValidationError(_("Deze gebruiker of dit kantoor heeft al een recht op deze administratie."))
        data["grantee"] = grantee
        return data
