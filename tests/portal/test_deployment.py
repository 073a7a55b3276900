"""Deployment: the demo key is refused outside debug mode, `check --deploy` is clean with README's production
variables, HTTPS settings come from the environment, and the Content-Security-Policy allows only our own files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
CLEAN = "System check identified no issues (0 silenced)."


def production_variables() -> dict[str, str]:
    """The NAME=value lines of the sh block under README's "### Production" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Production", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    variables = {}
    for line in block.splitlines():
        match = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
        if match:
            variables[match.group(1)] = match.group(2).strip().strip("'\"")
    return variables


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Only what the test says: none of the portal's variables leak in from the machine running the tests.
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    return subprocess.run(
        [*MANAGE, *args],
        env={**base, "PORTAL_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_without_secret_key_and_without_debug_the_checks_fail_with_portal_e001(tmp_path: Path) -> None:
    result = run(["check"], tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "(portal.E001) SECRET_KEY is the demo key from the repository while DEBUG is off." in result.stderr


def test_the_demo_may_use_the_built_in_key(tmp_path: Path) -> None:
    result = run(["check"], tmp_path, DEBUG="1")
    assert result.returncode == 0 and result.stdout.strip() == CLEAN


def test_readme_documents_the_production_variables() -> None:
    variables = production_variables()
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SECURE_COOKIES",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
    ):
        assert name in variables, name


def test_check_deploy_with_the_production_variables_from_readme_is_clean(tmp_path: Path) -> None:
    variables = production_variables()
    # README shows a placeholder; a real deployment sets a long random key.
    variables["SECRET_KEY"] = "a-long-random-production-key-" + os.urandom(24).hex()
    result = run(["check", "--deploy"], tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == CLEAN and result.stderr.strip() == ""


def test_https_settings_come_from_the_environment(tmp_path: Path) -> None:
    variables = production_variables()
    variables["SECRET_KEY"] = "another-long-random-production-key-" + os.urandom(24).hex()
    host = variables["ALLOWED_HOSTS"].split(",")[0]
    script = (
        "from django.test import Client\n"
        f"c = Client(HTTP_HOST={host!r})\n"
        "plain = c.get('/inloggen/')\n"
        "print('redirect', plain.status_code, plain.headers.get('Location'))\n"
        "secure = c.get('/inloggen/', headers={'X-Forwarded-Proto': 'https'})\n"
        "print('hsts', secure.status_code, secure.headers.get('Strict-Transport-Security'))\n"
    )
    result = run(["shell", "-c", script], tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"redirect 301 https://{host}/inloggen/" in lines
    assert "hsts 200 max-age=31536000; includeSubDomains; preload" in lines


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(client: Client) -> None:
    policy = client.get("/inloggen/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_inline_scripts_event_handlers_or_style_attributes() -> None:
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            found += [f"{template.relative_to(ROOT)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    assert found == []
