r"""Convolution kernels as finite-difference operators: moments, stencils, orders.

A kernel ``q`` acting by cross-correlation (PyTorch's "convolution") on a grid
function with step :math:`h`,

.. math::

    (q * u)_j = \sum_k q[k]\, u_{j+k}, \qquad k = -\tfrac{n-1}{2}, \dots,
    \tfrac{n-1}{2},

is, by Taylor's theorem, a sum of derivatives weighted by the kernel's
*moments*:

.. math::

    \sum_k q[k]\, u(x + k h) = \sum_{i \ge 0} m_i\, h^i\, u^{(i)}(x),
    \qquad m_i = \sum_k q[k] \frac{k^i}{i!}.

So :math:`h^{-|\alpha|} (q * u)` approximates :math:`\partial^\alpha u` exactly
when the moments of ``q`` equal those of the derivative (1 at index
:math:`\alpha`, 0 elsewhere) through some index; how far they match is the
order of accuracy. In 2-D, with axis 0 as ``x`` and axis 1 as ``y``,
:math:`m[i, j] = \sum q[k_1, k_2]\, k_1^i k_2^j / (i!\, j!)`.

This module computes moment matrices (exactly, rounded once), inverts them
(designing a kernel from the moments you want), collects the standard
stencils as :class:`Stencil` records that declare their operator and order as
data, and measures orders both from the moments and numerically.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from ._validate import as_float_array, odd_kernel, positive

__all__ = [
    "STANDARD_STENCILS",
    "Stencil",
    "apply_periodic",
    "convergence_errors",
    "kernel_from_moments",
    "measured_order",
    "moment_matrix",
    "offsets",
    "order_of_accuracy",
]

Derivative = int | str | tuple[int, ...] | tuple[tuple[int, ...], ...]


# ----------------------------------------------------------------------------
# validation and exact moment arithmetic (private)
# ----------------------------------------------------------------------------


def _kernel(value: Any, name: str = "kernel") -> np.ndarray:
    """A finite float64 kernel, 1-D or 2-D, odd along every axis."""
    arr = as_float_array(value, name)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1- or 2-dimensional, got shape {tuple(arr.shape)}"
        )
    return odd_kernel(arr, name, ndim=arr.ndim)


def offsets(n: int) -> np.ndarray:
    r"""Offsets :math:`k = -\frac{n-1}{2}, \dots, \frac{n-1}{2}` of an odd kernel.

    Parameters
    ----------
    n : int
        The kernel's length along one axis (odd, >= 1).

    Returns
    -------
    numpy.ndarray
        Integer offsets, centred on 0.

    Raises
    ------
    ValueError
        If ``n`` is not a positive odd integer.
    """
    is_int = isinstance(n, int | np.integer) and not isinstance(n, bool)
    if not is_int or n < 1 or n % 2 == 0:
        raise ValueError(f"n must be a positive odd integer, got {n!r}")
    r = (int(n) - 1) // 2
    return np.arange(-r, r + 1)


@functools.lru_cache(maxsize=256)
def _power_table(n: int, size: int) -> tuple[tuple[Fraction, ...], ...]:
    """Exact table ``V[i][j] = k_j^i / i!`` for the ``n`` centred offsets."""
    ks = [int(k) for k in offsets(n)]
    return tuple(
        tuple(Fraction(k**i, math.factorial(i)) for k in ks) for i in range(size)
    )


@functools.lru_cache(maxsize=64)
def _inverse_power_table(n: int) -> tuple[tuple[Fraction, ...], ...]:
    """Exact inverse of the square table ``V[i][j] = k_j^i / i!`` (Gauss-Jordan)."""
    table = _power_table(n, n)
    aug = [
        list(table[i]) + [Fraction(int(i == j)) for j in range(n)] for i in range(n)
    ]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] != 0)
        aug[col], aug[pivot] = aug[pivot], aug[col]
        scale = aug[col][col]
        aug[col] = [v / scale for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                factor = aug[r][col]
                aug[r] = [a - factor * b for a, b in zip(aug[r], aug[col], strict=True)]
    return tuple(tuple(row[n:]) for row in aug)


def _apply_exact_1d(
    table: Sequence[Sequence[Fraction]], values: Sequence[Fraction]
) -> list[Fraction]:
    return [sum((a * v for a, v in zip(row, values, strict=True)), Fraction(0))
            for row in table]


def _moments_exact(q: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Moments of ``q`` computed in rational arithmetic and rounded once."""
    if q.ndim == 1:
        table = _power_table(q.shape[0], sizes[0])
        vals = _apply_exact_1d(table, [Fraction(float(v)) for v in q])
        return np.array([float(v) for v in vals], dtype=np.float64)
    t1 = _power_table(q.shape[0], sizes[0])
    t2 = _power_table(q.shape[1], sizes[1])
    rows = [_apply_exact_1d(t2, [Fraction(float(v)) for v in row]) for row in q]
    # rows[a][j] = sum_b q[a, b] k_b^j / j!; now contract over a.
    out = np.empty(sizes, dtype=np.float64)
    for j in range(sizes[1]):
        col = _apply_exact_1d(t1, [rows[a][j] for a in range(q.shape[0])])
        out[:, j] = [float(v) for v in col]
    return out


def _rounding_scale(q: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    r"""Bound :math:`\sum |q|\, R^{|\beta|} / \beta!` on each moment's size.

    ``R`` is the largest offset per axis (at least 1). The float kernel's own
    rounding perturbs a moment by at most about ``eps`` times this bound.
    """
    total = float(np.abs(q).sum())
    factors = []
    for n, s in zip(q.shape, sizes, strict=True):
        radius = max(1, (n - 1) // 2)
        i = np.arange(s)
        factors.append(
            np.array([radius ** int(k) / math.factorial(int(k)) for k in i])
        )
    bound = factors[0] if q.ndim == 1 else np.outer(factors[0], factors[1])
    return total * bound


# ----------------------------------------------------------------------------
# moment matrices
# ----------------------------------------------------------------------------


def moment_matrix(kernel: Any, size: int | tuple[int, ...] | None = None) -> np.ndarray:
    r"""Moment matrix of a 1-D or 2-D odd-size kernel.

    .. math::

        m_i = \sum_k q[k] \frac{k^i}{i!}, \qquad
        m[i, j] = \sum_{k_1, k_2} q[k_1, k_2] \frac{k_1^i\, k_2^j}{i!\, j!},

    with offsets centred on 0 (``k = -(n-1)/2 .. (n-1)/2``; axis 0 first). By
    Taylor's theorem :math:`\sum_k q[k] u(x+kh) = \sum_i m_i h^i u^{(i)}(x)`.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D kernel of odd length ``n`` or 2-D kernel of odd shape ``(n1, n2)``.
    size : int or tuple of int, optional
        Number of moments per axis. Default: the kernel's shape (the square
        matrix that determines the kernel). Larger sizes give the higher
        moments, which are the truncation error of the stencil.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``size``. Each entry is computed in exact
        rational arithmetic from the float kernel and rounded once, so it is
        the correctly rounded value of the formula.

    Raises
    ------
    ValueError
        If the kernel is not 1-D or 2-D, has an even length along some axis,
        holds a non-finite value, or ``size`` is not positive integers (one per
        axis).
    """
    q = _kernel(kernel)
    sizes = _sizes(size, q)
    return _moments_exact(q, sizes)


def _sizes(size: Any, q: np.ndarray) -> tuple[int, ...]:
    if size is None:
        return tuple(int(n) for n in q.shape)
    if isinstance(size, int | np.integer) and not isinstance(size, bool):
        size = (int(size),) * q.ndim
    try:
        sizes = tuple(size)
    except TypeError as exc:
        raise ValueError(
            f"size must be an int or a tuple of ints, got {size!r}"
        ) from exc
    if len(sizes) != q.ndim or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 1
        for s in sizes
    ):
        raise ValueError(
            f"size must hold {q.ndim} integer(s) >= 1 (one per kernel axis), "
            f"got {size!r}"
        )
    return tuple(int(s) for s in sizes)


def kernel_from_moments(moments: Any) -> np.ndarray:
    r"""The kernel whose moment matrix is ``moments`` (exact inverse).

    Inverts :func:`moment_matrix`: in 1-D :math:`m = V q` with the square
    Vandermonde-type matrix :math:`V_{ij} = k_j^i / i!`; in 2-D
    :math:`m = V_1\, q\, V_2^{\mathsf T}` (the Kronecker structure), so
    :math:`q = V^{-1} m` and :math:`q = V_1^{-1} m\, V_2^{-\mathsf T}`. The
    inverses are computed in exact rational arithmetic (cached per size), and
    the product with the float moments is formed exactly and rounded once.

    Parameters
    ----------
    moments : array_like or torch.Tensor
        1-D moment vector of odd length ``n`` or 2-D moment matrix of odd shape
        ``(n1, n2)``; entry ``i`` (or ``[i, j]``) is the moment of that index.

    Returns
    -------
    numpy.ndarray
        float64 kernel of the same shape, offsets centred on 0.

    Raises
    ------
    ValueError
        For an even size, a non-finite value, or an array that is not 1-D/2-D.

    Notes
    -----
    The matrix :math:`V` grows ill-conditioned with ``n`` (its inverse has
    entries of size about :math:`n!/((n/2)!)^2`); for the kernel sizes used in
    practice (up to 9 taps) this is harmless. Designing a kernel from moments
    is the construction of finite-difference weights (Fornberg, 1988).

    Examples
    --------
    A 5-tap kernel whose moments are those of d/dx through index 4 is the
    fourth-order central difference:

    >>> kernel_from_moments([0, 1, 0, 0, 0]) * 12
    array([ 1., -8.,  0.,  8., -1.])
    """
    m = _kernel(moments, "moments")
    exact = [[Fraction(float(v)) for v in row] for row in np.atleast_2d(m)]
    if m.ndim == 1:
        inv = _inverse_power_table(m.shape[0])
        vals = _apply_exact_1d(inv, exact[0])
        return np.array([float(v) for v in vals], dtype=np.float64)
    inv1 = _inverse_power_table(m.shape[0])
    inv2 = _inverse_power_table(m.shape[1])
    rows = [_apply_exact_1d(inv2, row) for row in exact]  # m V2^{-T}
    out = np.empty(m.shape, dtype=np.float64)
    for j in range(m.shape[1]):
        col = _apply_exact_1d(inv1, [rows[a][j] for a in range(m.shape[0])])
        out[:, j] = [float(v) for v in col]
    return out


# ----------------------------------------------------------------------------
# derivatives and orders of accuracy
# ----------------------------------------------------------------------------


def _parse_derivative(derivative: Any, ndim: int) -> tuple[tuple[int, ...], ...]:
    """Normalise a derivative to a tuple of multi-indices (a sum of derivatives)."""
    allowed = (
        "an int (1-D), a multi-index tuple such as (1,) or (1, 1), a tuple of "
        "multi-indices (their sum), or 'laplacian'"
    )
    if isinstance(derivative, str):
        if derivative.strip().lower() != "laplacian":
            raise ValueError(f"derivative must be {allowed}, got {derivative!r}")
        return tuple(
            tuple(2 if a == b else 0 for b in range(ndim)) for a in range(ndim)
        )
    if isinstance(derivative, int | np.integer) and not isinstance(derivative, bool):
        derivative = (int(derivative),)
    if not isinstance(derivative, tuple) or not derivative:
        raise ValueError(f"derivative must be {allowed}, got {derivative!r}")
    terms = derivative if isinstance(derivative[0], tuple) else (derivative,)
    for term in terms:
        if (
            not isinstance(term, tuple)
            or len(term) != ndim
            or not all(
                isinstance(a, int | np.integer) and not isinstance(a, bool) and a >= 0
                for a in term
            )
        ):
            raise ValueError(
                f"derivative must be {allowed} with {ndim} non-negative "
                f"index(es) per term for a {ndim}-D kernel, got {derivative!r}"
            )
    orders = {sum(term) for term in terms}
    if len(orders) != 1:
        raise ValueError(
            f"derivative terms must all have the same order, got {derivative!r}"
        )
    return tuple(tuple(int(a) for a in term) for term in terms)


def _describe(terms: tuple[tuple[int, ...], ...]) -> str:
    """Human-readable derivative, e.g. ``d/dx``, ``d^2/dx^2 + d^2/dy^2``."""

    def one(term: tuple[int, ...]) -> str:
        order = sum(term)
        if order == 0:
            return "the identity"
        names = ("x",) if len(term) == 1 else ("x", "y")
        parts = [
            f"d{name}" + (f"^{a}" if a > 1 else "")
            for name, a in zip(names, term, strict=True)
            if a
        ]
        top = "d" + (f"^{order}" if order > 1 else "")
        return f"{top}/{''.join(parts)}"

    return " + ".join(one(term) for term in terms)


def order_of_accuracy(
    kernel: Any, derivative: Derivative, *, tol: float = 1e-10
) -> float:
    r"""Exact order of accuracy of ``kernel`` as an approximation of a derivative.

    The target derivative :math:`\partial^\alpha` (or a sum of derivatives of
    one order, such as the Laplacian) has moments 1 at each of its
    multi-indices and 0 elsewhere. The kernel, scaled by
    :math:`h^{-|\alpha|}`, approximates it with order :math:`p` when its
    moments match the target at every index of total degree
    :math:`< |\alpha| + p` and differ at some index of degree
    :math:`|\alpha| + p`; the error is then
    :math:`\sum_{|\beta| = |\alpha| + p} m_\beta h^{p} \partial^\beta u + O(h^{p+1})`.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size (for step ``h = 1``).
    derivative : int, tuple or str
        ``1`` or ``(1,)`` for d/dx; ``(2, 0)`` for d²/dx² in 2-D; ``(1, 1)``
        for the mixed derivative; a tuple of multi-indices for their sum, e.g.
        ``((2, 0), (0, 2))``; or ``"laplacian"``.
    tol : float, optional
        A moment counts as matching when it differs from the target by at most
        ``tol`` times :math:`\sum |q|\,|k|^\beta/\beta!` (its rounding scale).

    Returns
    -------
    float
        The order ``p`` (a whole number, returned as ``float``), or
        ``math.inf`` when the kernel is exact for every polynomial (only the
        identity kernel for the zeroth derivative).

    Raises
    ------
    ValueError
        If the kernel does not approximate the derivative at all (a moment of
        degree :math:`\le |\alpha|` is wrong, e.g. a first-derivative kernel
        asked for d²/dx², or a kernel with the wrong sign), or for bad input.
    """
    q = _kernel(kernel)
    tol = positive(tol, "tol")
    terms = _parse_derivative(derivative, q.ndim)
    a = sum(terms[0])
    # A kernel of n taps cannot match all moments through degree n + 1 unless
    # it is exact, so this range always finds the first mismatch.
    max_deg = int(sum(q.shape)) + a + 2
    sizes = (max_deg + 1,) * q.ndim
    m = _moments_exact(q, sizes)
    scale = np.maximum(1.0, _rounding_scale(q, sizes))
    target = np.zeros(sizes)
    for term in terms:
        target[term] = 1.0
    if q.ndim == 1:
        degree = np.arange(sizes[0])
    else:
        degree = np.add.outer(np.arange(sizes[0]), np.arange(sizes[1]))
    bad = (np.abs(m - target) > tol * scale) & (degree <= max_deg)
    if not bad.any():
        return math.inf
    first = int(degree[bad].min())
    if first <= a:
        index = tuple(int(i) for i in np.argwhere(bad & (degree == first))[0])
        raise ValueError(
            f"kernel {q.tolist()} does not approximate {_describe(terms)}: its "
            f"moment m{list(index)} = {m[index]:.6g} should be {target[index]:g}"
        )
    return float(first - a)


# ----------------------------------------------------------------------------
# applying a kernel to a periodic grid function
# ----------------------------------------------------------------------------


def _grid_values(u: Any, name: str) -> np.ndarray:
    """A finite float64 (or complex128) numpy array."""
    if isinstance(u, torch.Tensor):
        u = u.detach().cpu().numpy()
    if np.iscomplexobj(u):
        arr = np.asarray(u, dtype=np.complex128)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must contain only finite values, got {arr!r}")
        return arr
    return as_float_array(u, name)


def apply_periodic(kernel: Any, u: Any, h: float = 1.0, *, power: int = 0) -> Any:
    r"""Apply ``kernel`` to a periodic grid function by cross-correlation.

    .. math::

        (\text{out})_j = h^{-p} \sum_k q[k]\, u_{j+k}
        \quad\text{(indices modulo the grid size)},

    and in 2-D :math:`h^{-p}\sum_{k_1,k_2} q[k_1,k_2]\, u_{j_1+k_1,\, j_2+k_2}`,
    over the last one or two axes of ``u`` (leading axes are a batch).

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size, offsets centred on 0.
    u : array_like or torch.Tensor
        Grid values; the last ``kernel.ndim`` axes are periodic. A torch tensor
        stays a torch tensor (same device and dtype, differentiable); anything
        else is returned as a float64 (or complex128) numpy array.
    h : float, optional
        Grid step (the same along both axes in 2-D).
    power : int, optional
        The power :math:`p` of :math:`1/h`: the order of the derivative the
        kernel approximates.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same shape as ``u``.

    Raises
    ------
    ValueError
        For a bad kernel, ``h <= 0``, ``power < 0``, non-finite numpy values,
        or ``u`` with fewer axes than the kernel.

    Notes
    -----
    Torch tensors are not scanned for NaN (that would force a device sync and
    is not needed for autograd); numpy input is.
    """
    q = _kernel(kernel)
    h = positive(h, "h")
    if isinstance(power, bool) or not isinstance(power, int | np.integer) or power < 0:
        raise ValueError(f"power must be an integer >= 0, got {power!r}")
    is_torch = isinstance(u, torch.Tensor)
    if is_torch:
        if not (torch.is_floating_point(u) or torch.is_complex(u)):
            u = u.to(torch.float64)
    else:
        u = _grid_values(u, "u")
    if u.ndim < q.ndim:
        raise ValueError(
            f"u must have at least {q.ndim} axis/axes for a {q.ndim}-D kernel, "
            f"got shape {tuple(u.shape)}"
        )
    axes = tuple(range(-q.ndim, 0))
    out = torch.zeros_like(u) if is_torch else np.zeros_like(u)
    centre = [(n - 1) // 2 for n in q.shape]
    for index in np.ndindex(*q.shape):
        weight = float(q[index])
        if weight == 0.0:
            continue
        # rolled[j] = u[j + k] for offset k.
        shift = tuple(-(int(i) - c) for i, c in zip(index, centre, strict=True))
        if is_torch:
            rolled = torch.roll(u, shifts=shift, dims=axes)
        else:
            rolled = np.roll(u, shift, axis=axes)
        out = out + weight * rolled
    return out / h ** int(power) if power else out


# ----------------------------------------------------------------------------
# stencils as data
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Stencil:
    r"""A finite-difference stencil that declares what it approximates.

    Attributes
    ----------
    name : str
        Short identifier (the key in :data:`STANDARD_STENCILS`).
    kernel : numpy.ndarray
        The kernel for grid step ``h = 1`` (read-only, odd size, offsets
        centred on 0, axis 0 = ``x``); for step ``h`` the operator is
        :math:`h^{-|\alpha|}(q * u)`.
    derivative : tuple
        The derivative approximated, as a multi-index: ``(1,)`` is d/dx in
        1-D, ``(2, 0)`` is d²/dx² and ``(1, 1)`` is d²/dxdy in 2-D, ``(0,)``
        the identity. A *sum* of derivatives of one order is a tuple of
        multi-indices: the 2-D Laplacian is ``((2, 0), (0, 2))``.
    operator : str
        Human-readable operator, e.g. ``"d/dx"``, ``"d^2/dx^2"``,
        ``"Laplacian"``, ``"d^2/dxdy"``.
    order : float
        Declared order of accuracy (a whole number, or ``math.inf`` for a
        stencil that is exact, such as the identity). Tests hold the stencil
        to it, from the moments (:func:`order_of_accuracy`) and by measured
        convergence (:func:`measured_order`).
    note : str
        What the stencil is for, or what it buys over a simpler one.
    """

    name: str
    kernel: np.ndarray
    derivative: tuple
    operator: str
    order: float
    note: str = ""

    def __post_init__(self) -> None:
        q = _kernel(self.kernel, "kernel").copy()
        q.setflags(write=False)
        object.__setattr__(self, "kernel", q)
        terms = _parse_derivative(self.derivative, q.ndim)
        object.__setattr__(self, "derivative", terms[0] if len(terms) == 1 else terms)
        order = self.order
        if not (order == math.inf or (float(order).is_integer() and order >= 1)):
            raise ValueError(
                f"order must be a whole number >= 1 or math.inf, got {order!r}"
            )

    @property
    def ndim(self) -> int:
        """Number of grid axes (1 or 2)."""
        return self.kernel.ndim

    @property
    def terms(self) -> tuple[tuple[int, ...], ...]:
        """The derivative as a tuple of multi-indices (one for a plain derivative)."""
        return _parse_derivative(self.derivative, self.ndim)

    @property
    def derivative_order(self) -> int:
        r"""The order :math:`|\alpha|` of the derivative (the power of ``1/h``)."""
        return int(sum(self.terms[0]))

    def moments(self) -> np.ndarray:
        """The kernel's moment matrix (see :func:`moment_matrix`)."""
        return moment_matrix(self.kernel)

    def order_from_moments(self) -> float:
        """The order of accuracy computed from the moments."""
        return order_of_accuracy(self.kernel, self.derivative)

    def apply(self, u: Any, h: float = 1.0) -> Any:
        r"""Apply the stencil to periodic grid values with step ``h``.

        Returns :math:`h^{-|\alpha|}(q * u)` over the last ``ndim`` axes; numpy
        in, numpy out; torch in, torch out (see :func:`apply_periodic`).
        """
        return apply_periodic(self.kernel, u, h, power=self.derivative_order)


def _along_x(k1d: Sequence[float]) -> np.ndarray:
    """Embed a 3-tap 1-D kernel along axis 0 (x) of a 3x3 kernel."""
    q = np.zeros((3, 3))
    q[:, 1] = k1d
    return q


def _along_y(k1d: Sequence[float]) -> np.ndarray:
    """Embed a 3-tap 1-D kernel along axis 1 (y) of a 3x3 kernel."""
    q = np.zeros((3, 3))
    q[1, :] = k1d
    return q


def _standard_stencils() -> dict[str, Stencil]:
    lap = ((2, 0), (0, 2))
    entries = [
        Stencil("identity", np.array([0.0, 1.0, 0.0]), (0,), "identity", math.inf,
                "exact: every moment but m0 vanishes"),
        Stencil("d1_forward", np.array([0.0, -1.0, 1.0]), (1,), "d/dx", 1,
                "forward (upwind for b > 0) difference"),
        Stencil("d1_backward", np.array([-1.0, 1.0, 0.0]), (1,), "d/dx", 1,
                "backward difference"),
        Stencil("d1_central", np.array([-0.5, 0.0, 0.5]), (1,), "d/dx", 2,
                "central difference: symmetry kills the even error moment"),
        Stencil("d1_central_5pt", np.array([1.0, -8.0, 0.0, 8.0, -1.0]) / 12.0,
                (1,), "d/dx", 4, "5-point central difference"),
        Stencil("d2_central", np.array([1.0, -2.0, 1.0]), (2,), "d^2/dx^2", 2,
                "3-point second difference"),
        Stencil("d2_central_5pt",
                np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0,
                (2,), "d^2/dx^2", 4, "5-point second difference"),
        Stencil("dx_central_2d", _along_x([-0.5, 0.0, 0.5]), (1, 0), "d/dx", 2,
                "central difference along axis 0"),
        Stencil("dy_central_2d", _along_y([-0.5, 0.0, 0.5]), (0, 1), "d/dy", 2,
                "central difference along axis 1"),
        Stencil("dxx_central_2d", _along_x([1.0, -2.0, 1.0]), (2, 0), "d^2/dx^2",
                2, "second difference along axis 0"),
        Stencil("dyy_central_2d", _along_y([1.0, -2.0, 1.0]), (0, 2), "d^2/dy^2",
                2, "second difference along axis 1"),
        Stencil("laplacian_5pt",
                np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
                lap, "Laplacian", 2,
                "5-point Laplacian; its error (h^2/12)(u_xxxx + u_yyyy) depends "
                "on the direction of the grid"),
        Stencil("laplacian_9pt",
                np.array([[1.0, 4.0, 1.0], [4.0, -20.0, 4.0], [1.0, 4.0, 1.0]])
                / 6.0,
                lap, "Laplacian", 2,
                "9-point isotropic Laplacian; its leading error "
                "(h^2/12) Laplacian(Laplacian u) is rotation invariant, so it "
                "vanishes for harmonic u (order 4 there) and its symbol is "
                "isotropic to higher order"),
        Stencil("dxy_central_2d",
                np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]])
                / 4.0,
                (1, 1), "d^2/dxdy", 2, "central mixed derivative on the corners"),
    ]
    return {s.name: s for s in entries}


#: The standard stencils, by name. Each declares its operator and order.
STANDARD_STENCILS: dict[str, Stencil] = _standard_stencils()


# ----------------------------------------------------------------------------
# measured convergence
# ----------------------------------------------------------------------------


def _grid_steps(hs: Any, length: float) -> tuple[np.ndarray, list[int]]:
    steps = as_float_array(hs, "hs", ndim=1)
    if steps.size == 0 or np.any(steps <= 0):
        raise ValueError(f"hs must be a non-empty list of steps > 0, got {steps!r}")
    sizes = []
    for h in steps:
        n = int(round(length / h))
        if n < 1 or abs(n * h - length) > 1e-9 * length:
            raise ValueError(
                f"each step in hs must divide length={length:g} into a whole "
                f"number of cells, got h={h:g} (length/h = {length / h:g})"
            )
        sizes.append(n)
    return steps, sizes


def convergence_errors(
    stencil: Stencil,
    f: Callable[..., Any],
    df: Callable[..., Any],
    hs: Any,
    *,
    length: float = 2 * math.pi,
) -> np.ndarray:
    r"""Max error of ``stencil`` on a smooth periodic function, for each step.

    For each ``h`` the periodic grid :math:`x_j = j h`, :math:`j = 0..N-1`,
    :math:`N = \text{length}/h` (the same in ``y`` for a 2-D stencil) is built,
    and :math:`\max_j |\,\text{stencil.apply}(f(x), h)_j - df(x_j)|` returned.

    Parameters
    ----------
    stencil : Stencil
        The stencil to test.
    f, df : callable
        ``f(x)`` and its exact derivative ``df(x)`` (the stencil's operator
        applied to ``f``) on numpy arrays; for a 2-D stencil ``f(x, y)`` and
        ``df(x, y)`` on ``indexing="ij"`` mesh arrays. ``f`` must be periodic
        with period ``length`` (in each variable).
    hs : array_like
        Grid steps; each must divide ``length`` into a whole number of cells.
    length : float, optional
        The period (default :math:`2\pi`).

    Returns
    -------
    numpy.ndarray
        The max errors, one per step.

    Raises
    ------
    ValueError
        If a step does not divide the period, or a step is not > 0.
    TypeError
        If ``stencil`` is not a :class:`Stencil`.
    """
    if not isinstance(stencil, Stencil):
        raise TypeError(f"stencil must be a Stencil, got {type(stencil).__name__}")
    length = positive(length, "length")
    steps, sizes = _grid_steps(hs, length)
    errors = []
    for h, n in zip(steps, sizes, strict=True):
        x = h * np.arange(n)
        grid = (x,) if stencil.ndim == 1 else np.meshgrid(x, x, indexing="ij")
        approx = stencil.apply(np.asarray(f(*grid), dtype=np.float64), float(h))
        exact = np.asarray(df(*grid), dtype=np.float64)
        errors.append(float(np.max(np.abs(approx - exact))))
    return np.array(errors)


def measured_order(
    stencil: Stencil,
    f: Callable[..., Any],
    df: Callable[..., Any],
    hs: Any,
    *,
    length: float = 2 * math.pi,
) -> float:
    r"""Measured order: the least-squares slope of :math:`\log e(h)` on :math:`\log h`.

    ``e(h)`` is the max error from :func:`convergence_errors`. For a stencil of
    order ``p`` the slope tends to ``p`` once ``h`` is small enough for the
    leading error term to dominate, and while rounding
    (about :math:`\epsilon\, h^{-|\alpha|}`) stays far below the error.

    Parameters
    ----------
    stencil, f, df, hs, length
        As in :func:`convergence_errors`; ``hs`` needs at least two steps.

    Returns
    -------
    float
        The fitted slope.

    Raises
    ------
    ValueError
        If fewer than two distinct steps are given, or an error is zero (the
        stencil is exact on ``f``, so there is no order to measure).
    """
    errors = convergence_errors(stencil, f, df, hs, length=length)
    steps = as_float_array(hs, "hs", ndim=1)
    if np.unique(steps).size < 2:
        raise ValueError(f"hs must hold at least two distinct steps, got {steps!r}")
    if np.any(errors <= 0):
        raise ValueError(
            f"an error is zero ({errors!r}): the stencil is exact on f, so the "
            "order cannot be measured on it"
        )
    slope, _ = np.polyfit(np.log(steps), np.log(errors), 1)
    return float(slope)
