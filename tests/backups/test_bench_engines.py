"""The benchmark command itself: every step measured against its reference, nothing left behind."""

from __future__ import annotations

import math
import shutil
from io import StringIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import require_service

STEPS = {
    "PostgreSQL export vs pg_dump -Fc [columnar]",
    "PostgreSQL import vs pg_restore [columnar]",
    "SQLite export vs .backup + gzip [columnar]",
    "SQLite import vs gunzip [columnar]",
}


def _bench_databases(server: sa.URL) -> set[str]:
    engine = sa.create_engine(server, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'bench_%'")).scalars())
    finally:
        engine.dispose()


def _quotient_of_printed(printed: float, a: float, b: float, rounding: float) -> bool:
    """``printed`` is a ÷ b, where a and b were printed rounded to ± ``rounding`` (and the quotient to 0.005)."""
    low, high = (a - rounding) / (b + rounding), (a + rounding) / max(b - rounding, 1e-9)
    return low - 0.005 <= printed <= high + 0.005 or (b - rounding <= 0 and printed >= low)


def test_every_step_has_its_times_ratios_and_peak_memory(postgres_server: sa.URL) -> None:
    tools = ["pg_dump", "pg_restore", "sqlite3", "gzip", "gunzip"]
    require_service(all(shutil.which(t) for t in tools) and Path("/usr/bin/time").exists(), f"needs {tools}, GNU time")
    before = _bench_databases(postgres_server)
    out = StringIO()
    server = postgres_server.render_as_string(hide_password=False)
    call_command("bench_engines", "--lines", "300", "--repeat", "2", "--postgres", server, stdout=out)

    table = [line for line in out.getvalue().splitlines() if " vs " in line]
    rows = {line[:44].strip(): line[44:].split() for line in table}
    assert set(rows) == STEPS
    for name, cells in rows.items():
        ours, job, reference, ratio, job_ratio, ours_mb, ref_mb, mb_ratio = map(float, cells)
        assert all(math.isfinite(v) and v > 0 for v in (ours, ours_mb, ref_mb)) and reference >= 0, name
        # The engine call is part of our process's wall time, and the ratios are of the figures printed.
        assert 0 < job < ours, name
        assert _quotient_of_printed(ratio, ours, reference, 0.0005), name
        assert _quotient_of_printed(job_ratio, job, reference, 0.0005), name
        assert _quotient_of_printed(mb_ratio, ours_mb, ref_mb, 0.5), name
    assert "mediaan van 2 keer" in out.getvalue()
    assert _bench_databases(postgres_server) == before


def test_a_repeat_below_one_is_refused() -> None:
    with pytest.raises(CommandError, match="--repeat"):
        call_command("bench_engines", "--repeat", "0", "--skip-postgres", "--skip-sqlite")
