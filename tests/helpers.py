"""Look where a person looks: the text of a page's <main> (or of one element), not the whole response, which also
holds the <title>, hidden inputs, scripts and attributes."""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup


def _html(response_or_html: Any) -> str:
    if isinstance(response_or_html, str):
        return response_or_html
    return response_or_html.content.decode()


def element(response_or_html: Any, selector: str = "main") -> Any:
    """The first element matching a CSS selector; an HTMX fragment (no <main>) is searched as a whole."""
    soup = BeautifulSoup(_html(response_or_html), "html.parser")
    found = soup.select_one(selector)
    if found is None and selector == "main" and soup.body is None:
        return soup
    assert found is not None, f"no element matches {selector!r}"
    return found


def text_of(response_or_html: Any, selector: str = "main") -> str:
    """The visible text inside the element, whitespace collapsed (so a test can match a sentence that wraps)."""
    return re.sub(r"\s+", " ", element(response_or_html, selector).get_text(" ")).strip()


def main_text(response_or_html: Any) -> str:
    return text_of(response_or_html, "main")
