"""Sphinx extension: keep every page of the book loadable offline and error-free.

Two small jobs, each tied to how the HTML pages are assembled:

* Drop repeated inline scripts. Extensions that call ``app.add_js_file(None,
  body=...)`` after the HTML builder exists (sphinx-thebe, sphinx-togglebutton)
  get their script written twice on every page with Sphinx 7, because the
  builder stores it once under the file name ``None`` and once under ``""``.
  sphinx-thebe's script declares ``const THEBE_JS_URL``, so the second copy is a
  browser error ("Identifier 'THEBE_JS_URL' has already been declared").
* Warn about any script or stylesheet a page would load from another host; the
  book is built with warnings as errors, so such a page fails the build.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _key(asset: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    filename = getattr(asset, "filename", asset) or ""
    attributes = getattr(asset, "attributes", {}) or {}
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _dedupe(assets: list[Any]) -> None:
    seen = set()
    unique = []
    for asset in assets:
        key = _key(asset)
        if key not in seen:
            seen.add(key)
            unique.append(asset)
    assets[:] = unique


def _is_remote(filename: str) -> bool:
    return "://" in filename or filename.startswith("//")


def check_page_assets(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Remove repeated scripts and warn about assets loaded from the network."""
    for kind in ("script_files", "css_files"):
        assets = context.get(kind)
        if not isinstance(assets, list):
            continue
        _dedupe(assets)
        for asset in assets:
            filename = str(getattr(asset, "filename", asset) or "")
            if _is_remote(filename):
                logger.warning(
                    "page %s loads %s from the network; the book must work "
                    "offline (vendor the file into book/_static/vendor)",
                    pagename,
                    filename,
                    type="pathint",
                    subtype="offline",
                )


def setup(app: Sphinx) -> dict[str, Any]:
    # After myst-nb's handler (priority 500), which adds the widget scripts per page.
    app.connect("html-page-context", check_page_assets, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
