"""The test suite needs nothing beside the repository: a clone on its own runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import repo_guard
from tests.bacpac.samples import EXPECTED, SAMPLES
from tests.mdb.helpers import MDB_SAMPLES

BESIDE = repo_guard.REPOSITORY.parent / "no-such-folder-beside-the-repository" / "pubs.bacpac"


def test_the_guard_notices_a_file_opened_beside_the_repository() -> None:
    repo_guard._seen.clear()
    with pytest.raises(FileNotFoundError):
        BESIDE.open("rb")  # the audit event fires before the open fails
    assert repo_guard._seen == [f"open: {BESIDE}"]
    repo_guard._seen.clear()


def test_the_guard_notices_a_subprocess_given_a_path_beside_the_repository() -> None:
    repo_guard._seen.clear()
    subprocess.run([sys.executable, "-c", "pass", str(BESIDE)], check=True)
    assert repo_guard._seen == [f"subprocess.Popen: {BESIDE}"]
    repo_guard._seen.clear()


def test_paths_inside_the_repository_and_elsewhere_are_fine() -> None:
    assert not repo_guard.outside_repository(repo_guard.REPOSITORY / "tests" / "fixtures" / "bacpac" / "pubs.bacpac")
    assert not repo_guard.outside_repository(sys.executable)
    assert not repo_guard.outside_repository("/usr/share/zoneinfo/Europe/Amsterdam")
    assert repo_guard.outside_repository(repo_guard.REPOSITORY / ".." / "a-folder-beside")


def test_the_sample_files_live_in_the_repository() -> None:
    for folder in (SAMPLES, EXPECTED, MDB_SAMPLES):
        assert folder.resolve().is_relative_to(repo_guard.REPOSITORY)
        assert any(folder.iterdir())


def test_no_test_file_names_a_folder_beside_the_repository() -> None:
    # Hostile inputs such as "../x" are fine; climbing above the repository, or naming a folder that happens to lie
    # beside it on this machine, is not. A sibling's name counts only as a path component ("/name/", "../name",
    # `.parent / "name"`): a folder beside the repository may well be called like a word the tests use ("engine").
    beside = [p.name for p in repo_guard.REPOSITORY.parent.iterdir() if p != repo_guard.REPOSITORY]
    names = "|".join(re.escape(name) for name in beside)
    leaving = re.compile(
        r"parents\[\d+\]\.parent|\.parent\.parent"
        + (rf"""|/({names})(["'/]|$)|parent\s*/\s*["']({names})["']""" if names else "")
    )
    offenders = [
        f"{path.relative_to(repo_guard.REPOSITORY)}:{number}"
        for path in Path(repo_guard.REPOSITORY, "tests").rglob("*.py")
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if leaving.search(line)
    ]
    assert offenders == []
