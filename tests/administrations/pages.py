"""Look where the user looks: the HTML inside a page's <main>, and its text as read (tags dropped, entities
resolved, whitespace collapsed)."""

from __future__ import annotations

import html
import re
from typing import Any


def main_html(response: Any) -> str:
    body = response.content.decode()
    match = re.search(r"<main\b[^>]*>(.*)</main>", body, re.DOTALL)
    assert match, f"no <main> in the answer (status {response.status_code})"
    return match.group(1)


def main_text(response: Any) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", main_html(response))
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


def links_in_main(response: Any) -> set[str]:
    """Every URL a link or form in <main> points at: what the user can click."""
    return set(re.findall(r'(?:href|action|hx-post|hx-get)="([^"]+)"', main_html(response)))
