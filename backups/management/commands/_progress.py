from __future__ import annotations

from collections.abc import Callable
from typing import Any


def printer(out: Any) -> Callable[[int, str], None]:
    """Progress lines for a terminal (a command's stdout): one line per phase change or percent step."""
    last: list[tuple[int, str]] = []

    def echo(percent: int, phase: str) -> None:
        if last and last[-1] == (percent, phase):
            return
        last.append((percent, phase))
        out.write(f"{percent:3d}%  {phase}\n")

    return echo
