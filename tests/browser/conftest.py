"""Fixtures of the browser test: the built book, a local web server, headless Chromium.

The test skips, with the reason, when Chromium or the built book is missing; with
``PATHINT_REQUIRE_BROWSER=1`` in the environment (``make test-browser``, CI) it
fails instead, so a missing browser cannot pass unnoticed.

Environment:
``PATHINT_BOOK_HTML``   the built book (default ``_build/html`` of the repository)
``PATHINT_CHROMIUM``    the Chromium executable (default ``/usr/bin/chromium``, then
                        ``chromium`` on PATH)
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def book_html_dir() -> Path:
    return Path(os.environ.get("PATHINT_BOOK_HTML", ROOT / "_build" / "html")).resolve()


def find_chromium() -> str | None:
    given = os.environ.get("PATHINT_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def book_pages() -> list[str]:
    """Every HTML page of the built book, as paths relative to its folder."""
    root = book_html_dir()
    if not (root / "index.html").is_file():
        return []
    skip = {"_static", "_sources", "_images"}
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not skip.intersection(p.relative_to(root).parts)
    )


def skip_or_fail(reason: str) -> None:
    if os.environ.get("PATHINT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PATHINT_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def pytest_generate_tests(metafunc):
    """Run every test that takes ``page_path`` once per page of the built book."""
    if "page_path" in metafunc.fixturenames:
        pages = book_pages()
        # Without a book, one placeholder run whose book_dir fixture skips or fails.
        metafunc.parametrize("page_path", pages or ["(book not built)"])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def book_dir() -> Path:
    root = book_html_dir()
    if not (root / "index.html").is_file():
        skip_or_fail(
            f"the book is not built ({root}/index.html missing): run make book"
        )
    return root


@pytest.fixture(scope="session")
def all_pages(book_dir) -> list[str]:
    return book_pages()


@pytest.fixture(scope="session")
def server(book_dir):
    """Serve the book on 127.0.0.1, on a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail(
            "no Chromium found (install: apt-get install chromium, "
            "or set PATHINT_CHROMIUM)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshot_dir(book_dir) -> Path:
    out = book_dir.parent / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out
