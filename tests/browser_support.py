"""Real headless Chromium for the tests: Debian's ``chromium`` driven by Playwright for
Python (never ``playwright install``), with every request that is not ``file://`` aborted and
recorded — a report must draw every chart without the network."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots the browser tests keep for people to look at (git-ignored; CI artefacts).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: mark a test module that needs the browser: skipped without Debian's chromium
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install -y chromium fonts-noto-cjk; `make test` does it)",
    ),
]


@contextlib.contextmanager
def launched_chromium():
    """Debian's chromium, headless, for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_offline(browser, path: Path, charts_expected: int) -> Visit:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    visit = Visit(context.new_page())

    def only_local(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            visit.requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    visit.page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    visit.page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
    visit.page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))
    visit.page.goto(path.as_uri(), wait_until="load")
    with contextlib.suppress(Exception):  # the assertions say what is missing
        visit.page.wait_for_function(
            "n => document.querySelectorAll('.vega-embed svg.marks').length >= n",
            arg=charts_expected,
            timeout=20_000,
        )
    return visit


def keep_screenshot(page, name: str) -> Path:
    """Save the whole page as ``build/screenshots/<name>.png`` and return the path."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
