"""Every page of the built book, opened in headless Chromium with no network.

The book is served from 127.0.0.1 by the test itself; any request to another host
is aborted and counted as a failure, so a page that still needs a CDN fails here
exactly as it would for a reader offline. Per page the test checks that

* every math element was typeset by MathJax and no raw TeX is left in the text,
* every image loaded, no request failed, no request left the local server,
* the browser console shows no error,
* every widget view rendered into a non-empty area,
* every explorable answers its sliders with the right frame,

and saves a full-page screenshot under ``_build/screenshots/``. A self-test plants
each fault in a synthetic page and checks that it is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = pytest.mark.browser

WIDGET_VIEW_TYPE = "application/vnd.jupyter.widget-view+json"

# Ancestors whose text is code or machine data, not prose: TeX there is fine.
_NOT_PROSE = "script,style,noscript,template,pre,code,textarea,mjx-container,.highlight"
RAW_TEX = ["$$", "\\(", "\\[", "\\begin", "\\frac"]

_WAIT_MATH = """
async () => {
  const maths = Array.from(document.querySelectorAll('.math'));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  return {
    total: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container'))
                    .map(m => m.textContent.trim().slice(0, 80)),
    mathjax: !!(window.MathJax && window.MathJax.startup),
  };
}
"""

_RAW_TEX = """
([skip, patterns]) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const hits = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const text = node.nodeValue;
    if (patterns.some(p => text.includes(p))) hits.push(text.trim().slice(0, 100));
  }
  return hits;
}
"""

_WAIT_IMAGES = """
async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  const settle = img => img.complete ? Promise.resolve() : new Promise(r => {
    img.addEventListener('load', r, {once: true});
    img.addEventListener('error', r, {once: true});
  });
  await Promise.race([Promise.all(imgs.map(settle)),
                      new Promise(r => setTimeout(r, 10000))]);
  return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
             .map(img => (img.currentSrc || img.src || '(no src)').slice(0, 100));
}
"""

_WIDGET_VIEWS = f'script[type="{WIDGET_VIEW_TYPE}"]'

_WIDGETS_RENDERED = """
(selector) => Array.from(document.querySelectorAll(selector)).every(tag => {
  const area = tag.parentElement;
  const view = area && area.querySelector('.jupyter-widgets');
  return view && view.getBoundingClientRect().height > 0;
})
"""

_EMPTY_WIDGETS = """
(selector) => Array.from(document.querySelectorAll(selector)).filter(tag => {
  const area = tag.parentElement;
  const view = area && area.querySelector('.jupyter-widgets');
  return !(view && view.getBoundingClientRect().height > 0);
}).map(tag => tag.textContent.slice(0, 80))
"""

# Figures are white-background PNGs: a dark theme may dim them, never invert them.
_INVERTED_FIGURES = """
() => Array.from(document.querySelectorAll('.cell_output img, .pathint-explorable img'))
  .filter(img => getComputedStyle(img).filter.includes('invert'))
  .map(img => (img.currentSrc || img.src).slice(0, 60))
"""

_MOVE_SLIDERS = """
(root) => {
  const problems = [];
  const blob = root.querySelector('script.pathint-explorable-data');
  const img = root.querySelector('img.pathint-explorable-frame');
  const inputs = Array.from(root.querySelectorAll('input[type=range]'));
  if (!blob || !img) return ['explorable without its data or image'];
  const data = JSON.parse(blob.textContent);
  if (inputs.length !== data.shape.length) {
    problems.push(`${inputs.length} sliders for ${data.shape.length} grid axes`);
  }
  let moved = 0;
  inputs.forEach((input, s) => {
    const n = data.shape[s];
    if (n < 2) return;
    const before = img.src;
    const target = Number(input.value) === n - 1 ? 0 : n - 1;
    input.value = String(target);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    moved += 1;
    let flat = 0;
    inputs.forEach((inp, t) => { flat = flat * data.shape[t] + Number(inp.value); });
    const name = input.getAttribute('aria-label');
    if (img.src === before) problems.push(`moving '${name}' left the image unchanged`);
    if (img.src !== 'data:image/png;base64,' + data.frames[flat]) {
      problems.push(`moving '${name}' showed the wrong frame`);
    }
    const label = input.parentNode.querySelector('output');
    if (!label || label.textContent !== data.labels[s][target]) {
      problems.push(`moving '${name}' did not update its value label`);
    }
  });
  if (!moved) problems.push('no slider with two or more values');
  return problems;
}
"""


@dataclass
class PageReport:
    """What one page did in the browser."""

    url: str
    final_url: str = ""
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    math_total: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    widget_views: int = 0
    empty_widgets: list[str] = field(default_factory=list)
    explorables: int = 0
    explorable_problems: list[str] = field(default_factory=list)
    theme: str | None = None
    inverted_figures: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = []
        for name in (
            "external",
            "failed",
            "console_errors",
            "untypeset_math",
            "raw_tex",
            "broken_images",
            "empty_widgets",
            "explorable_problems",
            "inverted_figures",
        ):
            out += [f"{name}: {item}" for item in getattr(self, name)]
        return out


def inspect_page(
    browser,
    base_url: str,
    url: str,
    screenshot: Path | None = None,
    color_scheme: str = "light",
    prepare=None,
    widget_timeout_ms: int = 15000,
    redirect_to: str | None = None,
) -> PageReport:
    """Open ``url`` with every non-local request blocked and report what happened.

    ``prepare(context)``, if given, runs on the fresh browser context first (the
    self-test uses it to serve a synthetic page). With ``redirect_to`` the page is
    a redirect, and the report says whether the browser reached that URL cleanly.
    """
    report = PageReport(url=url)
    local = urlsplit(base_url).netloc
    blocked: set[str] = set()
    pending: set[str] = set()

    def route(route_):
        request_url = route_.request.url
        parts = urlsplit(request_url)
        if parts.scheme in ("data", "blob") or parts.netloc == local:
            route_.fallback()
        else:
            report.external.append(request_url)
            blocked.add(request_url)
            route_.abort()

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme=color_scheme
    )
    try:
        if prepare is not None:
            prepare(context)
        context.route("**/*", route)  # runs before routes added earlier
        page = context.new_page()
        page.on(
            "console",
            lambda msg: (
                report.console_errors.append(msg.text) if msg.type == "error" else None
            ),
        )
        page.on("pageerror", lambda exc: report.console_errors.append(str(exc)))
        page.on("request", lambda req: pending.add(req.url))
        page.on("requestfinished", lambda req: pending.discard(req.url))
        page.on("requestfailed", lambda req: pending.discard(req.url))
        page.on(
            "requestfailed",
            lambda req: (
                None
                if req.url in blocked
                else report.failed.append(f"{req.url} ({req.failure})")
            ),
        )
        page.on(
            "response",
            lambda resp: (
                report.failed.append(f"{resp.url} (HTTP {resp.status})")
                if resp.status >= 400
                else None
            ),
        )

        if redirect_to is not None:
            # A redirect page (the book's index.html) holds nothing to inspect: it
            # must lead to its target without an error on the way. Nothing is
            # evaluated in the page, because the redirect can replace the document
            # at any moment; the target gets the full inspection as its own page.
            page.goto(url, wait_until="commit")
            try:
                page.wait_for_url(redirect_to, wait_until="load", timeout=30000)
            except PlaywrightTimeoutError:
                report.failed.append(f"{url} did not lead to {redirect_to}")
            report.final_url = page.url
            try:
                page.wait_for_load_state("networkidle", timeout=60000)
            except PlaywrightTimeoutError:
                report.failed += [f"{u} (still pending after 60 s)" for u in pending]
            return report

        page.goto(url, wait_until="load")
        report.final_url = page.url
        math = page.evaluate(_WAIT_MATH)
        report.math_total = math["total"]
        report.untypeset_math = math["untypeset"]
        if math["total"] and not math["mathjax"]:
            report.untypeset_math.insert(0, "MathJax did not start")

        report.widget_views = page.locator(_WIDGET_VIEWS).count()
        if report.widget_views:
            try:
                page.wait_for_function(
                    _WIDGETS_RENDERED, arg=_WIDGET_VIEWS, timeout=widget_timeout_ms
                )
            except PlaywrightTimeoutError:
                pass  # the check below names the widgets that stayed empty
            report.empty_widgets = page.evaluate(_EMPTY_WIDGETS, _WIDGET_VIEWS)

        report.broken_images = page.evaluate(_WAIT_IMAGES)
        try:
            page.wait_for_load_state("networkidle", timeout=60000)
        except PlaywrightTimeoutError:
            report.failed += [f"{u} (still pending after 60 s)" for u in pending]
        report.raw_tex = page.evaluate(_RAW_TEX, [_NOT_PROSE, RAW_TEX])

        report.theme = page.evaluate("document.documentElement.dataset.theme")
        report.inverted_figures = page.evaluate(_INVERTED_FIGURES)

        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)

        explorables = page.locator(".pathint-explorable")
        report.explorables = explorables.count()
        for i in range(report.explorables):
            report.explorable_problems += [
                f"explorable {i}: {p}"
                for p in explorables.nth(i).evaluate(_MOVE_SLIDERS)
            ]
        page.wait_for_timeout(200)  # errors raised by the slider handlers
    finally:
        context.close()
    return report


def _shot_name(page_path: str) -> str:
    return page_path.replace("/", "__").removesuffix(".html") + ".png"


_META_REFRESH = re.compile(
    r"""<meta[^>]*http-equiv=["']refresh["'][^>]*content=["'][^"']*url=([^"'\s]+)""",
    re.I,
)


def redirect_target(source: str) -> str | None:
    """The page a meta-refresh redirect page leads to, or None for a normal page."""
    match = _META_REFRESH.search(source)
    return match.group(1) if match else None


def test_redirect_target_is_read_from_the_page():
    page = '<meta http-equiv="Refresh" content="0; url=intro.html" />'
    assert redirect_target(page) == "intro.html"
    assert redirect_target("<meta charset='utf-8'><p>url=intro.html</p>") is None


def test_page_works_offline(page_path, book_dir, server, browser, screenshot_dir):
    url = f"{server}/{page_path}"
    source = (book_dir / page_path).read_text(encoding="utf-8")
    target = redirect_target(source)
    if target is not None:
        assert (book_dir / page_path).parent.joinpath(target).is_file(), (
            f"{page_path} redirects to {target}, which the build did not write"
        )
        expected = urljoin(url, target)
        report = inspect_page(browser, server, url, redirect_to=expected)
        problems = report.problems()
        assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)
        assert report.final_url == expected
        return

    report = inspect_page(browser, server, url, screenshot_dir / _shot_name(page_path))
    problems = report.problems()
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)

    # The checks above saw what the page holds.
    if 'class="math' in source:
        assert report.math_total > 0
    if WIDGET_VIEW_TYPE in source:
        assert report.widget_views > 0
    if "pathint-explorable" in source:
        assert report.explorables > 0


def test_footer_copyright(page_path, book_dir):
    source = (book_dir / page_path).read_text(encoding="utf-8")
    if "http-equiv" in source and "<footer" not in source:
        pytest.skip("a redirect page has no footer")
    config = book_dir.parents[1] / "_config.yml"
    if not config.is_file():
        pytest.skip(f"no {config} to read the configured copyright from")
    import yaml

    year = str(yaml.safe_load(config.read_text())["copyright"])
    match = re.search(r'<p class="copyright">\s*(.*?)\s*<', source, re.S)
    assert match, f"{page_path} has no copyright line in its footer"
    assert match.group(1) == f"© Copyright {year}."


def test_figures_stay_light_in_dark_mode(
    book_dir, all_pages, server, browser, screenshot_dir
):
    """In the theme's dark mode every page still works and no figure is inverted."""
    pages = [p for p in all_pages if "<img" in (book_dir / p).read_text("utf-8")]
    if not pages:
        pytest.skip("no page of the book has an image")
    for page_path in pages:
        shot = screenshot_dir / "dark" / _shot_name(page_path)
        report = inspect_page(browser, server, f"{server}/{page_path}", shot, "dark")
        assert report.theme == "dark", f"{page_path}: theme {report.theme!r}"
        assert not report.problems(), f"{page_path} (dark): {report.problems()}"


# A 1x1 PNG, for the planted explorable that has no slider script.
_DOT = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAA"
    "AABJRU5ErkJggg=="
)

SELF_TEST_PAGE = r"""<!doctype html><html><head><meta charset="utf-8">
<script>window.MathJax = {};</script></head><body>
<p>Raw TeX a reader would see: $$ \frac{1}{2} $$</p>
<span class="math">\(x\)</span>
<img src="missing.png" alt="missing">
<img src="http://127.0.0.2:9/remote.png" alt="remote">
<pre>\frac{a}{b} in code is fine</pre>
<div class="output"><script type="application/vnd.jupyter.widget-view+json">
{"model_id": "0"}</script></div>
<script>console.error("planted console error");</script>
WORKING_EXPLORABLE
<div class="pathint-explorable"><label>
<input type="range" min="0" max="1" step="1" value="0" aria-label="dead">
<output>0</output></label>
<img class="pathint-explorable-frame" src="data:image/png;base64,DOT">
<script type="application/json" class="pathint-explorable-data">
{"shape": [2], "labels": [["0", "1"]], "frames": ["DOT", "DOT"]}</script></div>
</body></html>
"""


def _working_explorable_html() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pathint_lib.explorable import explorable

    def frame(a, b):
        fig = plt.figure(figsize=(1, 1))
        fig.patch.set_facecolor((a, b, 0.5))
        return fig

    return explorable(
        frame, {"a": [0.0, 1.0], "b": [0.0, 0.5, 1.0]}, dpi=20
    )._repr_html_()


def test_checker_catches_planted_faults(server, browser):
    """Each check can fail: a synthetic page with one fault of each kind.

    The page also holds a real explorable, so its slider script is exercised in the
    browser even when no chapter of the book uses one.
    """
    url = f"{server}/__selftest__/page.html"
    body = SELF_TEST_PAGE.replace("DOT", _DOT).replace(
        "WORKING_EXPLORABLE", _working_explorable_html()
    )

    def serve_synthetic_page(context):
        context.route(
            url,
            lambda route_: route_.fulfill(
                status=200, content_type="text/html", body=body
            ),
        )

    report = inspect_page(
        browser, server, url, prepare=serve_synthetic_page, widget_timeout_ms=1000
    )
    assert report.external == ["http://127.0.0.2:9/remote.png"]
    assert any("missing.png" in f and "404" in f for f in report.failed)
    assert any("planted console error" in e for e in report.console_errors)
    assert report.untypeset_math == ["MathJax did not start", "\\(x\\)"]
    assert any("\\frac{1}{2}" in t for t in report.raw_tex)
    assert not any("in code is fine" in t for t in report.raw_tex)
    assert len(report.broken_images) == 2
    assert len(report.empty_widgets) == 1
    # The real explorable (number 0) answers both sliders; the dead one (1) is caught.
    assert report.explorables == 2
    assert not [p for p in report.explorable_problems if p.startswith("explorable 0")]
    assert report.explorable_problems == [
        "explorable 1: moving 'dead' left the image unchanged",
        "explorable 1: moving 'dead' did not update its value label",
    ]


def test_redirect_check_catches_a_broken_redirect(server, browser, book_dir):
    """A redirect page is judged by the page it leads to: a dead target is caught."""

    def page_leading_to(target):
        def serve(context):
            context.route(
                f"{server}/__selftest__/redirect.html",
                lambda route_: route_.fulfill(
                    status=200,
                    content_type="text/html",
                    body=f'<meta http-equiv="Refresh" content="0; url={target}" />',
                ),
            )

        return serve

    url = f"{server}/__selftest__/redirect.html"
    first_page = redirect_target((book_dir / "index.html").read_text(encoding="utf-8"))
    good = f"{server}/{first_page}"
    report = inspect_page(
        browser, server, url, prepare=page_leading_to(good), redirect_to=good
    )
    assert not report.problems() and report.final_url == good

    dead = f"{server}/__selftest__/nowhere.html"
    report = inspect_page(
        browser, server, url, prepare=page_leading_to(dead), redirect_to=dead
    )
    assert any("nowhere.html" in f and "404" in f for f in report.failed)
