"""The API documentation page renders under a strict Content-Security-Policy: Swagger UI comes from our own static
files and its settings are a JSON data block, so no script from elsewhere and no inline script is needed."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_works_with_default_src_self(page: Any, live_server: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__violations.push("
        "{directive: e.effectiveDirective, blocked: e.blockedURI}));"
    )
    response = page.goto(f"{live_server.url}/api/v1/docs")
    # The portal's own policy (django-csp), not one made up for the test.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    page.locator(".opblock-summary-path", has_text="/api/v1/backups/{backup_id}/download").wait_for()
    page.get_by_role("button", name="Authorize").wait_for()
    assert all(url.startswith(live_server.url) for url in requested), requested
    violations = page.evaluate("window.__violations")
    scripts = [v for v in violations if v["directive"].startswith(("script-src", "connect-src"))]
    assert scripts == []
