"""The suite stands on its own: a test that reads a file beside the repository (a sibling folder such as one with
sample files that a clone does not have) fails, naming the path.

An audit hook (PEP 578) sees every file the test process opens or lists, whoever opens it — the test, a fixture, the
portal's code or a subprocess started with the path as an argument. Paths inside the repository, and anywhere that
is not beside it (the system, the virtual environment, temporary folders), are fine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
_BESIDE = REPOSITORY.parent
_WATCHED_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile", "subprocess.Popen"}

_seen: list[str] = []


def outside_repository(path: Any) -> bool:
    """Whether ``path`` lies beside the repository (under its parent folder but not inside it)."""
    if isinstance(path, int) or path is None:
        return False
    try:
        resolved = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return resolved.startswith(f"{_BESIDE}{os.sep}") and not (
        resolved == str(REPOSITORY) or resolved.startswith(f"{REPOSITORY}{os.sep}")
    )


def _paths(event: str, args: tuple[Any, ...]) -> list[Any]:
    if event == "subprocess.Popen":
        # (executable, args, cwd, env): a path may be any of the arguments.
        argv = args[1]
        argv = [argv] if isinstance(argv, str | bytes | os.PathLike) else list(argv or [])
        return [a for a in argv if isinstance(a, str | bytes | os.PathLike) and os.sep in os.fsdecode(a)]
    if event == "shutil.copyfile":
        return list(args[:2])
    return [args[0]] if args else []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in _WATCHED_EVENTS:
        return
    for path in _paths(event, args):
        if outside_repository(path):
            _seen.append(f"{event}: {os.fsdecode(path)}")


sys.addaudithook(_hook)


@pytest.fixture(autouse=True)
def _reads_nothing_beside_the_repository() -> Iterator[None]:
    _seen.clear()
    yield
    if _seen:
        found = sorted(set(_seen))
        _seen.clear()
        pytest.fail(
            "this test reached outside the repository (test data belongs in tests/fixtures): " + ", ".join(found),
            pytrace=False,
        )
