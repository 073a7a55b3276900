"""What each kind of user may do: one table, read by the access rule (the querysets), by every view and by every
button in the templates.

A user's *kind* is worked out against the thing they act on. For an administration: main user or administrator of
the owning account, a standard member or an external user with a right (per role), a user of an accountancy firm
with a right (per role, or blocked), or nobody (outsider, support staff: support works in the Django admin).
For a back-up: the same kinds, worked out against the back-up's administration and the overview it sits in; a
firm's back-up of a client follows the firm's right on that client (blocked → nothing; removed → the firm keeps what
it made). Account actions (uploading, restoring, adding an existing administration, the e-mail about back-ups)
follow the user's role in their own account: those land in that account's overview and may cost it money.

On top of the table, the package: inOrde (SnelStart Web) cannot make, upload, restore or schedule back-ups (R4, R13).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from administrations.models import Account, Administration
    from backups.models import Backup


class Action(enum.StrEnum):
    SEE = "see"
    BACKUP_MAKE = "backup_make"
    BACKUP_DOWNLOAD = "backup_download"
    BACKUP_INSPECT = "backup_inspect"
    BACKUP_RESTORE = "backup_restore"
    BACKUP_DELETE = "backup_delete"
    RIGHTS_MANAGE = "rights_manage"
    ADMINISTRATION_DELETE = "administration_delete"
    BACKUP_UPLOAD = "backup_upload"
    AFTERCARE_RESOLVE = "aftercare_resolve"
    # Switch an automatic back-up on, change or switch it off, and see the dry run of its retention (which lists the
    # administration's automatic back-ups and removes some of them later).
    SCHEDULE_MANAGE = "schedule_manage"
    # "Controleren door terugzetten": a test-restore of a back-up into a scratch database nobody sees.
    BACKUP_VERIFY = "backup_verify"
    # The e-mail about back-ups that went wrong: who gets it (the account's main users and administrators) sets it.
    MESSAGES_MANAGE = "messages_manage"


class Kind(enum.StrEnum):
    MAIN = "main"
    ADMINISTRATOR = "administrator"
    MEMBER_FULL = "member_full"
    MEMBER_BOOKKEEPING = "member_bookkeeping"
    MEMBER_READ = "member_read"
    EXTERNAL_FULL = "external_full"
    EXTERNAL_BOOKKEEPING = "external_bookkeeping"
    EXTERNAL_READ = "external_read"
    FIRM_FULL = "firm_full"
    FIRM_BOOKKEEPING = "firm_bookkeeping"
    FIRM_READ = "firm_read"
    FIRM_BLOCKED = "firm_blocked"
    OUTSIDER = "outsider"
    SUPPORT = "support"


class Allowed(enum.Enum):
    NO = "✗"
    YES = "✓"
    # Only back-ups the user made, or all of them for the main user and administrators of the overview's account.
    OWN = "eigen"
    # Only the main user and administrators of the account the back-up is in (a restore lands there and may cost).
    ACCOUNT_MANAGER = "beheerder"


Y, N, OWN, MGR = Allowed.YES, Allowed.NO, Allowed.OWN, Allowed.ACCOUNT_MANAGER
A = Action
_COLUMNS = [
    A.SEE,
    A.BACKUP_MAKE,
    A.BACKUP_DOWNLOAD,
    A.BACKUP_INSPECT,
    A.BACKUP_RESTORE,
    A.BACKUP_DELETE,
    A.RIGHTS_MANAGE,
    A.ADMINISTRATION_DELETE,
    A.BACKUP_UPLOAD,
    A.AFTERCARE_RESOLVE,
    A.SCHEDULE_MANAGE,
    A.BACKUP_VERIFY,
    A.MESSAGES_MANAGE,
]
_ROWS: dict[Kind, list[Allowed]] = {
    #                        see make down insp rest  del  rights adm-del upload aftercare schedule verify messages
    Kind.MAIN:                 [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y],
    Kind.ADMINISTRATOR:        [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y],
    Kind.MEMBER_FULL:          [Y, Y, Y, Y, N, Y, N, N, N, N, N, N, N],
    Kind.MEMBER_BOOKKEEPING:   [Y, Y, Y, Y, N, OWN, N, N, N, N, N, N, N],
    Kind.MEMBER_READ:          [Y, N, N, Y, N, N, N, N, N, N, N, N, N],
    Kind.EXTERNAL_FULL:        [Y, Y, Y, Y, N, N, N, N, N, N, N, N, N],
    Kind.EXTERNAL_BOOKKEEPING: [Y, Y, Y, Y, N, N, N, N, N, N, N, N, N],
    Kind.EXTERNAL_READ:        [Y, N, N, Y, N, N, N, N, N, N, N, N, N],
    Kind.FIRM_FULL:            [Y, Y, Y, Y, MGR, Y, N, N, N, N, N, MGR, N],
    Kind.FIRM_BOOKKEEPING:     [Y, Y, Y, Y, MGR, OWN, N, N, N, N, N, MGR, N],
    Kind.FIRM_READ:            [Y, N, N, Y, N, N, N, N, N, N, N, N, N],
    Kind.FIRM_BLOCKED:         [N, N, N, N, N, N, N, N, N, N, N, N, N],
    Kind.OUTSIDER:             [N, N, N, N, N, N, N, N, N, N, N, N, N],
    Kind.SUPPORT:              [N, N, N, N, N, N, N, N, N, N, N, N, N],
}  # fmt: skip
TABLE: dict[Kind, dict[Action, Allowed]] = {kind: dict(zip(_COLUMNS, row, strict=True)) for kind, row in _ROWS.items()}

# The web-only package (inOrde) has no SnelStart 12, where back-ups are made and restored (R4, R13): nor automatic
# back-ups, nor messages about them.
WEB_ONLY_FORBIDS = frozenset({A.BACKUP_MAKE, A.BACKUP_RESTORE, A.BACKUP_UPLOAD, A.SCHEDULE_MANAGE, A.MESSAGES_MANAGE})

_BY_ROLE = {
    "extra_user": {"full": Kind.MEMBER_FULL, "bookkeeping": Kind.MEMBER_BOOKKEEPING, "read": Kind.MEMBER_READ},
    "external_user": {
        "full": Kind.EXTERNAL_FULL,
        "bookkeeping": Kind.EXTERNAL_BOOKKEEPING,
        "read": Kind.EXTERNAL_READ,
    },
    "firm": {"full": Kind.FIRM_FULL, "bookkeeping": Kind.FIRM_BOOKKEEPING, "read": Kind.FIRM_READ},
}


def kind_of_right(grantee_kind: str, role: str, *, blocked: bool = False) -> Kind:
    if blocked:
        return Kind.FIRM_BLOCKED if grantee_kind == "firm" else Kind.OUTSIDER
    return _BY_ROLE[grantee_kind][role]


def roles_allowing(action: Action, grantee_kind: str) -> list[str]:
    """The roles of an unblocked right of this grantee kind whose holders may do `action` (for querysets)."""
    return [role for role, kind in _BY_ROLE[grantee_kind].items() if TABLE[kind][action] is not Allowed.NO]


def allowed(kind: Kind, action: Action, *, web_only: bool = False) -> Allowed:
    if web_only and action in WEB_ONLY_FORBIDS:
        return Allowed.NO
    return TABLE[kind][action]


# ------------------------------------------------------------------------------------------------ why not

_READ_ONLY = _(
    "Je hebt het recht ‘Alleen inzien’: je kunt deze administratie en haar back-ups bekijken, maar geen back-ups "
    "maken, downloaden, terugzetten of verwijderen."
)
_BLOCKED = _(
    "Geblokkeerd door de klant: de klant heeft de toegang van je kantoor tot deze administratie geblokkeerd. De "
    "back-up blijft bewaard en is weer te gebruiken zodra de klant de toegang weer geeft."
)
_NOT_YOURS = _("Je kunt alleen back-ups verwijderen die je zelf hebt gemaakt.")
_RESTORE_MANAGERS = _(
    "Alleen de hoofdgebruiker en beheerders van het account kunnen back-ups terugzetten: terugzetten maakt een "
    "nieuwe administratie in dat account."
)
_PER_ACTION = {
    A.BACKUP_DELETE: _("Je kunt geen back-ups verwijderen uit het overzicht van een ander account."),
    A.BACKUP_RESTORE: _RESTORE_MANAGERS,
    A.RIGHTS_MANAGE: _("Alleen de hoofdgebruiker en beheerders van het account beheren de rechten."),
    A.ADMINISTRATION_DELETE: _(
        "Alleen de hoofdgebruiker en beheerders van het account kunnen een administratie verwijderen."
    ),
    A.BACKUP_UPLOAD: _(
        "Alleen de hoofdgebruiker en beheerders van een account kunnen back-ups uploaden: een upload komt in het "
        "overzicht van het account."
    ),
    A.AFTERCARE_RESOLVE: _("Alleen de hoofdgebruiker en beheerders van het account werken de nazorg af."),
    A.SCHEDULE_MANAGE: _(
        "Alleen de hoofdgebruiker en beheerders van het account zetten de automatische back-up aan of uit en kiezen "
        "hoe lang back-ups bewaard blijven."
    ),
    A.BACKUP_VERIFY: _(
        "Alleen de hoofdgebruiker en beheerders van het account waarin de back-up staat, laten hem controleren door "
        "terugzetten."
    ),
    A.MESSAGES_MANAGE: _(
        "E-mail over back-ups gaat naar de hoofdgebruiker en beheerders van een account; alleen zij stellen die in."
    ),
}


def web_only_reason(package: str) -> str:
    return gettext(
        "Met het pakket %(package)s kun je geen back-ups maken of terugzetten: daarmee heb je geen toegang tot "
        "SnelStart 12, en alleen daarin worden back-ups gemaakt en teruggezet."
    ) % {"package": package}


@dataclass(frozen=True)
class Decision:
    """May the user do it, and if not, why (a Dutch sentence to show). Truthy when allowed."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def _decide(
    kind: Kind,
    action: Action,
    *,
    package: str = "",
    web_only: bool = False,
    own: bool = False,
    manages_holder: bool = False,
) -> Decision:
    if web_only and action in WEB_ONLY_FORBIDS:
        return Decision(False, web_only_reason(package))
    value = TABLE[kind][action]
    if value is Allowed.YES:
        return Decision(True)
    if value is Allowed.OWN and (own or manages_holder):
        return Decision(True)
    if value is Allowed.ACCOUNT_MANAGER and manages_holder:
        return Decision(True)
    if kind is Kind.FIRM_BLOCKED:
        return Decision(False, str(_BLOCKED))
    if kind in (Kind.MEMBER_READ, Kind.EXTERNAL_READ, Kind.FIRM_READ) and action is not A.RIGHTS_MANAGE:
        return Decision(False, str(_READ_ONLY))
    if value is Allowed.OWN:
        return Decision(False, str(_NOT_YOURS))
    if value is Allowed.ACCOUNT_MANAGER:
        return Decision(False, str(_PER_ACTION.get(action, _RESTORE_MANAGERS)))
    return Decision(False, str(_PER_ACTION.get(action, _("Dat kan niet met je rechten op deze administratie."))))


# ------------------------------------------------------------------------------------------------ per user


class Access:
    """One user's kinds, loaded once (two queries) and then answered from memory, so a list page asks nothing per
    row. Views get it with `access_for(request)`; templates with `{% decide thing "action" as name %}`."""

    def __init__(self, user: AbstractBaseUser | AnonymousUser) -> None:
        self.user = user

    @cached_property
    def _memberships(self) -> dict[int, tuple[str, str]]:
        """account id → (membership role, package)."""
        from administrations.models import Membership

        if not self.user.is_authenticated or not self.user.is_active:
            return {}
        rows = Membership.objects.filter(user_id=self.user.pk).values_list("account_id", "role", "account__package")
        return {account_id: (role, package) for account_id, role, package in rows}

    @cached_property
    def _rights(self) -> tuple[dict[int, tuple[str, str, bool]], dict[tuple[int, int], tuple[str, bool]]]:
        """The user's own rights (administration id → grantee kind, role, blocked) and their firms' rights
        ((firm id, administration id) → role, blocked)."""
        from administrations.models import Package, Right

        firms = [a for a, (_role, package) in self._memberships.items() if package == Package.ACCOUNTANT]
        own: dict[int, tuple[str, str, bool]] = {}
        by_firm: dict[tuple[int, int], tuple[str, bool]] = {}
        if not self.user.is_authenticated or not self.user.is_active:
            return own, by_firm
        from django.db.models import Q

        rows = Right.objects.filter(Q(user_id=self.user.pk) | Q(firm_id__in=firms)).values_list(
            "administration_id", "grantee_kind", "role", "access_blocked", "user_id", "firm_id"
        )
        for administration_id, grantee_kind, role, blocked, user_id, firm_id in rows:
            if user_id == self.user.pk:
                own[administration_id] = (grantee_kind, role, blocked)
            else:
                by_firm[(firm_id, administration_id)] = (role, blocked)
        return own, by_firm

    def works_at_firm(self) -> bool:
        """Whether the user is in an accountancy firm's account (the firm's Klanten page)."""
        from administrations.models import Package

        return any(package == Package.ACCOUNTANT for _role, package in self._memberships.values())

    def manages(self, account_id: int | None) -> bool:
        role = self._memberships.get(account_id or 0, ("", ""))[0]
        return role in ("main", "administrator")

    def _account_kind(self, account_id: int) -> Kind | None:
        role = self._memberships.get(account_id, ("", ""))[0]
        return {"main": Kind.MAIN, "administrator": Kind.ADMINISTRATOR}.get(role)

    def _nobody(self) -> Kind:
        return Kind.SUPPORT if getattr(self.user, "is_staff", False) else Kind.OUTSIDER

    def kind(self, administration: Administration) -> Kind:
        """Who the user is for this administration: the first route that gives access, else a blocked firm route."""
        from administrations.models import Package

        managed = self._account_kind(administration.account_id)
        if managed is not None:
            return managed
        own, by_firm = self._rights
        mine = own.get(administration.pk)
        if mine is not None and not mine[2]:
            return kind_of_right(mine[0], mine[1])
        blocked = False
        for firm_id, (_role, package) in self._memberships.items():
            firm_right = by_firm.get((firm_id, administration.pk))
            if package != Package.ACCOUNTANT or firm_right is None or firm_id == administration.account_id:
                continue
            if not firm_right[1]:
                return kind_of_right("firm", firm_right[0])
            blocked = True
        return Kind.FIRM_BLOCKED if blocked else self._nobody()

    def backup_kind(self, backup: Backup) -> Kind:
        """A firm's back-up of a client follows the firm's right on that client: blocked → nothing, removed (or the
        administration deleted) → the firm keeps what it made. Any other back-up follows the user's kind on its
        administration, and only the owning account's managers see back-ups without one (uploads, deleted ones)."""
        if backup.client_account_id is not None and backup.account_id in self._memberships:
            firm_right = self._rights[1].get((backup.account_id, backup.administration_id or 0))
            if firm_right is None:
                return Kind.FIRM_FULL
            return kind_of_right("firm", firm_right[0], blocked=firm_right[1])
        managed = self._account_kind(backup.account_id)
        if managed is not None:
            return managed
        if backup.client_account_id is None and backup.administration_id is not None:
            mine = self._rights[0].get(backup.administration_id)
            if mine is not None:
                return kind_of_right(mine[0], mine[1], blocked=mine[2])
        return self._nobody()

    def decide(self, subject: Administration | Backup | Account | None, action: Action | str) -> Decision:
        from administrations.models import Account, Administration

        action = Action(action)
        if isinstance(subject, Administration):
            account = subject.account
            return _decide(
                self.kind(subject),
                action,
                package=account.get_package_display(),
                web_only=account.capabilities.web_only,
            )
        if isinstance(subject, Account) or subject is None:
            # Account actions: the user's role in their own account.
            if subject is None:
                return _decide(self._nobody(), action)
            role = self._memberships.get(subject.pk, ("", ""))[0]
            kind = {"main": Kind.MAIN, "administrator": Kind.ADMINISTRATOR}.get(role)
            if kind is None:
                kind = Kind.MEMBER_FULL if role else self._nobody()
            return _decide(kind, action, package=subject.get_package_display(), web_only=subject.capabilities.web_only)
        backup = subject
        holder = backup.account
        return _decide(
            self.backup_kind(backup),
            action,
            package=holder.get_package_display(),
            web_only=holder.capabilities.web_only,
            own=backup.created_by_id is not None and backup.created_by_id == self.user.pk,
            manages_holder=self.manages(backup.account_id),
        )

    def allows(self, subject: Administration | Backup | Account | None, action: Action | str) -> bool:
        return self.decide(subject, action).allowed

    def makes_any_backup(self) -> bool:
        """Whether the user may make a back-up of anything at all (for the empty overview's hint)."""
        from administrations.models import Administration

        administrations = Administration.objects.visible_to(self.user).select_related("account")
        return any(self.allows(a, A.BACKUP_MAKE) for a in administrations)


def access_for(request: HttpRequest) -> Access:
    """The request user's Access, made once per request."""
    access = getattr(request, "_access", None)
    if access is None or access.user is not request.user:
        access = Access(request.user)
        request._access = access  # type: ignore[attr-defined]
    return access


def refuse(request: HttpRequest, decision: Decision | str, *, back: str = "") -> HttpResponse:
    """What the user may see but not do: 403 with the reason, in the page (a hidden button's URL typed by hand)."""
    reason = decision.reason if isinstance(decision, Decision) else decision
    context: dict[str, Any] = {"reason": reason, "back": back}
    return render(request, "administrations/refused.html", context, status=403)
