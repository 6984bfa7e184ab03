"""The system's headless Chromium, driven through Playwright (no browser download).

The Dagster UI and the Gradio app are single-page apps: the graph, the plots and the tables
exist only after their JavaScript has fetched data and rendered, and some views appear only
after a click. Playwright drives the page (navigate, wait for a JavaScript predicate, click,
type, screenshot) over its own connection to the Chromium that apt installed; Playwright's
bundled browsers are never fetched (``executable_path``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests import system_deps

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
#: --no-sandbox: the tests run as root in CI; the rest keeps a headless run quiet and offline.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium under Playwright; a missing one skips (fails in CI)."""
    executable = find_chromium()
    if executable is None:
        system_deps.missing(
            "chromium is not installed (apt-get install chromium; CI's .ci/run does)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def wait_for(page: Page, what: str, predicate_js: str, timeout: float = 60) -> Any:
    """The value of a JavaScript expression once it is truthy (the page renders asynchronously);
    on time-out an AssertionError naming ``what`` with the start of the page's text."""
    try:
        handle = page.wait_for_function(predicate_js, timeout=timeout * 1000, polling=500)
    except PlaywrightTimeout:
        text = page.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what}; page:\n{text}"
        ) from None
    return handle.json_value()
