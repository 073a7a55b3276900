"""Read what a user sees: the text inside elements of a page, found by tag and attribute."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Collector(HTMLParser):
    def __init__(self, tag: str | None, attribute: str | None, value: str | None) -> None:
        super().__init__()
        self.tag, self.attribute, self.value = tag, attribute, value
        self.found: list[str] = []
        self._depths: list[list[object]] = []  # [depth, pieces] per open match

    def _matches(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if self.tag is not None and tag != self.tag:
            return False
        if self.attribute is None:
            return True
        values = dict(attrs)
        if self.attribute not in values:
            return False
        return self.value is None or values[self.attribute] == self.value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        for open_match in self._depths:
            open_match[0] = int(open_match[0]) + 1  # type: ignore[call-overload]
        if self._matches(tag, attrs):
            self._depths.append([1, []])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        still = []
        for open_match in self._depths:
            open_match[0] = int(open_match[0]) - 1  # type: ignore[call-overload]
            if open_match[0] == 0:
                self.found.append(re.sub(r"\s+", " ", "".join(open_match[1])).strip())  # type: ignore[arg-type]
            else:
                still.append(open_match)
        self._depths = still

    def handle_data(self, data: str) -> None:
        for open_match in self._depths:
            open_match[1].append(data)  # type: ignore[attr-defined]


def texts(
    html: str | bytes, tag: str | None = None, attribute: str | None = None, value: str | None = None
) -> list[str]:
    """The whitespace-normalised text of every element that matches."""
    parser = _Collector(tag, attribute, value)
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return parser.found


def main_text(html: str | bytes) -> str:
    [found] = texts(html, "main")
    return found
