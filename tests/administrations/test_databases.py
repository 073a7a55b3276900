"""The administration-database layer on real SQLite files and the real PostgreSQL server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from administrations import bookkeeping
from administrations.databases import (
    DatabaseError,
    DatabaseExists,
    DatabaseLocation,
    UnsafeLocalPath,
    database_connect,
    database_create,
    database_drop,
    database_exists,
    network_location,
    resolve_local_path,
)
from administrations.models import Administration, DatabaseEngine, Location, LoginMethod
from administrations.services import Target, administration_create


def count_rows(location: DatabaseLocation, table: str) -> int:
    engine = database_connect(location)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    finally:
        engine.dispose()


def pg_location(url: sa.URL, name: str) -> DatabaseLocation:
    return DatabaseLocation(engine="postgresql", name=name, host=url.host or "", port=url.port, user=url.username or "")


# --- the local-path guard (R16: a location inside the allowed root, never outside) ---


@pytest.mark.parametrize(
    "path",
    [
        "../buiten.sqlite3",
        "map/../../buiten.sqlite3",
        "/etc/passwd",
        "/tmp/x.sqlite3",
        "C:\\Administraties\\x.sqlite3",
        "c:x.sqlite3",
        "\\\\server\\share\\x.sqlite3",
        "..\\..\\x.sqlite3",
        "",
        "   ",
        "naam\x00.sqlite3",
    ],
)
def test_r16_the_local_path_guard_refuses_paths_outside_the_root(path: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeLocalPath) as refused:
        resolve_local_path(path, root=tmp_path)
    assert "map voor lokale administraties" in refused.value.user_message


def test_r16_the_guard_refuses_a_folder_link_that_points_outside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeLocalPath):
        resolve_local_path("link/boekhouding.sqlite3", root=root)


def test_r16_the_guard_refuses_a_file_link_even_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "echt.sqlite3").write_bytes(b"")
    (tmp_path / "link.sqlite3").symlink_to(tmp_path / "echt.sqlite3")
    with pytest.raises(UnsafeLocalPath):
        resolve_local_path("link.sqlite3", root=tmp_path)


def test_the_guard_accepts_a_subfolder_and_adds_the_extension(tmp_path: Path) -> None:
    assert resolve_local_path("2024/bakkerij", root=tmp_path) == tmp_path.resolve() / "2024" / "bakkerij.sqlite3"
    assert resolve_local_path("a\\b.sqlite3", root=tmp_path) == tmp_path.resolve() / "a" / "b.sqlite3"


# --- SQLite ---


def test_a_new_sqlite_database_is_created_empty_and_can_be_dropped(tmp_path: Path) -> None:
    location = DatabaseLocation(engine="sqlite", name=str(tmp_path / "nieuw" / "adm.sqlite3"))
    database_create(location)
    assert database_exists(location)
    engine = database_connect(location)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    database_drop(location)
    assert not database_exists(location)


def test_creating_a_sqlite_database_that_exists_is_refused_and_the_existing_one_is_untouched(tmp_path: Path) -> None:
    location = DatabaseLocation(engine="sqlite", name=str(tmp_path / "adm.sqlite3"))
    database_create(location)
    engine = database_connect(location)
    bookkeeping.create_schema(engine)
    bookkeeping.fill(engine, lines=40)
    engine.dispose()
    before = Path(location.name).read_bytes()

    with pytest.raises(DatabaseExists) as refused:
        database_create(location)

    assert "nooit overschreven" in refused.value.user_message
    assert Path(location.name).read_bytes() == before
    assert count_rows(location, "journaalregels") == 40


def test_a_dangling_link_counts_as_existing(tmp_path: Path) -> None:
    (tmp_path / "adm.sqlite3").symlink_to(tmp_path / "nergens")
    with pytest.raises(DatabaseExists):
        database_create(DatabaseLocation(engine="sqlite", name=str(tmp_path / "adm.sqlite3")))
    assert not (tmp_path / "nergens").exists()


def test_opening_a_missing_sqlite_file_gives_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as refused:
        database_connect(DatabaseLocation(engine="sqlite", name=str(tmp_path / "weg.sqlite3")))
    assert refused.value.user_message == "Het administratiebestand is niet gevonden."


# --- PostgreSQL (the real server) ---


@pytest.mark.postgres
def test_a_new_postgresql_database_is_created_empty_and_can_be_dropped(postgres_server, postgres_database_name) -> None:
    location = pg_location(postgres_server, postgres_database_name)
    assert not database_exists(location)
    database_create(location)
    assert database_exists(location)
    engine = database_connect(location)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    database_drop(location)
    assert not database_exists(location)


@pytest.mark.postgres
def test_creating_a_postgresql_database_that_exists_is_refused_and_its_rows_stay(
    postgres_server, postgres_database_name
) -> None:
    location = pg_location(postgres_server, postgres_database_name)
    database_create(location)
    engine = database_connect(location)
    bookkeeping.create_schema(engine)
    bookkeeping.fill(engine, lines=60)
    engine.dispose()

    with pytest.raises(DatabaseExists):
        database_create(location)

    assert count_rows(location, "journaalregels") == 60
    assert count_rows(location, "btw_codes") == 4


@pytest.mark.postgres
def test_demo_data_on_postgresql_leaves_sequences_ready_for_new_rows(postgres_server, postgres_database_name) -> None:
    location = pg_location(postgres_server, postgres_database_name)
    database_create(location)
    engine = database_connect(location)
    bookkeeping.create_schema(engine)
    bookkeeping.fill(engine, lines=100)
    with engine.begin() as conn:
        new_id = conn.execute(
            bookkeeping.btw_codes.insert()
            .values(code="NEW", omschrijving="Nieuw", percentage=5)
            .returning(bookkeeping.btw_codes.c.id)
        ).scalar_one()
        debit, credit = conn.execute(
            sa.select(sa.func.sum(bookkeeping.journaalregels.c.debet), sa.func.sum(bookkeeping.journaalregels.c.credit))
        ).one()
    engine.dispose()
    assert new_id == 5
    assert debit == credit  # every entry balances


def test_a_network_location_needs_an_allowed_login_method_and_a_sane_name(cast) -> None:
    cast.server.allow_windows_auth = False
    with pytest.raises(DatabaseError) as refused:
        network_location(cast.server, "boekhouding", login_method=LoginMethod.WINDOWS)
    assert "niet toegestaan" in refused.value.user_message
    with pytest.raises(DatabaseError) as refused:
        network_location(cast.server, "x; DROP DATABASE y", login_method=LoginMethod.SQL, user="sa")
    assert "databasenaam" in refused.value.user_message.lower()
    with pytest.raises(DatabaseError) as refused:
        network_location(cast.server, "boekhouding", login_method=LoginMethod.SQL)
    assert "gebruikersnaam" in refused.value.user_message


def test_sql_passwords_do_not_show_in_a_locations_repr(cast) -> None:
    location = network_location(
        cast.server, "boekhouding", login_method=LoginMethod.SQL, user="sa", password="Geheim!1"
    )
    assert "Geheim!1" not in repr(location)
    assert "Geheim!1" not in location.describe()


# --- creating administrations ---


@pytest.mark.django_db
def test_an_online_administration_gets_its_own_new_sqlite_file(cast, settings) -> None:
    administration = administration_create(account=cast.account, name="Nieuw", target=Target(Location.ONLINE))
    path = Path(administration.database_location().name)
    assert path.parent == Path(settings.ONLINE_ADMINISTRATIONS_DIR)
    assert "journaalregels" in sa.inspect(database_connect(administration.database_location())).get_table_names()


@pytest.mark.django_db
def test_a_local_administration_lands_inside_the_root(cast, settings) -> None:
    administration = administration_create(
        account=cast.account, name="Lokaal", target=Target(Location.LOCAL, local_path="2024/lokaal.sqlite3")
    )
    assert administration.database_name == os.path.join("2024", "lokaal.sqlite3")
    assert Path(settings.LOCAL_ADMINISTRATIONS_ROOT, "2024", "lokaal.sqlite3").exists()


@pytest.mark.django_db
def test_a_name_that_is_taken_is_refused_before_anything_is_made(cast, settings) -> None:
    with pytest.raises(DatabaseError) as refused:
        administration_create(account=cast.account, name="Bakkerij Test", target=Target(Location.ONLINE))
    assert "bestaat al een administratie" in refused.value.user_message
    assert not Path(settings.ONLINE_ADMINISTRATIONS_DIR).exists() or not any(
        Path(settings.ONLINE_ADMINISTRATIONS_DIR).iterdir()
    )


@pytest.mark.django_db
def test_a_failure_while_filling_leaves_no_database_and_no_administration(cast, settings) -> None:
    def broken(engine: sa.Engine) -> None:
        raise RuntimeError("schijf vol")

    with pytest.raises(RuntimeError):
        administration_create(account=cast.account, name="Half", target=Target(Location.ONLINE), populate=broken)
    assert not Administration.objects.filter(name="Half").exists()
    assert list(Path(settings.ONLINE_ADMINISTRATIONS_DIR).iterdir()) == []


@pytest.mark.django_db
@pytest.mark.postgres
def test_online_administrations_live_on_postgresql_when_configured(cast, postgres_online) -> None:
    administration = administration_create(
        account=cast.account,
        name="Online PG",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=50),
    )
    assert administration.engine == DatabaseEngine.POSTGRESQL
    assert count_rows(administration.database_location(), "journaalregels") == 50


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_network_administration_is_made_on_the_registered_server(
    cast, postgres_server, postgres_database_name
) -> None:
    cast.server.host, cast.server.port = postgres_server.host, postgres_server.port
    cast.server.save()
    target = Target(
        Location.NETWORK,
        server=cast.server,
        database_name=postgres_database_name,
        login_method=LoginMethod.WINDOWS,
        login_user=postgres_server.username,
    )
    administration = administration_create(account=cast.account, name="Netwerk", target=target)
    assert administration.server == cast.server
    assert database_exists(administration.database_location())
    with pytest.raises(DatabaseExists):
        administration_create(account=cast.account, name="Netwerk 2", target=target)


@pytest.mark.postgres
def test_demo_data_of_several_batches_keeps_every_reference_intact(postgres_server, postgres_database_name) -> None:
    """Invoices refer to journal entries: batches must be written in an order PostgreSQL's foreign keys accept."""
    location = pg_location(postgres_server, postgres_database_name)
    database_create(location)
    engine = database_connect(location)
    bookkeeping.create_schema(engine)
    assert bookkeeping.fill(engine, lines=bookkeeping.BATCH * 2 + 10) == bookkeeping.BATCH * 2 + 10
    engine.dispose()
    assert count_rows(location, "facturen") > 0
