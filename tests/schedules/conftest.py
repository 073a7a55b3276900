"""What the schedule, retention and test-restore tests share."""

from __future__ import annotations

import pytest

from administrations import bookkeeping
from administrations.models import Administration, Location
from administrations.services import Target, administration_create


@pytest.fixture
def online(cast) -> Administration:
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=200),
    )
