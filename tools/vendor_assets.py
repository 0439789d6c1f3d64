"""Put local copies of the book's third-party browser scripts into its static folder.

The rendered book must work offline, so every page loads MathJax and the widget
scripts from the book's own ``_static`` folder instead of a CDN. This script fills
``book/_static/vendor/`` (ignored by git; Sphinx copies it into
``_build/html/_static/vendor/``):

``mathjax/``       MathJax 3.2.2's ``es5`` build, from the PyPI wheel
                   ``django-static-mathjax`` installed in the environment
``requirejs/``     ``require.js`` from the npm package ``requirejs``
``html-manager/``  ``embed-amd.js`` and its icon fonts from the npm package
                   ``@jupyter-widgets/html-manager`` (the 1.x line, for ipywidgets 8)

The npm packages are fetched once with ``npm pack`` (the tarball only, no
dependencies: the files used are self-contained bundles) into ``.vendor/npm/``,
and checked against the pinned sha512 integrity below before anything is copied.
A stamp file records what was vendored, so a second run with nothing changed
returns at once. Run it with the project's Python: ``.venv/bin/python
tools/vendor_assets.py`` (``make book`` does).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "book" / "_static" / "vendor"
CACHE = ROOT / ".vendor" / "npm"
STAMP_NAME = ".vendored.json"

MATHJAX_VERSION = "3.2.2"
# The combined MathJax bundle the pages load (Sphinx's default choice for MathJax 3),
# and the loader pieces it is built from. The other combined bundles of ``es5/``
# (SVG output, "full" variants, the node entry point, and ``latest.js``, which
# fetches MathJax from a CDN) are left out; every folder that MathJax loads
# components from on demand (input, output, ui, a11y, sre, adaptors) is copied.
MATHJAX_TOP_FILES = ("tex-mml-chtml.js", "core.js", "loader.js", "startup.js")


@dataclass(frozen=True)
class NpmPackage:
    """An npm package pinned by version and tarball integrity."""

    name: str
    version: str
    integrity: str
    folder: str
    # tarball member (under package/) -> file name in the folder
    files: dict[str, str]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


_HM_FONTS = (
    "1551f4f60c37af51121f.woff2",
    "7a3337626410ca2f4071.woff2",
    "d878b0a6a1144760244f.woff2",
    "2285773e6b4b172f07d9.woff",
    "bb58e57c48a3e911f15f.woff",
    "eeccf4f66002c6f2ba24.woff",
)

NPM_PACKAGES = (
    NpmPackage(
        name="requirejs",
        version="2.3.8",
        integrity="sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c"
        "+Jd5otXKGNehIonFlyQXSowL6Mw==",
        folder="requirejs",
        files={"require.js": "require.js", "package.json": "package.json"},
    ),
    NpmPackage(
        name="@jupyter-widgets/html-manager",
        version="1.0.15",
        integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FU"
        "TopvFi//SABeNz1yp47bCrJ3CQA==",
        folder="html-manager",
        # The Font Awesome 5 fonts of the widget styles: woff2 and woff cover every
        # current browser (the eot, ttf and svg variants serve only very old ones).
        # book/_static/pathint-widgets.js points the manager at this folder for them.
        files={
            "dist/embed-amd.js": "embed-amd.js",
            "dist/embed.js.LICENSE.txt": "embed-amd.js.LICENSE.txt",
            "package.json": "package.json",
            **{f"dist/{font}": font for font in _HM_FONTS},
        },
    ),
)


class VendorError(RuntimeError):
    """Vendoring failed; the message says why and what to do."""


def _sri(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def _mathjax_es5() -> tuple[Path, str]:
    """The es5 folder of MathJax inside the installed django-static-mathjax wheel."""
    spec = importlib.util.find_spec("mathjax")
    try:
        wheel = importlib.metadata.version("django-static-mathjax")
    except importlib.metadata.PackageNotFoundError:
        wheel = None
    if spec is None or spec.origin is None or wheel is None:
        raise VendorError(
            "MathJax not found: install the PyPI package django-static-mathjax "
            f"(listed in requirements.txt) into the environment of {sys.executable}"
        )
    base = Path(spec.origin).parent / "static" / "mathjax"
    version = json.loads((base / "package.json").read_text())["version"]
    if version != MATHJAX_VERSION:
        raise VendorError(
            f"django-static-mathjax {wheel} ships MathJax {version}, expected "
            f"{MATHJAX_VERSION}; update MATHJAX_VERSION in {__file__} after checking "
            "the book renders"
        )
    return base, f"{version} (django-static-mathjax {wheel})"


def _fetch(package: NpmPackage, cache: Path) -> Path:
    """The verified tarball of ``package``, fetched with ``npm pack`` if not cached."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / (
        package.name.lstrip("@").replace("/", "-") + f"-{package.version}.tgz"
    )
    if not tarball.exists() or _sri(tarball) != package.integrity:
        npm = shutil.which("npm")
        if npm is None:
            raise VendorError(
                f"npm is needed once to fetch {package.spec} for the offline book, "
                "but it is not on PATH. Install Node.js with npm (Debian/Ubuntu: "
                "apt-get install npm), then run make book again."
            )
        tarball.unlink(missing_ok=True)
        cmd = [npm, "pack", package.spec, "--json", "--ignore-scripts",
               "--pack-destination", str(cache)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise VendorError(
                f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n"
                f"{proc.stderr.strip()}"
            )
        filename = json.loads(proc.stdout)[0]["filename"]
        if (cache / filename) != tarball:
            (cache / filename).replace(tarball)
    actual = _sri(tarball)
    if actual != package.integrity:
        raise VendorError(
            f"{tarball} does not match the pinned integrity of {package.spec}: "
            f"expected {package.integrity}, got {actual}"
        )
    return tarball


def _unpack(package: NpmPackage, tarball: Path, dest: Path) -> None:
    folder = dest / package.folder
    folder.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for member, target in package.files.items():
            source = tar.extractfile(f"package/{member}")
            if source is None:
                raise VendorError(f"{tarball} has no file package/{member}")
            (folder / target).write_bytes(source.read())


def _copy_mathjax(base: Path, dest: Path) -> None:
    es5 = base / "es5"
    target = dest / "mathjax"
    target.mkdir(parents=True)
    for item in es5.iterdir():
        if item.is_dir():
            shutil.copytree(item, target / item.name)
        elif item.name in MATHJAX_TOP_FILES:
            shutil.copy2(item, target / item.name)
    shutil.copy2(base / "LICENSE", target / "LICENSE")


def expected_manifest() -> dict[str, str]:
    """What a complete vendor folder holds: package -> version and origin."""
    _, mathjax = _mathjax_es5()
    manifest = {"mathjax": mathjax, "layout": "1"}
    for package in NPM_PACKAGES:
        manifest[package.name] = f"{package.version} {package.integrity}"
    return manifest


def _complete(dest: Path) -> bool:
    files = [dest / "mathjax" / name for name in MATHJAX_TOP_FILES]
    for package in NPM_PACKAGES:
        files += [dest / package.folder / name for name in package.files.values()]
    return all(f.is_file() for f in files)


def vendor(dest: Path = DEST, cache: Path = CACHE, force: bool = False) -> bool:
    """Fill ``dest``; return True when it was (re)built, False when up to date."""
    manifest = expected_manifest()
    stamp = dest / STAMP_NAME
    if not force and stamp.is_file() and _complete(dest):
        if json.loads(stamp.read_text()) == manifest:
            return False

    base, _ = _mathjax_es5()
    tarballs = [(p, _fetch(p, cache)) for p in NPM_PACKAGES]

    # Build next to the destination, then swap, so an interrupted run never leaves
    # a half-filled folder that looks complete.
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".vendor-") as tmp:
        staging = Path(tmp) / "vendor"
        staging.mkdir()
        _copy_mathjax(base, staging)
        for package, tarball in tarballs:
            _unpack(package, tarball, staging)
        (staging / STAMP_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        staging.replace(dest)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    try:
        built = vendor(args.dest, args.cache, args.force)
    except VendorError as exc:
        print(f"vendor_assets: error: {exc}", file=sys.stderr)
        return 1
    where = args.dest.resolve()
    print(f"vendor_assets: {'vendored' if built else 'up to date'}: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
