"""Where the real sample files live: ``tests/fixtures`` (sources and licences in ``tests/fixtures/SOURCES.md``)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = FIXTURES / "bacpac"
EXPECTED = FIXTURES / "expected" / "BACPACToD"


def sample_names() -> list[str]:
    names = sorted(p.stem for p in SAMPLES.glob("*.bacpac")) if SAMPLES.is_dir() else []
    # A placeholder keeps the parametrised tests visible (and skipped or failed) when the folder is missing.
    return names or ["<samples missing>"]


def require_samples() -> Path:
    if not SAMPLES.is_dir() or not any(SAMPLES.glob("*.bacpac")):
        reason = f"sample bacpacs not found in {SAMPLES} (they belong in tests/fixtures/bacpac)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SAMPLES


def sample_path(name: str) -> Path:
    return require_samples() / f"{name}.bacpac"


def rebuild(
    source: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    drop: set[str] | None = None,
    add: list[tuple[str, bytes]] | None = None,
) -> bytes:
    """A copy of the ZIP ``source`` with some members replaced, dropped or added (in that order)."""
    replace = replace or {}
    drop = drop or set()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in add or []:
            zout.writestr(name, data)
    return out.getvalue()
