"""The permission table from every side: each kind of user × each action, performed through the real view, with the
outcome a user would notice (back-up made or not, file downloaded or not, right added or not …) and the button
inside <main> shown exactly when the action is allowed. Plus: a firm whose right is blocked cannot use the back-ups
it made of that client until it is unblocked; what the removal page promises; who made each back-up; what inOrde
and read-only users are told."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from administrations import bookkeeping
from administrations.models import Account, Administration, Location, Membership, Package, Right
from administrations.permissions import TABLE, WEB_ONLY_FORBIDS, Access, Action, Allowed, Kind, allowed
from administrations.services import Target, administration_create
from aftercare.models import AftercareItem
from backups.models import Backup, BackupSchedule, Job, MessagePreference
from backups.services import backup_upload
from tests.administrations.pages import links_in_main, main_text
from tests.bacpac.samples import SAMPLES

pytestmark = pytest.mark.django_db

# "inorde" is the main user of an account on the web-only package: the MAIN row without what inOrde cannot do.
KINDS = [*(kind.value for kind in Kind), "inorde"]


@dataclass
class World:
    user: Any
    kind: Kind
    web_only: bool
    administration: Administration
    backup: Backup  # the back-up this kind of user meets: the owner's, or for a firm the firm's of this client
    made_by_other: Any


def _user(django_user_model: Any, name: str, **extra: Any) -> Any:
    return django_user_model.objects.create_user(name, f"{name}@example.nl", "geheim-wachtwoord", **extra)


def _uploaded(account: Account, user: Any, administration: Administration, **extra: Any) -> Backup:
    """A real, verified back-up file in the account's overview, of `administration`, made by `user`."""
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=account, user=user, source=source, file_name="pubs.bacpac")
    Backup.objects.filter(pk=backup.pk).update(
        administration=administration, administration_name=administration.name, origin=Backup.Origin.MANUAL, **extra
    )
    backup.refresh_from_db()
    return backup


def build_world(django_user_model: Any, name: str) -> World:
    owner = _user(django_user_model, "jan")
    package = Package.INORDE if name == "inorde" else Package.INZICHT
    bakery = Account.objects.create(name="Bakkerij", package=Package.INZICHT)
    Membership.objects.create(user=owner, account=bakery, role=Membership.Role.MAIN)
    administration = administration_create(
        account=bakery,
        name="Bakkerij BV",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=5),
    )
    owners_backup = _uploaded(bakery, owner, administration)
    if package == Package.INORDE:  # back-ups made before the package changed stay the customer's
        bakery.package = package
        bakery.save()
    firm = Account.objects.create(name="Kantoor", package=Package.ACCOUNTANT)
    firm_owner = _user(django_user_model, "eva")
    Membership.objects.create(user=firm_owner, account=firm, role=Membership.Role.MAIN)
    kind = Kind.MAIN if name == "inorde" else Kind(name)
    backup, made_by_other = owners_backup, owner
    if kind in (Kind.MAIN,):
        user = owner
    elif kind is Kind.ADMINISTRATOR:
        user = _user(django_user_model, "beheerder")
        Membership.objects.create(user=user, account=bakery, role=Membership.Role.ADMINISTRATOR)
    elif kind.name.startswith("MEMBER_") or kind.name.startswith("EXTERNAL_"):
        user = _user(django_user_model, "gebruiker")
        member = kind.name.startswith("MEMBER_")
        if member:
            Membership.objects.create(user=user, account=bakery, role=Membership.Role.STANDARD)
        Right.objects.create(
            administration=administration,
            grantee_kind=Right.Grantee.EXTRA_USER if member else Right.Grantee.EXTERNAL_USER,
            user=user,
            role=kind.name.split("_")[1].lower(),
        )
    elif kind.name.startswith("FIRM_"):
        user = _user(django_user_model, "mark")
        Membership.objects.create(user=user, account=firm, role=Membership.Role.STANDARD)
        role = "bookkeeping" if kind is Kind.FIRM_BLOCKED else kind.name.split("_")[1].lower()
        Right.objects.create(
            administration=administration,
            grantee_kind=Right.Grantee.FIRM,
            firm=firm,
            role=role,
            access_blocked=kind is Kind.FIRM_BLOCKED,
        )
        backup = _uploaded(firm, firm_owner, administration, client_account=bakery)
        made_by_other = firm_owner
    else:  # an outsider (no account, no right) or support staff
        user = _user(django_user_model, "buiten", is_staff=kind is Kind.SUPPORT)
    return World(user, kind, name == "inorde", administration, backup, made_by_other)


# --- how each action is done, how its outcome shows, where its button is -------------------------------------


def _see(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    response = client.get(reverse("administrations:detail", args=[w.administration.pk]))
    return response, response.status_code == 200 and "Bakkerij BV" in main_text(response)


def _make(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    before = Backup.objects.count()
    with capture(execute=True):
        response = client.post(reverse("backups:create", args=[w.administration.pk]))
    made = Backup.objects.filter(status=Backup.Status.READY).count() > before
    return response, made


def _download(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    response = client.get(reverse("backups:download", args=[w.backup.pk]))
    if response.status_code != 200 or not response.streaming:
        return response, False
    return response, hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == w.backup.sha256


def _inspect(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    response = client.get(reverse("backups:detail", args=[w.backup.pk]))
    return response, response.status_code == 200 and "dbo.authors" in main_text(response)


def _restore(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    with capture(execute=True):
        response = client.post(
            reverse("backups:restore", args=[w.backup.pk]),
            {"name": "Teruggezet", "location": "local", "local_path": "teruggezet/pubs"},
        )
    return response, Administration.objects.filter(name="Teruggezet").exists()


def _delete(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    with capture(execute=True):
        response = client.post(reverse("backups:delete", args=[w.backup.pk]))
    return response, not Backup.objects.filter(pk=w.backup.pk).exists()


def _rights(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("nieuw", "nieuw@example.nl", "x")
    response = client.post(
        reverse("administrations:rights", args=[w.administration.pk]),
        {"grantee_kind": "external_user", "email": "nieuw@example.nl", "role": "read"},
    )
    return response, Right.objects.filter(user__username="nieuw").exists()


def _delete_administration(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    with capture(execute=True):
        response = client.post(
            reverse("backups:delete_administration", args=[w.administration.pk]), {"naam": "Bakkerij BV"}
        )
    return response, not Administration.objects.filter(pk=w.administration.pk, status="active").exists()


def _upload(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    upload = SimpleUploadedFile("eigen.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())
    with capture(execute=True):
        response = client.post(reverse("backups:upload"), {"file": upload})
    return response, Backup.objects.filter(original_file_name="eigen.bacpac", status=Backup.Status.READY).exists()


def _aftercare(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    item = AftercareItem.objects.get(administration=w.administration)
    response = client.post(reverse("aftercare:act", args=[item.pk, "niet-nodig"]))
    item.refresh_from_db()
    return response, not item.is_open


SCHEDULE_FORM = {
    "enabled": "on",
    "frequency": "daily",
    "time_of_day": "02:00",
    "keep_daily": "7",
    "keep_weekly": "4",
    "keep_monthly": "12",
}


def _schedule(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    response = client.post(reverse("backups:schedule", args=[w.administration.pk]), SCHEDULE_FORM)
    return response, BackupSchedule.objects.filter(administration=w.administration, enabled=True).exists()


def _verify(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    with capture(execute=True):
        response = client.post(reverse("backups:verify", args=[w.backup.pk]))
    w.backup.refresh_from_db()
    return response, w.backup.verification == Backup.Verification.VERIFIED


def _messages(client: Any, w: World, capture: Any) -> tuple[Any, bool]:
    response = client.post(reverse("backups:messages"), {"language": "en"})  # the e-mail switched off
    return response, MessagePreference.objects.filter(user=w.user, backup_mail=False).exists()


@dataclass(frozen=True)
class Check:
    perform: Callable[[Any, World, Any], tuple[Any, bool]]
    page: Callable[[World], str]  # where the button is
    button: Callable[[World], str]  # the URL the button points at
    on_backup: bool = False  # the subject is the back-up (listed greyed for a blocked firm), not the administration
    account_level: bool = False  # the subject is the user's own account


CHECKS: dict[Action, Check] = {
    Action.SEE: Check(
        _see,
        lambda w: reverse("administrations:list"),
        lambda w: reverse("administrations:detail", args=[w.administration.pk]),
    ),
    Action.BACKUP_MAKE: Check(
        _make,
        lambda w: reverse("administrations:list"),
        lambda w: reverse("backups:create", args=[w.administration.pk]),
    ),
    Action.BACKUP_DOWNLOAD: Check(
        _download, lambda w: reverse("backups:list"), lambda w: reverse("backups:download", args=[w.backup.pk]), True
    ),
    Action.BACKUP_INSPECT: Check(
        _inspect, lambda w: reverse("backups:list"), lambda w: reverse("backups:detail", args=[w.backup.pk]), True
    ),
    Action.BACKUP_RESTORE: Check(
        _restore, lambda w: reverse("backups:list"), lambda w: reverse("backups:restore", args=[w.backup.pk]), True
    ),
    Action.BACKUP_DELETE: Check(
        _delete, lambda w: reverse("backups:list"), lambda w: reverse("backups:delete", args=[w.backup.pk]), True
    ),
    Action.RIGHTS_MANAGE: Check(
        _rights,
        lambda w: reverse("administrations:detail", args=[w.administration.pk]),
        lambda w: reverse("administrations:rights", args=[w.administration.pk]),
    ),
    Action.ADMINISTRATION_DELETE: Check(
        _delete_administration,
        lambda w: reverse("administrations:list"),
        lambda w: reverse("backups:delete_administration", args=[w.administration.pk]),
    ),
    Action.BACKUP_UPLOAD: Check(
        _upload, lambda w: reverse("backups:list"), lambda w: reverse("backups:upload"), account_level=True
    ),
    Action.AFTERCARE_RESOLVE: Check(
        _aftercare,
        lambda w: reverse("administrations:detail", args=[w.administration.pk]),
        lambda w: reverse(
            "aftercare:act", args=[AftercareItem.objects.get(administration=w.administration).pk, "niet-nodig"]
        ),
    ),
    Action.SCHEDULE_MANAGE: Check(
        _schedule,
        lambda w: reverse("administrations:detail", args=[w.administration.pk]),
        lambda w: reverse("backups:schedule", args=[w.administration.pk]),
    ),
    Action.BACKUP_VERIFY: Check(
        _verify, lambda w: reverse("backups:list"), lambda w: reverse("backups:verify", args=[w.backup.pk]), True
    ),
    Action.MESSAGES_MANAGE: Check(
        _messages, lambda w: reverse("backups:list"), lambda w: reverse("backups:messages"), account_level=True
    ),
}


def test_every_action_of_the_table_is_checked() -> None:
    assert set(CHECKS) == set(Action)
    assert set(TABLE) == set(Kind)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("name", KINDS)
def test_each_kind_of_user_can_do_exactly_what_the_table_says(
    client, django_user_model, django_capture_on_commit_callbacks, name: str, action: Action
) -> None:
    world = build_world(django_user_model, name)
    AftercareItem.objects.create(administration=world.administration, kind="mailbox", title="Mailbox instellen")
    check = CHECKS[action]
    # The back-up this user meets was made by someone else, in an overview the user does not manage: "own" and
    # "the account's managers only" do not apply (they have their own tests below).
    expected = allowed(world.kind, action, web_only=world.web_only) is Allowed.YES
    client.force_login(world.user)

    page = client.get(check.page(world))
    button = check.button(world)
    shown = page.status_code == 200 and button in links_in_main(page)
    assert shown == expected, f"button {button} shown={shown} on {check.page(world)}"

    response, done = check.perform(client, world, django_capture_on_commit_callbacks)
    assert done == expected, f"{name} {action}: done={done} (status {response.status_code})"
    if not expected:
        sees = allowed(world.kind, Action.SEE) is Allowed.YES or (check.on_backup and world.kind is Kind.FIRM_BLOCKED)
        if sees or check.account_level:
            # Seen but not allowed: 403 with the reason in Dutch, in the page.
            assert response.status_code == 403
            assert len(main_text(response)) > 40
        else:
            assert response.status_code == 404


# --- "own" and "the account's managers": the scoped values ------------------------------------------------------


def test_a_bookkeeping_member_deletes_the_back_ups_they_made_but_not_the_main_users(client, django_user_model) -> None:
    world = build_world(django_user_model, "member_bookkeeping")
    own = _uploaded(world.administration.account, world.user, world.administration)
    client.force_login(world.user)
    overview = links_in_main(client.get(reverse("backups:list")))
    assert reverse("backups:delete", args=[own.pk]) in overview
    assert reverse("backups:delete", args=[world.backup.pk]) not in overview
    refused = client.post(reverse("backups:delete", args=[world.backup.pk]))
    assert refused.status_code == 403 and "alleen back-ups verwijderen die je zelf hebt gemaakt" in main_text(refused)
    client.post(reverse("backups:delete", args=[own.pk]))
    assert not Backup.objects.filter(pk=own.pk).exists() and Backup.objects.filter(pk=world.backup.pk).exists()


def test_a_firms_main_user_restores_the_firms_back_up_of_a_client_and_its_staff_do_not(
    client, django_user_model, django_capture_on_commit_callbacks
) -> None:
    world = build_world(django_user_model, "firm_full")
    client.force_login(world.user)
    refused = client.post(reverse("backups:restore", args=[world.backup.pk]), {"name": "X", "location": "local"})
    assert refused.status_code == 403 and "Alleen de hoofdgebruiker en beheerders" in main_text(refused)
    client.force_login(world.made_by_other)  # the firm's main user
    assert reverse("backups:restore", args=[world.backup.pk]) in links_in_main(client.get(reverse("backups:list")))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("backups:restore", args=[world.backup.pk]),
            {"name": "Klant teruggezet", "location": "local", "local_path": "klant"},
        )
    assert Administration.objects.get(name="Klant teruggezet").account.package == Package.ACCOUNTANT


# --- what the table promises, in the words of the brief and the article ----------------------------------------


def test_the_table_says_what_the_rules_say() -> None:
    everything = set(Action)
    for kind in (Kind.MAIN, Kind.ADMINISTRATOR):
        assert {a for a in Action if TABLE[kind][a] is Allowed.YES} == everything
    for kind in (Kind.MEMBER_READ, Kind.EXTERNAL_READ, Kind.FIRM_READ):
        may = {a for a in Action if TABLE[kind][a] is not Allowed.NO}
        assert may == {Action.SEE, Action.BACKUP_INSPECT}
    for kind in (Kind.MEMBER_BOOKKEEPING, Kind.EXTERNAL_BOOKKEEPING, Kind.FIRM_BOOKKEEPING):
        assert TABLE[kind][Action.BACKUP_MAKE] is Allowed.YES
        assert TABLE[kind][Action.BACKUP_DELETE] in (Allowed.OWN, Allowed.NO)
        assert TABLE[kind][Action.RIGHTS_MANAGE] is Allowed.NO
    for kind in (Kind.EXTERNAL_FULL, Kind.EXTERNAL_BOOKKEEPING, Kind.EXTERNAL_READ):
        assert TABLE[kind][Action.BACKUP_DELETE] is Allowed.NO  # never another account's back-ups
    for kind in (Kind.FIRM_BLOCKED, Kind.OUTSIDER, Kind.SUPPORT):
        assert all(value is Allowed.NO for value in TABLE[kind].values())
    assert {Action.BACKUP_MAKE, Action.BACKUP_RESTORE} <= WEB_ONLY_FORBIDS  # R4, R13


def test_the_readme_shows_the_table_from_the_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.match(r"`(\w+)`:", cells[0])
        if match and match.group(1) in KINDS:
            rows[match.group(1)] = cells[1:]
    assert set(rows) == set(KINDS)
    for name, cells in rows.items():
        kind, web_only = (Kind.MAIN, True) if name == "inorde" else (Kind(name), False)
        assert cells == [allowed(kind, action, web_only=web_only).value for action in Action], name


# --- 3: blocking a firm blocks the firm ------------------------------------------------------------------------


def test_a_blocked_firm_cannot_download_inspect_or_restore_what_it_made_until_unblocked(
    client, django_user_model, django_capture_on_commit_callbacks
) -> None:
    world = build_world(django_user_model, "firm_full")
    backup = world.backup
    right = Right.objects.get(firm__isnull=False)
    urls = {
        "download": reverse("backups:download", args=[backup.pk]),
        "detail": reverse("backups:detail", args=[backup.pk]),
        "restore": reverse("backups:restore", args=[backup.pk]),
    }
    client.force_login(world.user)
    # The client blocks the firm.
    owner = Membership.objects.get(role="main", account=world.administration.account).user
    owner_client = client.__class__()
    owner_client.force_login(owner)
    owner_client.post(reverse("administrations:right_change", args=[world.administration.pk, right.pk, "blokkeren"]))
    right.refresh_from_db()
    assert right.access_blocked

    for who in (world.user, world.made_by_other):  # staff and the firm's main user alike
        client.force_login(who)
        overview = client.get(reverse("backups:list"))
        row = re.search(rf'<tr id="backup-{backup.pk}".*?</tr>', overview.content.decode(), re.DOTALL)
        assert row, "the back-up stays listed"
        assert "Geblokkeerd door de klant" in row.group(0)
        assert not set(urls.values()) & links_in_main(overview)
        for name, url in urls.items():
            response = client.get(url)
            assert response.status_code == 403, name
            assert "Geblokkeerd door de klant" in main_text(response)
            assert not getattr(response, "streaming", False)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(urls["restore"], {"name": "Stiekem", "location": "local", "local_path": "stiekem"})
        assert not Administration.objects.filter(name="Stiekem").exists()
    assert Backup.objects.filter(pk=backup.pk, status=Backup.Status.READY).exists()  # kept, not deleted

    owner_client.post(reverse("administrations:right_change", args=[world.administration.pk, right.pk, "deblokkeren"]))
    client.force_login(world.made_by_other)
    assert {urls["download"], urls["detail"], urls["restore"]} <= links_in_main(client.get(reverse("backups:list")))
    download = client.get(urls["download"])
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == backup.sha256
    assert "dbo.authors" in main_text(client.get(urls["detail"]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(urls["restore"], {"name": "Weer terug", "location": "local", "local_path": "weer"})
    assert Administration.objects.filter(name="Weer terug").exists()


def test_after_a_firms_right_is_removed_the_firm_keeps_what_it_made(client, django_user_model) -> None:
    world = build_world(django_user_model, "firm_bookkeeping")
    Right.objects.filter(firm__isnull=False).delete()
    client.force_login(world.user)
    response = client.get(reverse("backups:download", args=[world.backup.pk]))
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == world.backup.sha256


def test_the_removal_page_says_what_the_firm_keeps_and_that_blocking_is_the_way_to_stop_it(
    client, django_user_model
) -> None:
    world = build_world(django_user_model, "firm_full")
    right = Right.objects.get(firm__isnull=False)
    client.force_login(Membership.objects.get(role="main", account=world.administration.account).user)
    text = main_text(client.get(reverse("administrations:right_remove", args=[world.administration.pk, right.pk])))
    assert "blijven in het overzicht van het kantoor" in text
    assert "kan het kantoor zijn back-ups van deze administratie niet downloaden, bekijken of terugzetten" in text


# --- 13.7: no false promises -----------------------------------------------------------------------------------


def test_a_read_only_user_is_not_offered_back_up_maken_and_is_told_why(client, django_user_model) -> None:
    world = build_world(django_user_model, "external_read")
    client.force_login(world.user)
    listing = client.get(reverse("administrations:list"))
    assert "Back-up maken" not in main_text(listing)
    assert "Alleen inzien" in main_text(listing)
    refused = client.post(reverse("backups:create", args=[world.administration.pk]))
    assert refused.status_code == 403 and "Alleen inzien" in main_text(refused)
    assert "Hij staat hieronder zodra hij klaar is" not in main_text(refused)
    assert not Job.objects.exists()


def test_someone_who_may_make_a_back_up_finds_it_where_the_message_says(
    client, django_user_model, django_capture_on_commit_callbacks
) -> None:
    world = build_world(django_user_model, "external_bookkeeping")
    client.force_login(world.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("backups:create", args=[world.administration.pk]), follow=True)
    assert "Hij staat hieronder zodra hij klaar is" in main_text(response)
    made = Backup.objects.get(created_by=world.user)
    assert f'id="backup-{made.pk}"' in response.content.decode().split("<main", 1)[1]


def test_petra_on_inorde_is_told_why_and_her_empty_overview_does_not_tell_her_to_make_one(
    client, django_user_model
) -> None:
    petra = _user(django_user_model, "petra")
    salon = Account.objects.create(name="Kapsalon", package=Package.INORDE)
    Membership.objects.create(user=petra, account=salon, role=Membership.Role.MAIN)
    administration_create(account=salon, name="Kapsalon BV", target=Target(Location.ONLINE))
    client.force_login(petra)
    listing = main_text(client.get(reverse("administrations:list")))
    assert "geen toegang tot SnelStart 12" in listing and "Back-up maken" not in listing
    assert "Back-up terugzetten" not in listing
    overview = main_text(client.get(reverse("backups:list")))
    assert "Er staan nog geen back-ups in je overzicht." in overview
    assert "geen toegang tot SnelStart 12" in overview
    assert "Maak een back-up" not in overview and "upload" not in overview.lower()


def test_the_overview_says_who_made_each_back_up(client, django_user_model) -> None:
    world = build_world(django_user_model, "main")
    world.user.first_name, world.user.last_name = "Jan", "de Bakker"
    world.user.save()
    client.force_login(world.user)
    response = client.get(reverse("backups:list"))
    assert "Gemaakt door" in main_text(response)
    row = re.search(rf'<tr id="backup-{world.backup.pk}".*?</tr>', response.content.decode(), re.DOTALL)
    assert row and "Jan de Bakker" in row.group(0)


def test_a_list_page_asks_the_table_without_a_query_per_row(
    client, django_user_model, django_assert_max_num_queries
) -> None:
    world = build_world(django_user_model, "member_bookkeeping")
    account = world.administration.account
    Backup.objects.bulk_create(
        Backup(account=account, administration=world.administration, administration_name=f"A{i}", origin="upload")
        for i in range(40)
    )
    client.force_login(world.user)
    with django_assert_max_num_queries(10):
        client.get(reverse("backups:list"))
    assert Access(world.user).kind(world.administration) is Kind.MEMBER_BOOKKEEPING


def test_a_back_up_whose_maker_is_gone_shows_a_dash_in_both_overviews(client, django_user_model) -> None:
    world = build_world(django_user_model, "firm_full")
    world.made_by_other.delete()  # the firm user who made it leaves: created_by becomes empty
    client.force_login(Membership.objects.get(role="main", account=world.administration.account).user)
    response = client.get(reverse("backups:list"))
    assert response.status_code == 200
    assert "Back-ups door je accountantskantoor" in main_text(response)
