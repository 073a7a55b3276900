"""What each package allows (R4, R13): inOrde is web-only and can neither make nor restore back-ups."""

from __future__ import annotations

import pytest

from administrations.models import PACKAGE_CAPABILITIES, Account, Package


def test_r4_r13_inorde_cannot_create_or_restore_backups() -> None:
    capabilities = Account(package=Package.INORDE).capabilities
    assert capabilities.web_only
    assert not capabilities.can_create_backups
    assert not capabilities.can_restore_backups


@pytest.mark.parametrize(
    "package",
    [Package.INSTAP, Package.INKAART, Package.INBALANS, Package.INZICHT, Package.INCONTROLE, Package.ACCOUNTANT],
)
def test_every_desktop_package_can_create_and_restore_backups(package: str) -> None:
    capabilities = Account(package=package).capabilities
    assert capabilities.can_create_backups and capabilities.can_restore_backups
    assert not capabilities.web_only


def test_only_the_accountant_package_is_a_firm() -> None:
    assert [p for p, c in PACKAGE_CAPABILITIES.items() if c.is_firm] == [Package.ACCOUNTANT]


def test_every_package_has_capabilities() -> None:
    assert set(PACKAGE_CAPABILITIES) == set(Package.values)
