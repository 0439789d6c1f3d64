"""Picking the device the book's numerics run on, and the dtype policy.

The book checks identities to rounding, so every check runs in ``float64``
(:data:`CHECK_DTYPE`). The device is picked in the order cuda, mps, cpu; the
environment variable ``PATHINT_DEVICE`` overrides the automatic choice.

Notes
-----
Apple's ``mps`` backend has no ``float64``. On ``mps`` :func:`check_dtype` falls
back to ``float32`` and the tolerances of a check must be chosen accordingly;
the book's own checks are written for ``float64`` and run on cuda or cpu.
"""

from __future__ import annotations

import os

import torch

__all__ = [
    "CHECK_DTYPE",
    "ENV_VAR",
    "KNOWN_DEVICES",
    "check_dtype",
    "describe_device",
    "pick_device",
]

#: dtype of every numerical check in the book.
CHECK_DTYPE = torch.float64
#: environment variable that overrides the automatic device choice.
ENV_VAR = "PATHINT_DEVICE"
#: device names :func:`pick_device` accepts.
KNOWN_DEVICES = ("cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    return True


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """Return the torch device the numerics should run on.

    Parameters
    ----------
    name : str, torch.device or None
        ``"cpu"``, ``"cuda"`` (optionally ``"cuda:N"``) or ``"mps"``. ``None``
        reads the environment variable ``PATHINT_DEVICE`` and, when that is
        unset or empty, picks cuda, then mps, then cpu, whichever is present.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the name is not one of the known devices, or names a device this
        machine does not have.
    """
    if isinstance(name, torch.device):
        name = str(name)
    source = "argument"
    if name is None:
        name = os.environ.get(ENV_VAR, "").strip() or None
        source = f"environment variable {ENV_VAR}"
    if name is None:
        for kind in ("cuda", "mps"):
            if _available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    if not isinstance(name, str):
        raise TypeError(f"device must be a string or torch.device, got {name!r}")
    kind = name.split(":", 1)[0].lower()
    if kind not in KNOWN_DEVICES:
        raise ValueError(
            f"unknown device {name!r} (from the {source}); "
            f"allowed: {', '.join(KNOWN_DEVICES)}"
        )
    if not _available(kind):
        raise ValueError(
            f"device {name!r} (from the {source}) is not available on this machine; "
            "use 'cpu', or leave the device unset to pick automatically"
        )
    return torch.device(name.lower())


def check_dtype(device: torch.device | None = None) -> torch.dtype:
    """Return the dtype for checks on ``device``: float64, or float32 on mps."""
    device = pick_device(device) if not isinstance(device, torch.device) else device
    return torch.float32 if device.type == "mps" else CHECK_DTYPE


def describe_device(device: torch.device | None = None) -> str:
    """Return a one-line human description of ``device`` (default: the picked one)."""
    device = pick_device(device) if not isinstance(device, torch.device) else device
    if device.type == "cuda":
        index = device.index
        if index is None:
            index = torch.cuda.current_device()
        return f"cuda ({torch.cuda.get_device_name(index)}), torch {torch.__version__}"
    if device.type == "mps":
        return f"mps (Apple GPU), torch {torch.__version__}"
    return f"cpu ({os.cpu_count()} cores), torch {torch.__version__}"
