from __future__ import annotations

from pathlib import Path

import pytest

from .samples import EXPECTED, require_samples, sample_names, sample_path


@pytest.fixture
def samples_dir() -> Path:
    return require_samples()


@pytest.fixture
def expected_dir() -> Path:
    require_samples()
    return EXPECTED


@pytest.fixture(params=sample_names())
def sample(request: pytest.FixtureRequest) -> Path:
    """Each real sample bacpac in turn."""
    return sample_path(request.param)


@pytest.fixture
def bacpactod() -> Path:
    return sample_path("BACPACToD_Test")
