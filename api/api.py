"""The versioned HTTP API (/api/v1/), over the same services, querysets and forms as the screens.

Every lookup goes through `Administration.objects.visible_to`, `Backup.objects.visible_to` or
`Job.objects.visible_to` with the token's user, so a token sees exactly what its user sees on the screens; anything
else answers 404. Every call is written to the audit trail with the token's name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from django.http import Http404, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Header, NinjaAPI, Path, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.openapi.docs import Swagger

from administrations.databases import DatabaseError
from administrations.models import Account, Administration, Bank, account_of
from administrations.permissions import Action, access_for
from aftercare import services as aftercare_services
from aftercare.models import AftercareItem
from api import schemas
from api.auth import TokenAuth, require_scope
from api.errors import ApiError, not_found, refused
from api.idempotency import run_once
from api.models import ApiToken, Scope
from backups.downloads import stored_file_complete, stream_backup
from backups.forms import RestoreForm, UploadForm
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import (
    BackupRefused,
    acting_account,
    backup_create,
    backup_delete,
    upload_staging_folder,
    upload_start,
)
from backups.uploads import stage_upload
from portal import audit
from portal.http import PortalRequest
from portal.models import AuditEvent

# Database ids: positive and within a 64-bit integer, so no id a client sends can overflow the database's type.
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

# Every error answer has the same JSON shape; these are the statuses the API gives.
ERRORS: dict[Any, Any] = {frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422, 429}): schemas.ErrorOut}

api = NinjaAPI(
    title="Back-upportaal API",
    version="1",
    description=(
        "Back-ups maken, ophalen en terugzetten met een persoonlijke API-sleutel (Authorization: Bearer …). "
        'Make, fetch and restore back-ups with a personal access token. Errors: {"code", "message"}.'
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=Swagger(settings={"persistAuthorization": False}),
)


# ------------------------------------------------------------------------------------------------ errors


def _error(request: PortalRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request: PortalRequest, error: ApiError) -> HttpResponse:
    return _error(request, error)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: PortalRequest, error: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = ".".join(
            str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "header", "file")
        )
        fields.setdefault(location or "request", []).append(str(item.get("msg", "")))
    return _error(request, ApiError(422, "invalid_request", _("Het verzoek klopt niet; zie de velden."), errors=fields))


@api.exception_handler(AuthenticationError)
def _authentication_error(request: PortalRequest, error: AuthenticationError) -> HttpResponse:
    return _error(
        request,
        ApiError(401, "not_authenticated", _("Stuur een API-sleutel in de header Authorization: Bearer <sleutel>.")),
    )


@api.exception_handler(Http404)
def _not_found(request: PortalRequest, error: Http404) -> HttpResponse:
    return _error(request, not_found())


@api.exception_handler(HttpError)
def _http_error(request: PortalRequest, error: HttpError) -> HttpResponse:
    code = {400: "bad_request", 405: "method_not_allowed", 413: "too_large"}.get(error.status_code, "error")
    return _error(request, ApiError(error.status_code, code, _("Het verzoek klopt niet.")))


# ------------------------------------------------------------------------------------------------ helpers


def _token(request: PortalRequest) -> ApiToken:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _audit(request: PortalRequest, action: str, **fields: Any) -> None:
    """Every API action goes to the audit trail, with the token's name and the call."""
    token = _token(request)
    audit.record(
        request,
        action,
        api_token=token.name,
        api_call=f"{request.method} {request.path}",
        **fields,
    )


def _read(request: PortalRequest, what: str) -> None:
    require_scope(request, Scope.READ)
    _audit(request, AuditEvent.Action.API_READ, target=what)


def _administration(request: PortalRequest, pk: int) -> Administration:
    found = Administration.objects.visible_to(request.user).select_related("account").filter(pk=pk).first()
    if found is None:
        raise not_found()
    return found


def _backup(request: PortalRequest, pk: int) -> Backup:
    found = Backup.objects.visible_to(request.user).select_related("account", "administration").filter(pk=pk).first()
    if found is None:
        raise not_found()
    return found


def _require(request: PortalRequest, subject: Administration | Backup | Account | None, action: Action) -> None:
    """The screens' permission table, asked the same way: what the user may see but not do is refused with its
    reason (the screens answer 403 with the same sentence)."""
    decision = access_for(request).decide(subject, action)
    if not decision:
        raise ApiError(403, "forbidden", decision.reason)


def _administration_out(administration: Administration) -> dict[str, Any]:
    return {
        "id": administration.pk,
        "name": administration.name,
        "location": administration.location,
        "status": administration.status,
        "account_id": administration.account_id,
        "account_name": administration.account.name,
        "package": administration.account.package,
        "can_create_backups": administration.capabilities.can_create_backups,
        "created_at": administration.created_at,
        "restored_from_backup_id": administration.restored_from_id,
    }


def _backup_out(backup: Backup) -> dict[str, Any]:
    return {
        "id": backup.pk,
        "account_id": backup.account_id,
        "client_account_id": backup.client_account_id,
        "administration_id": backup.administration_id,
        "administration_name": backup.administration_name,
        "origin": backup.origin,
        "status": backup.status,
        "size": backup.size,
        "sha256": backup.sha256 or None,
        "original_file_name": backup.original_file_name,
        "created_at": backup.created_at,
        "ready_at": backup.ready_at,
    }


def _job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "phase": job.phase_text,
        "message": job.message_text,
        "queued_at": job.queued_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "administration_id": job.administration_id,
        "backup_id": job.backup_id,
        "result_administration_id": job.result_administration_id,
    }


def _aftercare_out(item: AftercareItem) -> dict[str, Any]:
    resolver = item.resolved_by
    return {
        "id": item.pk,
        "administration_id": item.administration_id,
        "kind": item.kind,
        "status": item.status,
        "title": item.title,
        "resolved_at": item.resolved_at,
        "resolved_by": (resolver.get_full_name() or resolver.username) if resolver else None,
    }


def _accepted(request: PortalRequest, answer: tuple[int, dict[str, Any]], replayed: bool) -> HttpResponse:
    status, body = answer
    response = api.create_response(request, body, status=status)
    response["Location"] = reverse("api-v1:job_detail", args=[body["id"]])
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="Send the same key when you retry: the first job is returned, no second one is started.",
)

BANKING_UNDERSTOOD = Query(
    False, description="R6: an administration with a SnelStart Bankieren account warns first; true: understood."
)


def _aware(moment: datetime) -> datetime:
    """The moment in UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 (and Python) allow up to ±23:59.
    A moment outside the years 1 to 9999 once in UTC becomes that range's edge, where it compares the same."""
    aware = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if aware.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ administrations

administrations = Router(tags=["administrations"])


@administrations.get("/", response={200: list[schemas.AdministrationOut], **ERRORS}, url_name="administration_list")
def administration_list(request: PortalRequest) -> Any:
    """The administrations you may see on the Administraties screen."""
    _read(request, "administraties")
    queryset = (
        Administration.objects.visible_to(request.user).select_related("account").order_by("account__name", "name")
    )
    return [_administration_out(a) for a in queryset]


@administrations.get(
    "/{administration_id}", response={200: schemas.AdministrationOut, **ERRORS}, url_name="administration_detail"
)
def administration_detail(request: PortalRequest, administration_id: Id) -> Any:
    require_scope(request, Scope.READ)
    administration = _administration(request, administration_id)
    _read(request, f"administratie {administration.pk}")
    return _administration_out(administration)


@administrations.post(
    "/{administration_id}/backups",
    response={202: schemas.JobOut, **ERRORS},
    url_name="backup_create",
)
def backup_create_endpoint(
    request: PortalRequest,
    administration_id: Id,
    banking_warning_understood: bool = BANKING_UNDERSTOOD,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Any:
    """Back-up maken, as the button on the Administraties screen. Answers with the job to follow."""
    require_scope(request, Scope.BACKUP)
    administration = _administration(request, administration_id)
    _require(request, administration, Action.BACKUP_MAKE)
    understood = banking_warning_understood

    def start() -> tuple[int, dict[str, Any]]:
        if not administration.capabilities.can_create_backups:
            raise refused(
                _("Met het pakket %(package)s kun je geen back-ups maken.")
                % {"package": administration.account.get_package_display()},
                "package_refused",
            )
        banking = administration.bank_connections.filter(bank=Bank.SNELSTART_BANKIEREN).exists()
        if banking and not understood:
            raise ApiError(
                409,
                "banking_warning",
                _(
                    "Deze administratie heeft een SnelStart Bankieren-rekening. Na terugzetten van deze back-up moet "
                    "de klantenservice die opnieuw koppelen. Stuur banking_warning_understood=true om door te gaan."
                ),
            )
        try:
            job = backup_create(
                administration=administration,
                user=request.user,
                account=acting_account(request.user, administration),
            )
        except BackupRefused as error:
            raise refused(error.user_message) from None
        _audit(
            request,
            AuditEvent.Action.BACKUP_MADE,
            administration=administration,
            account=job.account,
            target=f"back-up {job.backup_id}",
        )
        return 202, _job_out(job)

    answer, replayed = run_once(
        request, idempotency_key, f"backup_create:{administration.pk}", {"understood": understood}, start
    )
    return _accepted(request, answer, replayed)


@administrations.get(
    "/{administration_id}/aftercare",
    response={200: list[schemas.AftercareItemOut], **ERRORS},
    url_name="aftercare_list",
)
def aftercare_list(request: PortalRequest, administration_id: Id) -> Any:
    """Nazorg na terugzetten: the to-do list of a restored administration (main users and administrators)."""
    require_scope(request, Scope.READ)
    administration = _administration(request, administration_id)
    _require(request, administration, Action.AFTERCARE_RESOLVE)
    _read(request, f"nazorg van administratie {administration.pk}")
    items = AftercareItem.objects.filter(administration=administration).select_related("resolved_by")
    return [_aftercare_out(item) for item in items]


# ------------------------------------------------------------------------------------------------ back-ups

backups = Router(tags=["backups"])


@backups.get("/", response={200: schemas.BackupPage, **ERRORS}, url_name="backup_list")
def backup_list(request: PortalRequest, filters: Query[schemas.BackupFilters]) -> Any:  # type: ignore[type-arg]
    """Overzicht Online Back-up, newest first, in pages; filter on administration, status, origin and date."""
    _read(request, "back-ups")
    queryset = Backup.objects.visible_to(request.user).in_overview().order_by("-created_at", "-pk")
    if filters.administration_id is not None:
        queryset = queryset.filter(administration_id=filters.administration_id)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    if filters.origin is not None:
        queryset = queryset.filter(origin=filters.origin)
    if filters.created_after is not None:
        queryset = queryset.filter(created_at__gte=_aware(filters.created_after))
    if filters.created_before is not None:
        queryset = queryset.filter(created_at__lt=_aware(filters.created_before))
    page, page_size = filters.page, filters.page_size
    count = queryset.count()
    start = (page - 1) * page_size
    items = [_backup_out(b) for b in queryset[start : start + page_size]]
    return {"count": count, "page": page, "page_size": page_size, "items": items}


# Before the /{backup_id} routes, so that `upload` is never read as an id.
@backups.post("/upload", response={202: schemas.JobOut, **ERRORS}, url_name="backup_upload")
def backup_upload_endpoint(request: PortalRequest, file: File[UploadedFile]) -> Any:
    """Uploaden: a .bacpac, verified in a job before it is kept (multipart/form-data, field `file`)."""
    require_scope(request, Scope.BACKUP)
    account = account_of(request.user)
    if account is None or not account.capabilities.can_create_backups:
        raise refused(_("Met je pakket kun je geen back-ups uploaden of terugzetten."), "package_refused")
    _require(request, account, Action.BACKUP_UPLOAD)
    form = UploadForm({}, {"file": file})  # type: ignore[arg-type]
    if not form.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        raise ApiError(
            400, "invalid_file", _strip_tags(first), errors={k: [_strip_tags(m) for m in v] for k, v in errors.items()}
        )
    staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
    stage_upload(file, staged)
    try:
        job = upload_start(account=account, user=request.user, staged=staged, file_name=file.name or "upload.bacpac")
    except BackupRefused as error:
        raise refused(error.user_message) from None
    _audit(request, AuditEvent.Action.BACKUP_UPLOADED, account=account, target=file.name or "")
    return _accepted(request, (202, _job_out(job)), False)


@backups.get("/{backup_id}", response={200: schemas.BackupDetailOut, **ERRORS}, url_name="backup_detail")
def backup_detail(request: PortalRequest, backup_id: Id) -> Any:
    """Bekijken: the back-up with what is inside (tables and row counts)."""
    require_scope(request, Scope.READ)
    backup = _backup(request, backup_id)
    _require(request, backup, Action.BACKUP_INSPECT)
    _read(request, f"back-up {backup.pk}")
    summary = backup.summary or {}
    tables = sorted(summary.get("tables", []), key=lambda t: (t.get("schema", ""), t.get("name", "")))
    origin = summary.get("origin") or {}
    return {
        **_backup_out(backup),
        "database_name": summary.get("database_name"),
        "export_started_at": origin.get("export_started_at"),
        "source_server": origin.get("server_version"),
        "total_rows": summary.get("total_rows"),
        "tables": [
            {
                "schema_name": t.get("schema", ""),
                "name": t.get("name", ""),
                "rows": int(t.get("rows") or 0),
                "columns": len(t.get("columns") or []),
                "data_bytes": int(t.get("data_bytes") or 0),
            }
            for t in tables
        ],
    }


@backups.get(
    "/{backup_id}/download",
    response={200: None, 302: None, **ERRORS},
    url_name="backup_download",
    openapi_extra={
        "responses": {
            200: {
                "description": "The .bacpac file, its SHA-256 checked while it streams",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            302: {"description": "A short-lived presigned link when back-ups are stored in S3"},
        }
    },
)
def backup_download(request: PortalRequest, backup_id: Id) -> HttpResponseBase:
    """Downloaden: the same path as the screen: streamed with its SHA-256 checked, or a presigned S3 link."""
    require_scope(request, Scope.READ)
    backup = _backup(request, backup_id)
    _require(request, backup, Action.BACKUP_DOWNLOAD)
    if not backup.is_ready:
        raise ApiError(409, "backup_not_ready", _("Deze back-up is nog niet klaar of is mislukt."))
    if not stored_file_complete(backup):
        raise ApiError(
            409,
            "file_incomplete",
            _("Het back-upbestand is niet compleet in de opslag. Neem contact op met de klantenservice."),
        )
    _audit(
        request,
        AuditEvent.Action.BACKUP_DOWNLOADED,
        administration=backup.administration,
        account=backup.account,
        target=f"back-up {backup.pk} ({backup.administration_name})",
    )
    response = stream_backup(backup)
    response["X-Checksum-SHA256"] = backup.sha256
    return response


def _strip_tags(text: str) -> str:
    from django.utils.html import strip_tags

    return strip_tags(text)


@backups.delete("/{backup_id}", response={204: None, **ERRORS}, url_name="backup_delete")
def backup_delete_endpoint(request: PortalRequest, backup_id: Id) -> Any:
    """Verwijderen: the back-up and its file."""
    require_scope(request, Scope.BACKUP)
    backup = _backup(request, backup_id)
    _require(request, backup, Action.BACKUP_DELETE)
    _audit(
        request,
        AuditEvent.Action.BACKUP_DELETED,
        administration=backup.administration,
        account=backup.account,
        target=f"back-up {backup.pk} ({backup.administration_name})",
    )
    backup_delete(backup=backup)
    return Status(204, None)


@backups.post("/{backup_id}/restore", response={202: schemas.JobOut, **ERRORS}, url_name="restore_start")
def restore_endpoint(
    request: PortalRequest, backup_id: Id, payload: schemas.RestoreIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> Any:
    """Terugzetten, always as a NEW administration, checked by the same form as the screen."""
    require_scope(request, Scope.RESTORE)
    backup = _backup(request, backup_id)
    account = backup.account
    _require(request, backup, Action.BACKUP_RESTORE)
    data = payload.dict()
    fingerprint = {k: v for k, v in data.items() if k != "password"}

    def start() -> tuple[int, dict[str, Any]]:
        if not account.capabilities.can_restore_backups:
            raise refused(
                _("Met het pakket %(package)s kun je geen back-ups terugzetten.")
                % {"package": account.get_package_display()},
                "package_refused",
            )
        if not backup.is_ready:
            raise ApiError(409, "backup_not_ready", _("Deze back-up is nog niet klaar of is mislukt."))
        form_data = {
            "name": data["name"],
            "location": data["location"],
            "local_path": data["local_path"],
            "server": data["server_id"] or "",
            "database_name": data["database_name"],
            "login_method": data["login_method"],
            "login_user": data["login_user"],
            "password": data["password"],
        }
        if data["confirm_cost"]:
            form_data["confirm_cost"] = "on"
        form = RestoreForm(form_data, account=account, backup=backup)
        if not form.is_valid() or form.target is None:
            errors = {("server_id" if k == "server" else k): [str(m) for m in v] for k, v in form.errors.items()}
            first = next(iter(errors.values()))[0] if errors else _("Het verzoek klopt niet.")
            raise ApiError(422, "invalid_restore", first, errors=errors)
        try:
            job = restore_start(
                user=request.user,
                account=account,
                backup=backup,
                name=form.cleaned_data["name"],
                target=form.target,
                cost_confirmed=form.cleaned_data["confirm_cost"],
            )
        except (BackupRefused, DatabaseError) as error:
            raise refused(error.user_message) from None
        _audit(
            request,
            AuditEvent.Action.BACKUP_RESTORED,
            administration=backup.administration,
            account=account,
            target=f"back-up {backup.pk} → {form.cleaned_data['name']}",
        )
        return 202, _job_out(job)

    answer, replayed = run_once(request, idempotency_key, f"restore:{backup.pk}", fingerprint, start)
    return _accepted(request, answer, replayed)


# ------------------------------------------------------------------------------------------------ jobs

jobs = Router(tags=["jobs"])


@jobs.get("/{job_id}", response={200: schemas.JobOut, **ERRORS}, url_name="job_detail")
def job_detail(request: PortalRequest, job_id: Id) -> Any:
    """A job's status, progress and result (the back-up made, the administration restored)."""
    require_scope(request, Scope.READ)
    job = Job.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        raise not_found()
    _read(request, f"taak {job.pk}")
    return _job_out(job)


# ------------------------------------------------------------------------------------------------ aftercare

aftercare = Router(tags=["aftercare"])

ACTIONS = {
    "grant_access": aftercare_services.right_grant,
    "remove_right": aftercare_services.right_remove,
    "relink": aftercare_services.bank_relink,
    "requested": aftercare_services.bank_requested,
    "done": aftercare_services.item_done,
    "dismiss": aftercare_services.item_dismiss,
}
AUDITED = {
    "grant_access": AuditEvent.Action.RIGHT_UNBLOCKED,
    "remove_right": AuditEvent.Action.RIGHT_REMOVED,
    "new_key": AuditEvent.Action.API_KEY_GENERATED,
}


@aftercare.post(
    "/{item_id}/resolve", response={200: schemas.AftercareResolveOut, **ERRORS}, url_name="aftercare_resolve"
)
def aftercare_resolve(request: PortalRequest, item_id: Id, payload: schemas.AftercareResolveIn) -> Any:
    """Work off one to-do, as the buttons of the Nazorg panel do."""
    require_scope(request, Scope.RESTORE)
    item = AftercareItem.objects.filter(pk=item_id).select_related("administration").first()
    if item is None:
        raise not_found()
    administration = _administration(request, item.administration_id)
    _require(request, administration, Action.AFTERCARE_RESOLVE)
    user = request.user
    key = None
    try:
        if payload.action == "new_key":
            key = aftercare_services.api_key_generate(item=item, user=user)
        elif payload.action == "mailbox":
            from aftercare.forms import MailboxForm

            form = MailboxForm({"address": payload.address})
            if not form.is_valid():
                raise ApiError(
                    422,
                    "invalid_request",
                    str(form.errors["address"][0]),
                    errors={"address": [str(m) for m in form.errors["address"]]},
                )
            aftercare_services.mailbox_setup(item=item, user=user, address=form.cleaned_data["address"])
        else:
            ACTIONS[payload.action](item=item, user=user)
    except aftercare_services.AftercareError as error:
        raise ApiError(409, "aftercare_refused", error.user_message) from None
    _audit(
        request,
        AUDITED.get(payload.action, AuditEvent.Action.AFTERCARE_RESOLVED),
        administration=administration,
        target=item.title,
    )
    item.refresh_from_db()
    return {"item": _aftercare_out(item), "key": key}


api.add_router("/administrations", administrations)
api.add_router("/backups", backups)
api.add_router("/jobs", jobs)
api.add_router("/aftercare-items", aftercare)

__all__ = ["api"]


def not_found_view(request: PortalRequest, rest: str = "") -> HttpResponse:
    """Anything under /api/ that is no call: the same JSON 404, never the portal's HTML page."""
    from django.utils import translation

    from api.middleware import api_language

    with translation.override(api_language(request)):
        return JsonResponse(not_found().body(), status=404)
