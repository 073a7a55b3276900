"""Storage quota per account: what its back-ups use, how much it may use, and refusing a back-up that would pass it.

The quota is BACKUP_QUOTA_GB for every account (empty: none), or an account's own (`Account.backup_quota_gb`, set
by support).
Every stored back-up of the account counts (ready ones: their files are in storage). A scheduled back-up may use
the room its own retention round frees right after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from administrations.models import Account, Administration
from backups.models import Backup, BackupSchedule

if TYPE_CHECKING:
    from administrations.permissions import Access

GB = 1_000_000_000


def _limit(own: Decimal | None) -> int | None:
    if own is not None:
        return int(own * GB)
    if settings.BACKUP_QUOTA_GB:
        return int(float(settings.BACKUP_QUOTA_GB) * GB)
    return None


def limit_of(account: Account | int) -> int | None:
    account_id = account.pk if isinstance(account, Account) else account
    return _limit(Account.objects.filter(pk=account_id).values_list("backup_quota_gb", flat=True).first())


def used_by(account: Account | int) -> int:
    account_id = account.pk if isinstance(account, Account) else account
    total = Backup.objects.filter(account_id=account_id, status=Backup.Status.READY).aggregate(total=Sum("size"))
    return int(total["total"] or 0)


def gigabytes(size: int) -> str:
    """2,3 GB: one decimal, in the active language's notation."""
    return f"{number_format(round(size / GB, 1), decimal_pos=1)} GB"


@dataclass
class Usage:
    used: int
    limit: int | None

    @property
    def text(self) -> str:
        if self.limit is None:
            return gigabytes(self.used)
        return _("%(used)s van %(limit)s") % {"used": gigabytes(self.used), "limit": gigabytes(self.limit)}

    @property
    def full(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def usage(account: Account) -> Usage:
    return Usage(used_by(account), limit_of(account))


def usage_for_manager(account: Account, access: Access) -> Usage | None:
    """The account's usage (one query), or None when the user is not one of its main users or administrators: only
    they see all of the account's back-ups."""
    if not access.manages(account.pk):
        return None
    return Usage(used_by(account), _limit(account.backup_quota_gb))


def retention_frees(administration: Administration | None) -> int:
    """What the schedule's retention round removes right after a new scheduled back-up of this administration."""
    if administration is None:
        return 0
    from django.utils import timezone

    from backups import retention

    schedule = BackupSchedule.objects.filter(administration=administration, enabled=True).first()
    if schedule is None:
        return 0
    removed = retention.plan(administration, retention.Rules.of(schedule), upcoming=timezone.now())
    return sum(b.size or 0 for b in removed)


def refusal(account: Account, needed: int, *, freed: int = 0) -> str | None:
    """The Dutch message when `needed` more bytes would pass the account's quota, else None."""
    limit = limit_of(account)
    if limit is None:
        return None
    used = used_by(account)
    if used - freed + needed <= limit:
        return None
    oldest = list(
        Backup.objects.filter(account=account, status=Backup.Status.READY)
        .order_by("created_at", "pk")
        .values_list("administration_name", "created_at", "size")[:3]
    )
    from django.utils import timezone

    suggestions = "; ".join(
        f"{name} {timezone.localtime(created):%d-%m-%Y %H:%M} ({gigabytes(size or 0)})"
        for name, created, size in oldest
    )
    message = _(
        "Deze back-up past niet meer in je opslag: %(used)s van %(limit)s is in gebruik en deze back-up is ongeveer "
        "%(needed)s. Verwijder eerst oude back-ups in het Overzicht Online Back-up."
    ) % {"used": gigabytes(used), "limit": gigabytes(limit), "needed": gigabytes(needed)}
    if suggestions:
        message += " " + _("De oudste zijn: %(list)s.") % {"list": suggestions}
    return str(message)


def estimate(administration: Administration) -> int:
    """How big a new back-up of this administration will be: as big as its last one (0 when there is none)."""
    last = (
        Backup.objects.filter(administration=administration, status=Backup.Status.READY)
        .order_by("-created_at")
        .values_list("size", flat=True)
        .first()
    )
    return int(last or 0)
