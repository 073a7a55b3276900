"""The API's request and response shapes (pydantic, through django-ninja): what the OpenAPI schema documents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class ErrorOut(Schema):
    code: str
    message: str
    errors: dict[str, list[str]] | None = None


class AdministrationOut(Schema):
    id: int
    name: str
    location: str
    status: str
    account_id: int
    account_name: str
    package: str
    can_create_backups: bool
    created_at: datetime
    restored_from_backup_id: int | None


class BackupOut(Schema):
    id: int
    account_id: int
    client_account_id: int | None
    administration_id: int | None
    administration_name: str
    origin: str
    status: str
    size: int | None
    sha256: str | None
    original_file_name: str
    created_at: datetime
    ready_at: datetime | None


class TableOut(Schema):
    schema_name: str
    name: str
    rows: int
    columns: int
    data_bytes: int


class BackupDetailOut(BackupOut):
    database_name: str | None
    export_started_at: str | None
    source_server: str | None
    total_rows: int | None
    tables: list[TableOut]


class BackupFilters(Schema):
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(25, ge=1, le=100)
    administration_id: int | None = Field(None, ge=1, le=2**63 - 1)
    status: Literal["pending", "ready", "failed"] | None = None
    origin: Literal["manual", "upload", "automatic_on_delete", "automatic_on_revoke", "scheduled"] | None = None
    created_after: datetime | None = Field(None, description="ISO 8601, e.g. 2026-01-31T23:00:00+01:00")
    created_before: datetime | None = None


class BackupPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[BackupOut]


class JobOut(Schema):
    id: int
    kind: str
    status: str
    progress: int
    phase: str
    message: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    administration_id: int | None
    backup_id: int | None
    result_administration_id: int | None


class RestoreIn(Schema):
    name: str
    location: Literal["online", "local", "network"] = "online"
    local_path: str = ""
    server_id: int | None = None
    database_name: str = ""
    login_method: Literal["", "windows", "sql"] = ""
    login_user: str = ""
    password: str = ""
    confirm_cost: bool = False


class AftercareItemOut(Schema):
    id: int
    administration_id: int
    kind: str
    status: str
    title: str
    resolved_at: datetime | None
    resolved_by: str | None


class AftercareResolveIn(Schema):
    action: Literal["grant_access", "remove_right", "relink", "requested", "done", "dismiss", "new_key", "mailbox"]
    address: str = ""


class AftercareResolveOut(Schema):
    item: AftercareItemOut
    # Only for "new_key": the new API key of the connection, shown this once.
    key: str | None = None
