"""Large files stream: memory stays flat however many rows go through the writer and the reader."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from backups.bacpac import BacpacWriter, Model, open_bacpac
from backups.bacpac.cli import BENCH_TABLE, bench_rows

pytestmark = pytest.mark.slow


def _round_trip(path: Path, n: int) -> tuple[int, float]:
    """Write and read back ``n`` journal lines; returns the traced peak in bytes and the seconds it took."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with BacpacWriter(
            path, database_name="Big", model=Model([BENCH_TABLE]), server_version="test", segment_bytes=16 << 20
        ) as w:
            assert w.write_table(BENCH_TABLE, bench_rows(n)) == n
        with open_bacpac(path) as bp:
            count = 0
            last = None
            for row in bp.rows(BENCH_TABLE):
                count += 1
                last = row
            assert count == n
            assert last is not None and last[0] == n
            assert bp.inspect().total_matches_origin is True
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, time.perf_counter() - started


def test_traced_memory_stays_small_and_does_not_grow_with_the_row_count(tmp_path: Path) -> None:
    # tracemalloc makes every allocation several times slower, so this one uses 100,000 rows; the test below
    # runs a million rows at full speed and watches the process's peak RSS instead.
    small_peak, _ = _round_trip(tmp_path / "small.bacpac", 10_000)
    big_peak, _ = _round_trip(tmp_path / "big.bacpac", 100_000)

    assert big_peak < 50 * 1024 * 1024
    # Ten times the rows may not need noticeably more memory: the data is never held whole.
    assert big_peak < small_peak * 1.5 + 2 * 1024 * 1024, (small_peak, big_peak)


def _bench(rows: int) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "backups.bacpac", "bench", "--rows", str(rows), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=600,
    )
    return json.loads(result.stdout)


def test_a_million_rows_write_and_read_back_in_the_same_memory_as_a_hundred_thousand() -> None:
    small = _bench(100_000)
    big = _bench(1_000_000)

    assert big["rows"] == 1_000_000
    # Peak RSS of a fresh interpreter (imports included); a file ten times larger adds at most a few MB.
    assert big["peak_rss_bytes"] < small["peak_rss_bytes"] + 8 * 1024 * 1024, (small, big)
    assert big["peak_rss_bytes"] < 150 * 1024 * 1024
