"""A real browser for the website's tests: Debian's chromium driven by Playwright.
The fixtures are registered by tests/conftest.py.

Playwright is told to use the system chromium, so nothing is downloaded. Without one the
tests skip, saying why, unless SAKSI_REQUIRE_BROWSER=1 (set by .ci/run) makes that a
failure. Every page a test opens records its requests, and the test fails if any went to
an origin other than the server's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

REQUIRE_BROWSER = os.environ.get("SAKSI_REQUIRE_BROWSER") == "1"


def _chromium() -> str | None:
    explicit = os.environ.get("SAKSI_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        reason = "no chromium found (scripts/install-system installs Debian's chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"SAKSI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    browser = playwright_session.chromium.launch(executable_path=executable)
    yield browser
    browser.close()


class RecordedPage:
    """A page and every URL it requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def foreign_requests(self, origin: str) -> list[str]:
        """Requests to anywhere but ``origin`` (data: and blob: URLs stay in the page)."""
        allowed = urlsplit(origin)
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url)[:2] != allowed[:2]
        ]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[object]:
    """``open_page(width, height)`` gives a RecordedPage in a fresh browser context."""
    contexts = []

    def opener(width: int = 1280, height: int = 900) -> RecordedPage:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return RecordedPage(context.new_page())

    yield opener
    for context in contexts:
        context.close()
