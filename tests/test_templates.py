"""Template comments that Django would print: `{# … #}` ends on the line it starts on, so a comment spread over
lines is shown to the user as text."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_no_template_has_a_comment_that_django_would_print() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "templates").rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.count("{#") > line.count("#}")
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_restore_form_shows_no_template_comment(client, cast) -> None:
    client.force_login(cast.owner)
    page = client.get("/administraties/bestaande-toevoegen/").content.decode()
    assert "{#" not in page and "#}" not in page
