"""Time the explorers of :mod:`pathint_lib.widgets`: how long one update takes.

Every explorer is a pure function ``<name>_explorer_figure(**values)`` with a front
end ``<name>_explorer()`` whose ``sliders`` attribute maps names to ipywidgets
sliders. Explorers are found by name, so one that does not exist yet is skipped.

Two timings per explorer, each over ``--updates`` slider moves that cycle through
the sliders, each slider stepping between its starting value and a neighbour:

``figure+draw``
    the pure function at the new values plus a full Agg draw of its figure;
``slider update``
    setting the slider value on the live front end, which recomputes, redraws,
    encodes the PNG and replaces the widget's output (what a reader waits for).

Both are reported as wall-clock median and 90th percentile, and the median CPU time
of this process, which is less sensitive to other work on a shared machine.

Run: ``.venv/bin/python bench/bench_widgets.py [--updates N] [--only NAME]``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pathint_lib import widgets  # noqa: E402

TARGET_MS = 150.0


def find_explorers() -> list[str]:
    """Names ``<stem>`` with a ``<stem>_figure`` function in the widgets module."""
    return sorted(
        name[: -len("_figure")]
        for name, obj in vars(widgets).items()
        if name.endswith("_explorer_figure") and callable(obj)
    )


def _moves(sliders: dict[str, Any], n: int) -> list[tuple[str, Any]]:
    """``n`` slider moves: each slider in turn, between its value and a neighbour."""
    plan = []
    names = list(sliders)
    start = {name: s.value for name, s in sliders.items()}
    for i in range(n):
        name = names[i % len(names)]
        s = sliders[name]
        rounds = i // len(names)
        if rounds % 2 == 1:
            plan.append((name, start[name]))
            continue
        step = getattr(s, "step", 1) or 1
        if hasattr(s, "base"):  # FloatLogSlider: step is in the exponent
            target = start[name] * s.base ** (3 * step)
            target = target if target <= s.base**s.max else start[name] / s.base ** (
                3 * step
            )
        else:
            target = start[name] + 3 * step
            if target > s.max:
                target = start[name] - 3 * step
        plan.append((name, type(start[name])(target)))
    return plan


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def _figure_and_draw(figure_fn: Callable[..., Any], values: dict[str, Any]) -> None:
    fig = figure_fn(**values)
    fig.canvas.draw()
    plt.close(fig)


def bench(stem: str, n_updates: int) -> list[tuple[str, str, list[float], list[float]]]:
    """Time one explorer; rows of (explorer, what, wall ms list, cpu ms list)."""
    figure_fn = getattr(widgets, f"{stem}_figure")
    front = getattr(widgets, stem, None)
    rows = []
    ui = front() if callable(front) else None
    sliders = getattr(ui, "sliders", None) if ui is not None else None
    params = inspect.signature(figure_fn).parameters

    if sliders:
        plan = _moves(sliders, n_updates)
        # The pure function sees the values the front end would pass it.
        current = {name: s.value for name, s in sliders.items() if name in params}
        walls, cpus = [], []
        for name, value in plan:
            if name in params:
                current[name] = value
            w, c = _timed(lambda: _figure_and_draw(figure_fn, dict(current)))
            walls.append(w)
            cpus.append(c)
        rows.append((stem, "figure+draw", walls, cpus))

        walls, cpus = [], []
        for name, value in plan:
            w, c = _timed(lambda: setattr(sliders[name], "value", value))  # noqa: B023
            walls.append(w)
            cpus.append(c)
        rows.append((stem, "slider update", walls, cpus))
    else:
        walls, cpus = [], []
        for _ in range(n_updates):
            w, c = _timed(lambda: _figure_and_draw(figure_fn, {}))
            walls.append(w)
            cpus.append(c)
        rows.append((stem, "figure+draw (defaults)", walls, cpus))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20, help="updates per row")
    parser.add_argument("--only", default=None,
                        help="time only the explorer whose name contains this")
    args = parser.parse_args()

    stems = find_explorers()
    if args.only:
        stems = [stem for stem in stems if args.only in stem]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.2f}; "
          f"{args.updates} updates per row; target median < {TARGET_MS:.0f} ms")
    expected = ("stability_explorer", "path_explorer", "gradient_explorer")
    for stem in expected:
        if stem not in find_explorers():
            print(f"(skipped: {stem}_figure is not in pathint_lib.widgets)")
    header = (f"{'explorer':<20} {'what':<24} {'median ms':>10} {'p90 ms':>8} "
              f"{'cpu median ms':>14}")
    print(header)
    print("-" * len(header))
    for stem in stems:
        # One untimed round first: imports, font caches and mathtext warm up.
        bench(stem, 2)
        for name, what, walls, cpus in bench(stem, args.updates):
            print(f"{name:<20} {what:<24} {statistics.median(walls):>10.1f} "
                  f"{np.percentile(walls, 90):>8.1f} {statistics.median(cpus):>14.1f}")


if __name__ == "__main__":
    main()
