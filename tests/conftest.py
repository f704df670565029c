"""Shared test helpers: the live-torch switch and the browser switch."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

REQUIRE_TORCH = os.environ.get("LINEXPLAIN_REQUIRE_TORCH") == "1"


@pytest.fixture(scope="session")
def torch():
    """Real PyTorch for live tests: skipped when absent, a failure when CI requires it."""
    try:
        import torch as _torch
    except ImportError:
        if REQUIRE_TORCH:
            pytest.fail("LINEXPLAIN_REQUIRE_TORCH=1 but torch is not installed")
        pytest.skip("torch is not installed (live torch tests are required in CI)")
    return _torch


# The browser switch: Debian's Chromium driven by Playwright (tests/test_browser.py and
# tests/test_notebook.py). Like the torch switch, LINEXPLAIN_REQUIRE_BROWSER=1 (set by .ci/run)
# turns "skipped: no browser" into a failure. Nothing here downloads a browser: Playwright is
# given Debian's /usr/bin/chromium, never a build of its own (no `playwright install`).

REQUIRE_BROWSER = os.environ.get("LINEXPLAIN_REQUIRE_BROWSER") == "1"
CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet on the network: without the background-networking flags Chromium tries
# Google's hosts (updates, sync, safe browsing, QUIC probes), which a closed network refuses.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = {"width": 1280, "height": 800}


def _no_browser(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"LINEXPLAIN_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"{reason} (browser tests are required in CI)")


@dataclass
class Visit:
    """One page opened in the browser, with everything it asked for and complained about."""

    page: Any
    url: str
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # url: why it failed ("csp", ...)

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings (a CSP violation is one) and uncaught exceptions."""
        bad = [f"{kind}: {text}" for kind, text in self.console if kind in ("error", "warning")]
        return bad + [f"pageerror: {text}" for text in self.page_errors]

    @property
    def violations(self) -> list[str]:
        """The page's securitypolicyviolation events: ``directive blocked-uri`` each."""
        return self.page.evaluate("window.__cspViolations || []")

    @property
    def foreign_requests(self) -> list[str]:
        """Requests for anything but the page's own file (Chromium reports one that its CSP
        blocks too, as failed with "csp": see :attr:`failures`)."""
        return [url for url in self.requests if url != self.url]


# Recorded in the page before any of its own content runs; the page's CSP does not apply to it.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI), true);
"""


class Browser:
    """A headless Chromium with a fresh profile; :meth:`open` visits a file:// URL."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def open(self, url: str, viewport: dict[str, int] = DESKTOP) -> Visit:
        page = self.context.new_page()
        page.set_viewport_size(viewport)
        visit = Visit(page, url)
        page.on("console", lambda message: visit.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        page.on("request", lambda request: visit.requests.append(request.url))
        page.on(
            "requestfailed", lambda request: visit.failures.update({request.url: request.failure})
        )
        page.goto(url, wait_until="load")
        return visit


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's headless Chromium, one per test module: skipped when it or Playwright is absent,
    a failure when CI requires it (LINEXPLAIN_REQUIRE_BROWSER=1)."""
    if not os.path.exists(CHROMIUM):
        _no_browser(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=DESKTOP,
            service_workers="block",
        )
        context.add_init_script(_RECORD_VIOLATIONS)
        # Nothing leaves the machine even if a page asks: the request is recorded, then aborted.
        context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        try:
            yield Browser(context)
        finally:
            context.close()
