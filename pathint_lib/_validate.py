"""Input validation shared by the public functions (private module).

Every public function converts and checks its arguments here, so that bad input
gets one kind of message everywhere: the argument's name, the value it got, and
what is allowed.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ValueError, so one except catches all)."""


def as_float_array(value: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Convert a list, numpy array or torch tensor to a finite float64 array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__}"
        ) from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional, got shape {tuple(arr.shape)}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values, got {arr!r}")
    return arr


def as_real(value: Any, name: str) -> float:
    """Convert a real scalar (python, numpy or 0-d tensor) to float; reject NaN/inf."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def positive(value: Any, name: str) -> float:
    """A finite real number > 0."""
    value = as_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def non_negative_int(value: Any, name: str) -> int:
    """An integer >= 0 (bools and floats are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer >= 0, got {value!r}")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def positive_int(value: Any, name: str) -> int:
    """An integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer >= 1, got {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def odd_kernel(value: Any, name: str = "kernel", *, ndim: int = 1) -> np.ndarray:
    """A finite float64 kernel with ``ndim`` axes, each of odd length."""
    arr = as_float_array(value, name, ndim=ndim)
    if any(n % 2 == 0 for n in arr.shape):
        raise ValueError(
            f"{name} must have odd length along every axis (centred on offset 0), "
            f"got shape {tuple(arr.shape)}"
        )
    return arr


def three_weights(value: Any, name: str = "weights") -> np.ndarray:
    """Three finite real weights ``(w(-1), w(0), w(+1))``."""
    arr = as_float_array(value, name, ndim=1)
    if arr.shape != (3,):
        raise ValueError(
            f"{name} must hold exactly 3 values (w(-1), w(0), w(+1)), "
            f"got shape {tuple(arr.shape)}"
        )
    return arr


#: Largest number of float64 values a sampler allocates at once (2 GiB).
MAX_SAMPLE_VALUES = 2**28


def sample_budget(n_values: int, what: str, hint: str) -> None:
    """Refuse a sampling request whose arrays would not fit in memory.

    ``n_values`` is the number of float64 values the request allocates at once;
    the error names the request (``what``), its size, the limit, and what to do
    instead (``hint``).
    """
    if n_values > MAX_SAMPLE_VALUES:
        raise ValueError(
            f"{what} needs {n_values:,} values at once "
            f"({n_values * 8 / 2**30:.1f} GiB as float64), more than the "
            f"{MAX_SAMPLE_VALUES:,} allowed; {hint}"
        )
