"""Reading a page the way a user does: the text inside <main> (or a swapped-in <form>), and the error messages shown."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self, tag: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tag = tag
        self.depth = 0  # >0 while inside the first element named `tag`
        self.done = False
        self.text: list[str] = []
        self.errors: list[list[str]] = []
        self.error_depths: list[int] = []
        self.stack = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self.stack += 1
        if tag == self.tag and not self.depth and not self.done:
            self.depth = self.stack
        classes = (dict(attrs).get("class") or "").split()
        if self.depth and "error" in classes:
            self.errors.append([])
            self.error_depths.append(self.stack)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.error_depths and self.error_depths[-1] == self.stack:
            self.error_depths.pop()
        if self.depth == self.stack:
            self.depth = 0
            self.done = True
        self.stack -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)
            for depth_index in range(len(self.error_depths)):
                self.errors[len(self.errors) - len(self.error_depths) + depth_index].append(data)


def _read(html: str) -> _Reader:
    reader = _Reader("main" if "<main" in html else "form")
    reader.feed(html)
    return reader


def _normalised(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def main_text(html: str) -> str:
    """The text of <main> (of the first <form> for an htmx fragment), whitespace collapsed."""
    return _normalised(_read(html).text)


def errors(html: str) -> list[str]:
    """The error messages (elements with class "error") inside <main> or the fragment's form."""
    return [_normalised(parts) for parts in _read(html).errors]
