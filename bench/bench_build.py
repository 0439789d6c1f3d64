"""Build-time benchmark: the cold build (every chapter executed) and the cached rebuild.

Copies the tracked sources of the repository into a temporary folder, builds the book
there twice with the project's jupyter-book, and prints a table. The second build finds
every chapter in the execution cache, so it measures the cost of rendering alone.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_build.py``).
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return [line for line in out.stdout.splitlines() if line]


def _build(folder: pathlib.Path) -> float:
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    result = subprocess.run(
        [str(jb), "build", str(folder), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"book build failed in {folder}")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pathint-bench-") as tmp:
        work = pathlib.Path(tmp) / "book"
        for name in _tracked_files():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
        vendor = ROOT / "book" / "_static" / "vendor"
        if vendor.is_dir():
            shutil.copytree(vendor, work / "book" / "_static" / "vendor")
        cold = _build(work)
        cached = _build(work)
        size = sum(p.stat().st_size for p in (work / "_build" / "html").rglob("*"))
    print("book build")
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'cold build, every chapter executed (s)':<44}{cold:>12.1f}")
    print(f"{'rebuild with nothing changed, cached (s)':<44}{cached:>12.1f}")
    print(f"{'size of the built HTML book (MB)':<44}{size / 1e6:>12.1f}")


if __name__ == "__main__":
    main()
