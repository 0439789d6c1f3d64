"""Checks that raise: how the book verifies what it derives.

A chapter derives a result, then calls one of these functions. A passing check
returns a :class:`CheckResult` whose text is one line (claim, max error,
tolerance, device), which the chapter displays so the reader sees what was
verified. A failing check raises :class:`VerificationError`, which stops the
chapter, the book build and the tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import sympy as sp
import torch

__all__ = [
    "CheckResult",
    "VerificationError",
    "check_close",
    "check_less",
    "check_sympy_zero",
    "check_true",
]


class VerificationError(AssertionError):
    """A claim of the book did not hold numerically or symbolically."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one passed check.

    Attributes
    ----------
    claim : str
        What was checked, in words.
    error : float
        The largest error measured (0.0 for an exact symbolic check).
    tolerance : float
        The bound the error had to stay under (0.0 for an exact check).
    where : str
        Where it ran (``"sympy"`` for an exact check, else the device).
    """

    claim: str
    error: float
    tolerance: float
    where: str = "cpu"

    def __str__(self) -> str:
        if self.where in ("sympy", "exact"):
            return f"✔ {self.claim}: holds exactly ({self.where})"
        return (
            f"✔ {self.claim}: max error {self.error:.2e} <= "
            f"{self.tolerance:.1e} [{self.where}]"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _to_numpy(value: Any) -> tuple[np.ndarray, str]:
    if isinstance(value, torch.Tensor):
        where = value.device.type
        return value.detach().cpu().numpy(), where
    return np.asarray(value), "cpu"


def check_close(
    claim: str,
    actual: Any,
    expected: Any,
    *,
    atol: float = 1e-12,
    rtol: float = 0.0,
) -> CheckResult:
    """Check ``|actual - expected| <= atol + rtol |expected|`` elementwise.

    Complex values are compared by modulus of the difference. Shapes must
    match exactly (no broadcasting of a scalar over an array by accident).

    Raises
    ------
    VerificationError
        If a value is NaN, the shapes differ, or the bound fails anywhere.
    """
    a, where_a = _to_numpy(actual)
    e, where_e = _to_numpy(expected)
    where = where_a if where_a != "cpu" else where_e
    if a.shape != e.shape:
        raise VerificationError(
            f"{claim}: shapes differ, actual {a.shape} vs expected {e.shape}"
        )
    if np.isnan(a).any() or np.isnan(e).any():
        raise VerificationError(f"{claim}: NaN in the compared values")
    diff = np.abs(a.astype(np.complex128) - e.astype(np.complex128))
    bound = atol + rtol * np.abs(e.astype(np.complex128))
    error = float(diff.max()) if diff.size else 0.0
    if not np.all(diff <= bound):
        worst = int(np.argmax(diff - bound)) if diff.size else 0
        raise VerificationError(
            f"{claim}: max error {error:.3e} exceeds the tolerance "
            f"(atol={atol:.1e}, rtol={rtol:.1e}); worst at flat index {worst}"
        )
    tolerance = float(np.max(bound)) if bound.size else atol
    return CheckResult(claim, error, tolerance, where)


def check_less(claim: str, value: float, bound: float) -> CheckResult:
    """Check a scalar ``value < bound`` (for errors, rates, residuals)."""
    value = float(value)
    if not np.isfinite(value) or not value < bound:
        raise VerificationError(f"{claim}: {value:.3e} is not below {bound:.3e}")
    return CheckResult(claim, value, float(bound))


def check_true(claim: str, condition: bool, detail: str = "") -> CheckResult:
    """Check a boolean condition (a predicate, an equality of integers)."""
    if not bool(condition):
        raise VerificationError(f"{claim}: does not hold. {detail}".strip())
    return CheckResult(claim, 0.0, 0.0, "exact")


def check_sympy_zero(claim: str, expr: Any) -> CheckResult:
    """Check that a sympy expression simplifies to exactly zero.

    Compares the simplified expression with ``0``, never printed LaTeX.
    """
    simplified = sp.simplify(sp.sympify(expr))
    if simplified != 0:
        raise VerificationError(f"{claim}: simplifies to {simplified}, not 0")
    return CheckResult(claim, 0.0, 0.0, "sympy")
