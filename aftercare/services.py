"""Drafting the to-do list after a restore (R24) and working it off in one or two clicks (R20–R23)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from administrations.models import (
    Account,
    Administration,
    ApiConnection,
    Bank,
    BankConnection,
    Mailbox,
    Membership,
    Package,
    Right,
)
from aftercare.models import AftercareItem
from portal.errors import PortalError

if TYPE_CHECKING:
    from backups.models import Backup

# Sent with `administration` when the last open item of its to-do list is resolved; webhooks listen to it.
aftercare_completed = Signal()

RELINK_BANKS = {Bank.ABN_AMRO, Bank.KNAB}
REQUEST_BANKS = {Bank.ING, Bank.TRIODOS, Bank.RABOBANK, Bank.OTHER}


class AftercareError(PortalError):
    """An aftercare step that cannot be done (yet)."""


def _rights_of_account(account: Account) -> list[dict[str, Any]]:
    """Without a snapshot (an uploaded file): everyone who has a right on any of the account's administrations."""
    seen: set[tuple[str, int]] = set()
    rights = []
    for right in Right.objects.filter(administration__account=account).order_by("pk"):
        key = ("firm", right.firm_id) if right.firm_id else ("user", right.user_id or 0)
        if key in seen:
            continue
        seen.add(key)
        rights.append(
            {"grantee_kind": right.grantee_kind, "user_id": right.user_id, "firm_id": right.firm_id, "role": right.role}
        )
    return rights


# One to-do as drafted: its kind, the parameters of its heading, and the rows it links to.
Draft = tuple[str, dict[str, str], dict[str, Any]]


def aftercare_draft(*, administration: Administration, backup: Backup | None) -> list[AftercareItem]:
    """Draft the to-do list of a restored administration from the back-up's snapshot of its source (or, for an
    uploaded file, from what the owning account has): rights (R20), API connections (R21), banks (R22), the
    mailbox (R23), in that order (R24)."""
    snapshot = (backup.snapshot if backup is not None else None) or {}
    # A snapshot says exactly who had rights (possibly nobody); without one, ask the account.
    rights = snapshot.get("rights", []) if snapshot else _rights_of_account(administration.account)
    drafts = [
        *_draft_rights(administration, rights),
        *_draft_api_connections(administration, snapshot.get("api_connections", [])),
        *_draft_banks(administration, snapshot.get("bank_connections", [])),
        *_draft_mailbox(administration, snapshot.get("mailbox")),
    ]
    items = []
    for position, (kind, params, links) in enumerate(drafts):
        item = AftercareItem(administration=administration, kind=kind, title_params=params, position=position, **links)
        with translation.override(settings.LANGUAGE_CODE):
            item.title = item.heading[:300]  # Dutch, for support's search and the audit trail
        items.append(item)
    return AftercareItem.objects.bulk_create(items)


def _draft_rights(administration: Administration, rights: list[dict[str, Any]]) -> Iterator[Draft]:
    """Every right comes back blocked, so nobody sees the copy before the owner decides (R20). The account's main
    users need none; a firm or user that is gone is left out."""
    main_users = set(
        Membership.objects.filter(account=administration.account, role=Membership.Role.MAIN).values_list(
            "user_id", flat=True
        )
    )
    User = get_user_model()
    for data in rights:
        defaults = {"role": data.get("role") or Right.Role.BOOKKEEPING, "access_blocked": True}
        if data.get("firm_id"):
            firm = Account.objects.filter(pk=data["firm_id"], package=Package.ACCOUNTANT).first()
            if firm is None:
                continue
            right, _created = Right.objects.get_or_create(
                administration=administration, firm=firm, defaults={"grantee_kind": Right.Grantee.FIRM, **defaults}
            )
            grantee = firm.name
        else:
            user = User.objects.filter(pk=data.get("user_id") or 0, is_active=True).first()
            if user is None or user.pk in main_users:
                continue
            right, _created = Right.objects.get_or_create(
                administration=administration, user=user, defaults={"grantee_kind": data["grantee_kind"], **defaults}
            )
            grantee = user.get_full_name() or user.username
        yield AftercareItem.Kind.RIGHT, {"grantee": str(grantee), "kind": right.grantee_kind}, {"right": right}


def _draft_api_connections(administration: Administration, connections: list[dict[str, Any]]) -> Iterator[Draft]:
    """Each API connection needs a new key for the new administration (R21)."""
    for data in connections:
        api_connection = ApiConnection.objects.create(
            administration=administration, partner=data["partner"], status=ApiConnection.Status.KEY_NEEDED
        )
        yield AftercareItem.Kind.API_CONNECTION, {"partner": data["partner"]}, {"api_connection": api_connection}


def _draft_banks(administration: Administration, connections: list[dict[str, Any]]) -> Iterator[Draft]:
    """Bank links (R22): ABN AMRO and Knab are linked again from here, the others are requested at the bank,
    SnelStart Bankieren goes through support."""
    for data in connections:
        bank, iban = data["bank"], data["iban"]
        if bank == Bank.SNELSTART_BANKIEREN:
            yield AftercareItem.Kind.BANK_SUPPORT, {"iban": iban}, {}
            continue
        relink = bank in RELINK_BANKS
        status = BankConnection.Status.RELINK_NEEDED if relink else BankConnection.Status.REQUEST_NEEDED
        connection = BankConnection.objects.create(administration=administration, bank=bank, iban=iban, status=status)
        if relink:
            source = BankConnection.objects.filter(pk=data["id"]).first() if data.get("id") else None
            links = {"bank_connection": connection, "source_bank_connection": source}
            yield AftercareItem.Kind.BANK_RELINK, {"bank": bank, "iban": iban}, links
        else:
            yield AftercareItem.Kind.BANK_REQUEST, {"bank": bank, "iban": iban}, {"bank_connection": connection}


def _draft_mailbox(administration: Administration, mailbox: dict[str, Any] | None) -> Iterator[Draft]:
    """The mailbox is set up again for the new administration (R23)."""
    if not mailbox:
        return
    Mailbox.objects.update_or_create(
        administration=administration, defaults={"address": mailbox["address"], "status": Mailbox.Status.SETUP_NEEDED}
    )
    yield AftercareItem.Kind.MAILBOX, {"address": mailbox["address"]}, {}


def _resolve(item: AftercareItem, user: User, status: str = AftercareItem.Status.DONE) -> None:
    item.status = status
    item.resolved_by = user
    item.resolved_at = timezone.now()
    item.save(update_fields=["status", "resolved_by", "resolved_at"])
    if not AftercareItem.objects.filter(administration_id=item.administration_id).open().exists():
        administration = item.administration
        transaction.on_commit(lambda: aftercare_completed.send(sender=AftercareItem, administration=administration))


def _require_open(item: AftercareItem, kind: str) -> None:
    if item.kind != kind:
        raise AftercareError(_("Deze actie hoort niet bij deze taak."))
    if not item.is_open:
        raise AftercareError(_("Deze taak is al afgehandeld."))


def right_grant(*, item: AftercareItem, user: User) -> None:
    """Toegang geven: unblock the right; the grantee sees the administration at once."""
    _require_open(item, AftercareItem.Kind.RIGHT)
    if item.right is None:
        raise AftercareError(_("Dit recht bestaat niet meer."))
    Right.objects.filter(pk=item.right.pk).update(access_blocked=False)
    _resolve(item, user)


def right_remove(*, item: AftercareItem, user: User) -> None:
    _require_open(item, AftercareItem.Kind.RIGHT)
    from administrations.services import right_remove as remove

    with transaction.atomic():
        if item.right is not None:
            remove(right=item.right, user=user)
            item.right = None
        _resolve(item, user)


def api_key_generate(*, item: AftercareItem, user: User) -> str:
    """A new key for the new administration (R21): returned once to show, only its hash is stored."""
    _require_open(item, AftercareItem.Kind.API_CONNECTION)
    connection = item.api_connection
    if connection is None:
        raise AftercareError(_("Deze koppeling bestaat niet meer."))
    key = connection.set_new_key()
    with transaction.atomic():
        connection.save(update_fields=["key_hash", "key_hint", "status"])
        _resolve(item, user)
    return key


def bank_relink(*, item: AftercareItem, user: User) -> None:
    """Koppel opnieuw (ABN AMRO, Knab, R22): the bank feed moves to the new administration; the old
    administration's link stops, so exactly one administration receives the bank's transactions."""
    _require_open(item, AftercareItem.Kind.BANK_RELINK)
    connection = item.bank_connection
    if connection is None:
        raise AftercareError(_("Deze bankkoppeling bestaat niet meer."))
    with transaction.atomic():
        BankConnection.objects.filter(
            administration__account=item.administration.account,
            iban=connection.iban,
            status=BankConnection.Status.ACTIVE,
        ).exclude(pk=connection.pk).update(status=BankConnection.Status.INACTIVE)
        connection.status = BankConnection.Status.ACTIVE
        connection.save(update_fields=["status"])
        _resolve(item, user)


def bank_requested(*, item: AftercareItem, user: User) -> None:
    """The user requested the connection again at the bank's website (ING, Triodos, Rabobank, R22)."""
    _require_open(item, AftercareItem.Kind.BANK_REQUEST)
    with transaction.atomic():
        if item.bank_connection is not None:
            # Requested, not active: the bank has not done anything yet (it confirms to support, who mark it active).
            BankConnection.objects.filter(pk=item.bank_connection.pk).update(status=BankConnection.Status.REQUESTED)
        _resolve(item, user)


def mailbox_setup(*, item: AftercareItem, user: User, address: str) -> None:
    """Set the mailbox up again (R23)."""
    _require_open(item, AftercareItem.Kind.MAILBOX)
    with transaction.atomic():
        Mailbox.objects.update_or_create(
            administration=item.administration, defaults={"address": address, "status": Mailbox.Status.ACTIVE}
        )
        _resolve(item, user)


def item_done(*, item: AftercareItem, user: User) -> None:
    """Mark a to-do done that has no action of its own here (contacting support about SnelStart Bankieren)."""
    _require_open(item, AftercareItem.Kind.BANK_SUPPORT)
    _resolve(item, user)


def item_dismiss(*, item: AftercareItem, user: User) -> None:
    if not item.is_open:
        raise AftercareError(_("Deze taak is al afgehandeld."))
    _resolve(item, user, AftercareItem.Status.DISMISSED)


def bank_links_taken_over(administration: Administration) -> list[AftercareItem]:
    """The ABN AMRO and Knab links this (restored) administration took over from its source with Koppel opnieuw."""
    return list(
        AftercareItem.objects.filter(
            administration=administration,
            kind=AftercareItem.Kind.BANK_RELINK,
            status=AftercareItem.Status.DONE,
            source_bank_connection__isnull=False,
        ).select_related("source_bank_connection__administration", "bank_connection")
    )


def bank_links_hand_back(administration: Administration) -> list[BankConnection]:
    """Deleting an administration that took over a bank link gives the link back to the administration it came
    from (when that one still exists and no other administration took the IBAN since), so the bank's
    transactions keep arriving somewhere."""
    handed_back = []
    for item in bank_links_taken_over(administration):
        source = item.source_bank_connection
        if source is None or source.status != BankConnection.Status.INACTIVE:
            continue
        taken_since = (
            BankConnection.objects.filter(
                administration__account=source.administration.account,
                iban=source.iban,
                status=BankConnection.Status.ACTIVE,
            )
            .exclude(administration=administration)
            .exists()
        )
        if taken_since:
            continue
        BankConnection.objects.filter(pk=source.pk).update(status=BankConnection.Status.ACTIVE)
        handed_back.append(source)
    return handed_back
