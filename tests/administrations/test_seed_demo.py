from __future__ import annotations

from io import StringIO

import pytest
import sqlalchemy as sa
from django.core.management import call_command

from administrations.databases import database_connect
from administrations.models import Account, Administration, BankConnection, Package, Right

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_cast_and_is_safe_to_run_twice() -> None:
    out = StringIO()
    call_command("seed_demo", "--lines", "300", stdout=out)
    call_command("seed_demo", "--lines", "300", stdout=StringIO())

    assert "demo-wachtwoord" in out.getvalue()
    assert Account.objects.count() == 3
    assert Account.objects.get(package=Package.INORDE).name == "Kapsalon Knip & Go"
    assert Administration.objects.count() == 3
    assert set(Administration.objects.values_list("location", flat=True)) == {"online", "local"}
    assert Right.objects.filter(grantee_kind="firm", access_blocked=True).count() == 1
    assert Right.objects.filter(grantee_kind="firm", access_blocked=False).count() == 1
    assert {"abn_amro", "ing", "knab", "snelstart_bankieren"} <= set(
        BankConnection.objects.values_list("bank", flat=True)
    )

    online = Administration.objects.get(name="Bakkerij De Gouden Korst")
    engine = database_connect(online.database_location())
    with engine.connect() as conn:
        lines = conn.execute(sa.text("SELECT COUNT(*) FROM journaalregels")).scalar_one()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert lines == 300
    assert {
        "grootboekrekeningen",
        "relaties",
        "artikelen",
        "journaalposten",
        "facturen",
        "bankmutaties",
        "btw_codes",
    } <= tables
