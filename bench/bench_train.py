"""Training throughput of the three digit classifiers at their default size.

Run from the repository root::

    .venv/bin/python bench/bench_train.py [--device cpu] [--depth 4] [--images 2000]

For each model (PDE-operator network, ResNet, plain CNN) at the default widths
(matched in parameter count) it trains one untimed warm-up epoch on a few
hundred images, then ``--epochs`` timed epochs on ``--images`` training images of
the built-in MNIST digits, and prints a table of images per second (training
pass only) and seconds per epoch (training pass plus evaluation of the 1,000
test images). On a shared machine the numbers vary with the load; the table
shows the best of the timed epochs.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from pathint_lib.data import load_data
from pathint_lib.device import describe_device, pick_device
from pathint_lib.models import MODEL_NAMES, build_model, count_parameters
from pathint_lib.train import DEFAULT_BATCH_SIZE, DEFAULT_DEPTH, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda", "mps"), default=None)
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    data = load_data(limit=args.images)
    warm = data.subset(n_train=min(256, data.n_train), n_test=256)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    threads = args.threads or torch.get_num_threads()
    print(
        f"device: {describe_device(device)}; {threads} torch thread(s); "
        f"load average {load:.1f}"
    )
    print(
        f"depth {args.depth}, {data.n_train} training images, batch "
        f"{args.batch_size}, best of {args.epochs} epoch(s)"
    )
    header = f"{'model':<16}{'width':>6}{'params':>9}{'images/s':>11}{'s/epoch':>9}"
    print(header)
    print("-" * len(header))
    for name in MODEL_NAMES:
        model = build_model(name, args.depth, seed=0)
        train(model, warm, epochs=1, batch_size=args.batch_size, device=device,
              progress=False, threads=args.threads)
        metrics = train(
            model, data, epochs=args.epochs, batch_size=args.batch_size, seed=0,
            device=device, progress=False, threads=args.threads,
        )
        print(
            f"{type(model).__name__:<16}{model.width:>6}{count_parameters(model):>9,}"
            f"{max(metrics['images_per_second']):>11,.0f}"
            f"{min(metrics['seconds_per_epoch']):>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
