"""Benchmark of the path machinery: exact path sums and Monte Carlo path sampling.

Run: ``.venv/bin/python bench/bench_paths.py [--device cpu|cuda|mps]``.

Prints two tables:

1. ``path_sum`` at depths 1,000 / 3,000 / 10,000 (best of three runs) and the
   fitted exponent of the cost growth (2 for the transfer algorithm, whose
   work is proportional to depth^2).
2. Monte Carlo path steps per second for :func:`pathint_lib.paths.
   sample_continuum_paths` (torch, float32 and float64) against a plain numpy
   implementation of the same sampling (normal draws with the drift as mean,
   then a cumulative sum), in the same process, and their ratio.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from pathint_lib.device import describe_device, pick_device
from pathint_lib.paths import path_sum, sample_continuum_paths


def best_time(func, repeats: int = 3) -> float:
    """Smallest wall time of ``repeats`` calls (seconds)."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def bench_path_sum() -> list[tuple[int, float]]:
    weights = (0.25, 0.5, 0.25)
    path_sum(weights, 100)  # warm up
    depths = (1000, 3000, 10000)
    return [(d, best_time(lambda d=d: path_sum(weights, d))) for d in depths]


def numpy_paths(x0, T, n_steps, n_paths, D, b, rng):
    """The same sampling as sample_continuum_paths, in plain numpy (float64)."""
    dt = T / n_steps
    out = rng.normal(b * dt, math.sqrt(2 * D * dt), size=(n_paths, n_steps + 1))
    out[:, 0] = x0
    np.cumsum(out, axis=1, out=out)
    return out


def bench_monte_carlo(device: torch.device) -> list[tuple[str, float]]:
    n_steps, n_paths = 1000, 10_000
    steps = n_steps * n_paths
    rows = []
    for dtype in (torch.float32, torch.float64):
        sample_continuum_paths(0.0, 1.0, 10, 100, 0.5, 0.3, device=device, dtype=dtype)

        def run(dtype=dtype):
            paths = sample_continuum_paths(
                0.0, 1.0, n_steps, n_paths, 0.5, 0.3, device=device, dtype=dtype
            ).paths
            if paths.device.type == "cuda":
                torch.cuda.synchronize()

        rows.append((f"torch {str(dtype)[6:]} ({device.type})", steps / best_time(run)))
    rng = np.random.default_rng(0)

    def run_numpy():
        numpy_paths(0.0, 1.0, n_steps, n_paths, 0.5, 0.3, rng)

    rows.append(("numpy float64", steps / best_time(run_numpy)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    threads = torch.get_num_threads()
    print(f"device: {describe_device(device)}; torch threads: {threads}")
    print()
    timings = bench_path_sum()
    print("path_sum (exact transfer sum, float64)")
    print(f"{'depth':>8}  {'seconds':>9}")
    for depth, seconds in timings:
        print(f"{depth:>8}  {seconds:>9.4f}")
    depths = np.array([d for d, _ in timings], dtype=float)
    secs = np.array([s for _, s in timings])
    exponent = np.polyfit(np.log(depths), np.log(secs), 1)[0]
    last = np.log(secs[-1] / secs[-2]) / np.log(depths[-1] / depths[-2])
    print(f"fitted cost exponent (seconds ~ depth^p), all depths: p = {exponent:.2f}")
    print(f"exponent between the two largest depths: p = {last:.2f}")
    print("(at small depths the per-layer call overhead, linear in depth, dominates)")
    print()
    rows = bench_monte_carlo(device)
    numpy_rate = rows[-1][1]
    print("Monte Carlo continuum paths, 10,000 paths x 1,000 steps (constant drift)")
    print(f"{'implementation':<24}  {'M steps/s':>10}  {'vs numpy':>8}")
    for name, rate in rows:
        print(f"{name:<24}  {rate / 1e6:>10.1f}  {rate / numpy_rate:>7.1f}x")


if __name__ == "__main__":
    main()
