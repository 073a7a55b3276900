"""The bacpac library refuses files with codes; the portal words every code in Dutch, with its own menu names, and
in English for English readers."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.utils import translation

from backups import bacpac
from backups.refusals import BACPAC_MESSAGES, bacpac_message


def _all_errors() -> list[type[bacpac.BacpacError]]:
    found, todo = [], [bacpac.BacpacError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda kind: kind.__name__)
def test_every_refusal_of_the_library_has_its_own_dutch_and_english_message(kind: type[bacpac.BacpacError]) -> None:
    assert kind.code in BACPAC_MESSAGES, f"{kind.__name__} ({kind.code}) has no message in the portal"
    dutch = bacpac_message(kind("detail"))
    assert re.search(r"\b(Dit|Deze|bestand|back-up)\b", dutch), dutch
    with translation.override("en"):
        english = bacpac_message(kind("detail"))
    assert english != dutch and not re.search(r"\b(Dit|bestand|geen)\b", english), english


def test_files_from_another_program_point_to_the_portals_menu_in_the_portal_only() -> None:
    for kind in (bacpac.NotAZipFile, bacpac.SsbFileGiven, bacpac.AccessDatabaseGiven):
        assert "Toevoegen → Bestaande administratie" in bacpac_message(kind("x"))
        assert "Toevoegen" not in kind.description  # the library speaks of files, not of our menus


def test_an_unknown_code_reads_as_the_general_refusal() -> None:
    class Newer(bacpac.BacpacError):
        code = "something_new"

    assert bacpac_message(Newer("x")) == "Dit bestand is geen geldige back-up."


def test_the_library_and_its_command_line_load_no_django_and_nothing_else_of_the_project() -> None:
    probe = (
        "import sys, backups.bacpac, backups.bacpac.cli;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'administrations', 'aftercare', 'portal', 'api'} or "
        "(m.startswith('backups.') and not m.startswith('backups.bacpac')));"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == ""
