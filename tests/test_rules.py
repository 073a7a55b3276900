"""Every rule in docs/rules.md is proved by at least one test that names it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_on_the_rules_page_is_named_by_a_test() -> None:
    rules = sorted({int(n) for n in re.findall(r"^\| R(\d+) \|", (ROOT / "docs" / "rules.md").read_text(), re.M)})
    assert rules == list(range(1, 25))
    names = [
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    ]
    unproved = [r for r in rules if not any(re.search(rf"(^test_|_)r{r}_", name) for name in names)]
    assert unproved == []
