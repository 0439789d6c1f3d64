r"""Lattice paths through a stack of residual layers, and Monte Carlo paths.

A linear residual layer ``u <- u + k * u`` with a 3-tap kernel ``k`` (PyTorch
cross-correlation, offsets -1, 0, +1) has the *layer weights*

.. math:: w = (w(-1), w(0), w(+1)) = (k_0,\; 1 + k_1,\; k_2).

One layer maps :math:`u_j \mapsto \sum_{s\in\{-1,0,1\}} w(s)\, u_{j+s}`, so
``depth`` layers map

.. math:: u_L[j] = \sum_{m=-L}^{L} P_L[m]\, u_0[j+m], \qquad
          P_L[m] = \sum_{s_1+\dots+s_L = m} \prod_{n=1}^{L} w(s_n).

:math:`P_L` is :func:`path_sum`: a sum over *lattice paths* that start at the
output point ``j`` and walk back through the layers into the input point
``j + m`` (the direction of the Feynman–Kac formula, where the path starts at
the point where the solution is wanted). A step ``+1`` reads the right
neighbour with weight ``k[2]``; a step ``-1`` reads the left neighbour with
weight ``k[0]``. The weight of one path is :math:`\exp(-S)` with the lattice
action :math:`S = -\sum_n \log w(s_n)` (:func:`lattice_action`).

The module also holds the unravelled view of a residual stack
(:func:`path_length_distribution`, after Veit et al. 2016), Monte Carlo samples
of lattice paths (:func:`sample_lattice_paths`) and of continuum paths of the
diffusion :math:`dX = b\,dt + \sqrt{2D}\,dW` (:func:`sample_continuum_paths`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._validate import (
    as_float_array,
    as_real,
    non_negative_int,
    positive,
    positive_int,
    sample_budget,
    three_weights,
)

__all__ = [
    "MAX_ENUMERATION_DEPTH",
    "MAX_EXACT_DEPTH",
    "ContinuumPaths",
    "LatticeSample",
    "PathClass",
    "PathLengthDistribution",
    "classical_path",
    "enumerate_paths",
    "lattice_action",
    "layer_weights",
    "network_output_from_paths",
    "path_counts",
    "path_length_distribution",
    "path_sum",
    "sample_continuum_paths",
    "sample_lattice_paths",
    "top_paths",
]

#: Largest depth :func:`enumerate_paths` accepts: 3**14 = 4,782,969 paths, whose
#: steps take 67 MB as int8 and whose weights take 38 MB.
MAX_ENUMERATION_DEPTH = 14

#: Largest depth of the exact O(depth^2) sums (:func:`path_sum`,
#: :func:`path_counts`, :func:`path_length_distribution`): about 10 s here.
MAX_EXACT_DEPTH = 100_000

def _exact_depth(value: Any, name: str, func: str, instead: str) -> int:
    """A depth for the exact O(depth^2) sums, refused above MAX_EXACT_DEPTH."""
    depth = non_negative_int(value, name)
    if depth > MAX_EXACT_DEPTH:
        raise ValueError(
            f"{name} must be <= {MAX_EXACT_DEPTH:,} for the exact {func} (its cost "
            f"grows like {name}**2), got {depth:,}; for deeper stacks {instead}"
        )
    return depth


# How often (in layers) path_sum renormalises its running vector.
_RESCALE_EVERY = 64


# --------------------------------------------------------------------------
# Exact sums over lattice paths
# --------------------------------------------------------------------------


def layer_weights(kernel: Any) -> np.ndarray:
    r"""Return the layer weights :math:`w = (k_0, 1 + k_1, k_2)` of a residual layer.

    Parameters
    ----------
    kernel : array_like
        Shape ``(3,)``.
        The residual kernel ``k`` of the layer ``u <- u + k * u``.

    Returns
    -------
    numpy.ndarray
        ``(w(-1), w(0), w(+1))``, shape ``(3,)``.

    Raises
    ------
    ValueError
        If the kernel does not hold exactly three finite values.
    """
    k = three_weights(kernel, "kernel")
    return np.array([k[0], 1.0 + k[1], k[2]])


def path_counts(depth: int) -> np.ndarray:
    r"""Count the lattice paths of ``depth`` steps by their end point.

    Entry ``m + depth`` (for ``m = -depth .. depth``) is the number of step
    sequences :math:`(s_1,\dots,s_L) \in \{-1,0,1\}^L` with
    :math:`\sum_n s_n = m`: the trinomial coefficient, the coefficient of
    :math:`z^m` in :math:`(z^{-1} + 1 + z)^L`. The entries add up to
    :math:`3^L`.

    Parameters
    ----------
    depth : int
        The number of steps ``L >= 0``.

    Returns
    -------
    numpy.ndarray
        Exact counts as Python ints (dtype object; they exceed int64 from
        depth 39 on), shape ``(2 * depth + 1,)``.

    Raises
    ------
    ValueError
        If ``depth`` is negative or above :data:`MAX_EXACT_DEPTH`. ``TypeError``
        if it is not an integer.

    Notes
    -----
    Computed exactly in O(depth) big-integer operations with the three-term
    recurrence that follows from
    :math:`(1+z+z^2)\,P'(z) = L\,(1+2z)\,P(z)` for
    :math:`P(z) = (1+z+z^2)^L = \sum_j c_j z^j`:
    :math:`(j+1)\,c_{j+1} = (L-j)\,c_j + (2L-j+1)\,c_{j-1}`.
    """
    depth = _exact_depth(depth, "depth", "path_counts", "divide path_sum with "
                         "unit weights by 3**depth for shares, or use the normal "
                         "approximation with variance 2 * depth / 3")
    n = 2 * depth + 1
    c = [0] * n
    c[0] = 1
    if n > 1:
        c[1] = depth
    for j in range(1, n - 1):
        num = (depth - j) * c[j] + (2 * depth - j + 1) * c[j - 1]
        c[j + 1] = num // (j + 1)
    out = np.empty(n, dtype=object)
    out[:] = c
    return out


def path_sum(weights: Any, depth: int) -> np.ndarray:
    r"""Sum the weights of all lattice paths of ``depth`` steps, by end point.

    .. math:: P_L[m] = \sum_{s \in \{-1,0,1\}^L,\ \sum_n s_n = m}\
              \prod_{n=1}^{L} w(s_n), \qquad m = -L, \dots, L,

    the coefficient of :math:`z^m` in :math:`(w(-1) z^{-1} + w(0) + w(+1) z)^L`.

    Parameters
    ----------
    weights : array_like
        Shape ``(3,)``.
        ``(w(-1), w(0), w(+1))``; real, any sign. For a residual layer use
        :func:`layer_weights`.
    depth : int
        The number of layers ``L >= 0``.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(2 * depth + 1,)``; entry ``m + depth`` holds
        :math:`P_L[m]`.

    Raises
    ------
    ValueError
        If the weights are not three finite reals, or ``depth`` is negative or
        above :data:`MAX_EXACT_DEPTH`.

    Warns
    -----
    RuntimeWarning
        If the result overflows float64 (entries become ``inf``).

    Notes
    -----
    Transfer (propagator) algorithm: the vector is convolved with the
    three weights once per layer, ``depth`` times, at cost
    :math:`\sim 3 L^2` multiply-adds (about 0.1 s at depth 10,000 here). With
    non-negative weights every entry is a sum of non-negative terms, so each
    entry is accurate to about ``depth * 1e-16`` *relative to itself*, also in
    the tails many orders below the maximum; an FFT-based polynomial power would
    be faster but only accurate relative to the largest entry, which is why it is
    not used. With weights of mixed sign the cancellations limit the absolute
    error to about ``depth * 1e-16`` times the corresponding entry of
    ``path_sum(abs(weights), depth)``. The running vector is rescaled by powers
    of two (which never round) every few layers and the scale restored at the
    end, so no intermediate overflow or underflow occurs; in the result,
    entries beyond the float64 range become ``inf`` (with a warning) or
    underflow to 0, and entries more than about :math:`10^{308}` times smaller
    than the largest one are returned as 0.
    """
    w = three_weights(weights)
    depth = _exact_depth(
        depth,
        "depth",
        "path_sum",
        "sample paths with sample_lattice_paths, or use propagators.heat_kernel, "
        "the continuum limit",
    )
    # np.convolve(a, k)[i] = sum_j a[j] k[i - j]; the step +1 shifts weight to the
    # right (larger m), so the kernel is (w(-1), w(0), w(+1)) in that order.
    top_w = float(np.max(np.abs(w)))
    if top_w == 0.0:
        out = np.zeros(2 * depth + 1)
        if depth == 0:
            out[0] = 1.0
        return out
    # Scale by powers of two only, so that rescaling never rounds: the kernel is
    # w * 2**-e0 and the running vector a is kept near 1 by factors 2**-e.
    e0 = math.frexp(top_w)[1]
    kernel = np.ldexp(w, -e0)
    exponent = depth * e0
    a = np.ones(1)
    for n in range(depth):
        a = np.convolve(a, kernel)
        if (n + 1) % _RESCALE_EVERY == 0:
            top = float(np.max(np.abs(a)))
            if top == 0.0:
                return np.zeros(2 * depth + 1)
            e = math.frexp(top)[1]
            a = np.ldexp(a, -e)
            exponent += e
    top = float(np.max(np.abs(a)))
    if top > 0.0 and math.frexp(top)[1] + exponent > 1024:
        warnings.warn(
            f"path_sum overflows float64: its largest entry is about "
            f"2**{math.log2(top) + exponent:.0f}; entries beyond 1.8e308 become inf",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(a, exponent)


def network_output_from_paths(weights: Any, u0: Any, depth: int) -> np.ndarray:
    r"""Output of ``depth`` linear residual layers on a periodic grid, as a path sum.

    .. math:: u_L[j] = \sum_{m=-L}^{L} P_L[m]\; u_0[(j + m) \bmod N],

    with :math:`P_L` = :func:`path_sum` and ``N`` the grid size: each output
    point collects the weights of the paths that run from it back into the
    input. This equals applying the layer
    :math:`u_j \mapsto w(-1) u_{j-1} + w(0) u_j + w(+1) u_{j+1}` (indices mod
    ``N``) ``depth`` times, which is ``depth`` residual layers ``u + k * u``
    with circular padding and ``w = (k_0, 1 + k_1, k_2)``.

    Parameters
    ----------
    weights : array_like
        Shape ``(3,)``.
        Layer weights ``(w(-1), w(0), w(+1))``.
    u0 : array_like
        Shape ``(..., N)``.
        Input on a periodic grid (last axis); leading axes are a batch.
    depth : int
        Number of layers ``L >= 0``.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``u0``.

    Raises
    ------
    ValueError
        On bad weights, a negative depth, an empty or non-finite ``u0``.

    Notes
    -----
    The path sum is folded onto the circle (paths longer than the grid wrap
    around) and applied as a direct circular sum, at cost
    ``N * min(N, 2 * depth + 1)`` per batch row.
    """
    u = as_float_array(u0, "u0")
    if u.ndim < 1 or u.shape[-1] == 0:
        raise ValueError(f"u0 must have a non-empty last axis, got shape {u.shape}")
    depth = non_negative_int(depth, "depth")
    p = path_sum(weights, depth)
    n = u.shape[-1]
    offsets = np.arange(-depth, depth + 1)
    folded = np.zeros(n)
    np.add.at(folded, offsets % n, p)
    out = np.zeros_like(u)
    for r in np.flatnonzero(folded):
        # np.roll(u, -r)[j] = u[(j + r) mod N]
        out += folded[r] * np.roll(u, -int(r), axis=-1)
    return out


def enumerate_paths(weights: Any, depth: int) -> tuple[np.ndarray, np.ndarray]:
    r"""List every lattice path of ``depth`` steps with its weight.

    Path ``i`` has the steps given by the base-3 digits of ``i`` (first step
    most significant) minus one, so the paths come in lexicographic order from
    ``(-1, ..., -1)`` to ``(1, ..., 1)``. Its weight is
    :math:`\prod_n w(s_n)`.

    Parameters
    ----------
    weights : array_like
        Shape ``(3,)``.
        ``(w(-1), w(0), w(+1))``.
    depth : int
        ``0 <= depth <= MAX_ENUMERATION_DEPTH`` (14).

    Returns
    -------
    steps : numpy.ndarray
        int8, shape ``(3**depth, depth)``.
    path_weights : numpy.ndarray
        float64, shape ``(3**depth,)``.

    Raises
    ------
    ValueError
        If ``depth`` exceeds :data:`MAX_ENUMERATION_DEPTH` (use :func:`path_sum`
        for exact sums by end point and :func:`sample_lattice_paths` for
        samples), or on bad weights or a negative depth.
    """
    w = three_weights(weights)
    depth = non_negative_int(depth, "depth")
    if depth > MAX_ENUMERATION_DEPTH:
        raise ValueError(
            f"depth must be <= {MAX_ENUMERATION_DEPTH} to enumerate all 3**depth "
            f"paths, got {depth} (3**{depth} is about "
            f"10**{depth * math.log10(3):.1f} paths); use "
            "path_sum for exact sums by end point or sample_lattice_paths for "
            "Monte Carlo samples"
        )
    n_paths = 3**depth
    codes = np.arange(n_paths, dtype=np.int64)
    steps = np.empty((n_paths, depth), dtype=np.int8)
    for col in range(depth - 1, -1, -1):
        steps[:, col] = codes % 3 - 1
        codes //= 3
    path_weights = np.ones(n_paths)
    for col in range(depth):
        path_weights *= w[steps[:, col] + 1]
    return steps, path_weights


def _as_steps(steps: Any) -> np.ndarray:
    if isinstance(steps, torch.Tensor):
        steps = steps.detach().cpu().numpy()
    arr = np.asarray(steps)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("steps must be integers in {-1, 0, 1}")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"steps must be integers in {{-1, 0, 1}}, got {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError("steps must have at least one axis (the steps of a path)")
    if arr.size and not np.all((arr >= -1) & (arr <= 1)):
        bad = arr[(arr < -1) | (arr > 1)].ravel()[0]
        raise ValueError(f"steps must be in {{-1, 0, 1}}, got {bad}")
    return arr.astype(np.int64)


def lattice_action(steps: Any, weights: Any) -> np.ndarray:
    r"""Lattice action :math:`S = -\sum_n \log w(s_n)` of a batch of paths.

    So that :math:`\exp(-S) = \prod_n w(s_n)`. A negative weight has the
    principal logarithm :math:`\log|w| + i\pi`, so each negative step adds
    :math:`-i\pi` to ``S`` and ``exp(-S)`` keeps its sign: the action is
    complex (the sign problem). A step with weight 0 gives :math:`S = +\infty`
    (never NaN), also when the action is complex.

    Parameters
    ----------
    steps : array_like
        Integers in {-1, 0, 1}, shape ``(..., depth)``.
        One path per row (last axis: the steps).
    weights : array_like
        Shape ``(3,)``.
        ``(w(-1), w(0), w(+1))``.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``: one action per path. float64 if all three weights
        are >= 0, else complex128 (the imaginary
        part is :math:`-\pi` times the number of negative steps, not reduced
        mod :math:`2\pi`).

    Raises
    ------
    ValueError
        If a step is not in {-1, 0, 1} or the weights are not three finite reals.
    """
    w = three_weights(weights)
    s = _as_steps(steps)
    counts = [np.sum(s == v, axis=-1) for v in (-1, 0, 1)]
    real = np.zeros(counts[0].shape)
    imag = np.zeros(counts[0].shape)
    for count, wk in zip(counts, w, strict=True):
        used = count > 0
        if wk == 0.0:
            real = np.where(used, np.inf, real)
        else:
            real = real - count * math.log(abs(wk))
            if wk < 0.0:
                imag = imag - count * math.pi
    if np.any(w < 0.0):
        out = np.empty(real.shape, dtype=np.complex128)
        out.real = real
        out.imag = imag
        return out
    return real


# --------------------------------------------------------------------------
# The unravelled view
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PathLengthDistribution:
    r"""Path lengths through ``n_blocks`` residual blocks (the unravelled view).

    Attributes
    ----------
    lengths : numpy.ndarray
        ``k = 0 .. n_blocks``: the number of residual branches a path takes.
    counts : numpy.ndarray
        Python ints (dtype object).
        :math:`\binom{n}{k}`, the number of paths of length ``k``; they add up
        to :math:`2^n`.
    weights : numpy.ndarray
        :math:`\binom{n}{k} g^k`, unnormalised (may overflow to inf for very
        large ``n``).
    probabilities : numpy.ndarray
        :math:`\binom{n}{k} g^k / (1+g)^n`, normalised to add up to 1 (computed
        in log space, so it never overflows).
    gain : float
        ``g``.
    """

    lengths: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    probabilities: np.ndarray
    gain: float

    @property
    def mean(self) -> float:
        r"""Mean path length :math:`n g / (1 + g)`."""
        return float(np.sum(self.lengths * self.probabilities))

    @property
    def std(self) -> float:
        r"""Standard deviation :math:`\sqrt{n g}/(1 + g)`."""
        mu = self.mean
        return float(np.sqrt(np.sum((self.lengths - mu) ** 2 * self.probabilities)))


def path_length_distribution(
    n_blocks: int, gain: float = 1.0
) -> PathLengthDistribution:
    r"""Distribution of path lengths through ``n_blocks`` residual blocks.

    Unravelling a stack of blocks :math:`x \mapsto x + f_i(x)` writes it as a
    sum over the :math:`2^n` ways of taking, at each block, either the
    identity or the residual branch (Veit, Wilber and Belongie 2016). Exactly
    :math:`\binom{n}{k}` of these paths pass through ``k`` residual branches.
    If each residual branch multiplies a signal by a gain ``g``, the paths of
    length ``k`` contribute :math:`\binom{n}{k} g^k` in all; normalised by
    :math:`(1+g)^n` this is the binomial distribution with
    :math:`p = g/(1+g)`.

    Parameters
    ----------
    n_blocks : int
        ``n >= 0``.
    gain : float, optional
        ``g >= 0`` (default 1: all paths count equally).

    Returns
    -------
    PathLengthDistribution
        Lengths, exact counts, unnormalised weights and normalised
        probabilities.

    Raises
    ------
    ValueError
        If ``n_blocks`` is negative or above :data:`MAX_EXACT_DEPTH`, or
        ``gain`` is negative or not finite.
    """
    n = _exact_depth(n_blocks, "n_blocks", "path_length_distribution", "the shares "
                     "are the binomial law with p = gain / (1 + gain); use its "
                     "normal approximation")
    g = as_real(gain, "gain")
    if g < 0:
        raise ValueError(f"gain must be >= 0, got {g}")
    lengths = np.arange(n + 1)
    counts = np.empty(n + 1, dtype=object)
    exact = [1] * (n + 1)
    for j in range(n):  # C(n, j + 1) = C(n, j) (n - j) / (j + 1), exactly
        exact[j + 1] = exact[j] * (n - j) // (j + 1)
    counts[:] = exact
    log_comb = np.array(
        [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
         for k in range(n + 1)]
    )
    if g == 0.0:
        probabilities = np.zeros(n + 1)
        probabilities[0] = 1.0
        weights = probabilities.copy()
    else:
        log_w = log_comb + lengths * math.log(g)
        with np.errstate(over="ignore"):
            weights = np.exp(log_w)
        probabilities = np.exp(log_w - n * math.log1p(g))
    return PathLengthDistribution(lengths, counts, weights, probabilities, g)


# --------------------------------------------------------------------------
# The highest-weight paths and the straight path
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PathClass:
    r"""All lattice paths with the same numbers of each step (equal weights).

    Attributes
    ----------
    n_minus, n_zero, n_plus : int
        How many steps ``-1``, ``0``, ``+1`` each path of the class takes.
    multiplicity : int
        The number of paths in the class,
        :math:`L! / (n_-!\, n_0!\, n_+!)` (exact).
    weight : float
        The weight of *one* path, :math:`w(-1)^{n_-} w(0)^{n_0} w(+1)^{n_+}`
        (may underflow to 0; see ``log_abs_weight``).
    log_abs_weight : float
        :math:`\log|\text{weight}|` (``-inf`` for a zero weight).
    sign : float
        The sign of the weight, ``+1.0`` or ``-1.0`` (kept when the weight
        underflows).
    action : float or complex
        :math:`S = -\log(\text{weight})` as in :func:`lattice_action`.
    steps : numpy.ndarray
        int8, shape ``(depth,)``.
        One representative path of the class: the steps of each kind spread
        as evenly as possible, so it stays close to the straight line from 0
        to the end point.
    """

    n_minus: int
    n_zero: int
    n_plus: int
    multiplicity: int
    weight: float
    log_abs_weight: float
    sign: float
    action: float | complex
    steps: np.ndarray

    @property
    def class_weight(self) -> float:
        """The weight of all paths of the class together, ``multiplicity * weight``.

        Computed in log space (the multiplicity can exceed the float range);
        ``inf`` with the class's sign if the product overflows.
        """
        if self.log_abs_weight == -math.inf:
            return 0.0
        log_total = self.log_abs_weight + math.log(self.multiplicity)
        return self.sign * (math.exp(log_total) if log_total < 709.0 else math.inf)


def _spread_steps(n_minus: int, n_zero: int, n_plus: int) -> np.ndarray:
    # Place the j-th step of each kind at its ideal time (j + 1/2) L / n_kind and
    # read the kinds off in time order: an evenly spread, near-straight path.
    times, kinds = [], []
    depth = n_minus + n_zero + n_plus
    for kind, n_kind in ((-1, n_minus), (0, n_zero), (1, n_plus)):
        if n_kind:
            times.append((np.arange(n_kind) + 0.5) * depth / n_kind)
            kinds.append(np.full(n_kind, kind, dtype=np.int8))
    if not times:
        return np.zeros(0, dtype=np.int8)
    t = np.concatenate(times)
    k = np.concatenate(kinds)
    return k[np.argsort(t, kind="stable")]


def top_paths(
    weights: Any, depth: int, endpoint: int, k: int = 5, *, by: str = "path"
) -> list[PathClass]:
    r"""The highest-weight lattice paths from 0 to ``endpoint``, exactly.

    A path's weight depends only on how many steps of each kind it takes,
    :math:`w(-1)^{n_-} w(0)^{n_0} w(+1)^{n_+}` with
    :math:`n_+ - n_- = m` and :math:`n_- + n_0 + n_+ = L`. So instead of the
    :math:`3^L` paths this enumerates the at most :math:`L + 1` classes
    :math:`(n_-, n_0, n_+)` and ranks them.

    Parameters
    ----------
    weights : array_like
        Shape ``(3,)``.
        ``(w(-1), w(0), w(+1))``.
    depth : int
        ``L >= 0``.
    endpoint : int
        ``m`` with ``|m| <= depth``.
    k : int, optional
        How many classes to return (fewer if fewer exist).
    by : str, optional
        ``"path"`` (default) ranks by the weight of one path, :math:`|w|`,
        ties broken by larger multiplicity; ``"class"`` ranks by the total
        weight of the class, ``multiplicity * |weight|``, which says which
        classes dominate :math:`P_L[m]`.

    Returns
    -------
    list of PathClass
        Best first. Each carries its multiplicity and one representative step
        sequence. Classes of zero weight are left out, so the list is empty
        when no path of nonzero weight reaches ``endpoint``.

    Raises
    ------
    ValueError
        If ``|endpoint| > depth``, ``k < 1``, ``by`` is unknown, or on bad
        weights or depth.
    """
    w = three_weights(weights)
    depth = non_negative_int(depth, "depth")
    if isinstance(endpoint, bool) or not isinstance(endpoint, int | np.integer):
        raise TypeError(f"endpoint must be an integer, got {endpoint!r}")
    m = int(endpoint)
    if abs(m) > depth:
        raise ValueError(
            f"endpoint must satisfy |endpoint| <= depth = {depth}, got {m}"
        )
    k = positive_int(k, "k")
    if by not in ("path", "class"):
        raise ValueError(f"by must be 'path' or 'class', got {by!r}")
    log_abs = [math.log(abs(v)) if v != 0 else -math.inf for v in w]
    classes = []
    lg_depth = math.lgamma(depth + 1)
    for n_minus in range(max(0, -m), (depth - m) // 2 + 1):
        n_plus = n_minus + m
        n_zero = depth - n_minus - n_plus
        if n_zero < 0 or n_plus < 0:
            continue
        ns = (n_minus, n_zero, n_plus)
        lw = sum(n * lv for n, lv in zip(ns, log_abs, strict=True) if n > 0)
        # log multiplicity for ranking; the exact integer is formed for the top k
        log_mult = lg_depth - sum(math.lgamma(n + 1) for n in ns)
        classes.append((ns, lw, log_mult))
    # A class with a zero weight holds no path that contributes: leave it out.
    classes = [c for c in classes if c[1] > -math.inf]
    if by == "path":
        classes.sort(key=lambda c: (-c[1], -c[2]))
    else:
        classes.sort(key=lambda c: -(c[1] + c[2]))
    result = []
    for ns, lw, _ in classes[:k]:
        n_minus, n_zero, n_plus = ns
        mult = math.comb(depth, n_minus) * math.comb(depth - n_minus, n_plus)
        negative = sum(n for n, v in zip(ns, w, strict=True) if v < 0)
        sign = -1.0 if negative % 2 else 1.0
        steps = _spread_steps(*ns)
        weight = sign * math.exp(lw)
        action = lattice_action(steps, w)
        action = complex(action) if np.iscomplexobj(action) else float(action)
        result.append(PathClass(*ns, mult, weight, lw, sign, action, steps))
    return result


def classical_path(
    x: float, y: float, t: float, n_points: int = 101
) -> tuple[np.ndarray, np.ndarray]:
    r"""The straight (classical) path from ``x`` at time 0 to ``y`` at time ``t``.

    For the continuum action
    :math:`S[x] = \int_0^t [(\dot x - b)^2/(4D) - c]\,ds` with constant
    ``D``, ``b``, ``c`` the Euler–Lagrange equation is :math:`\ddot x = 0`, so
    the path of least action with fixed end points is the straight line
    :math:`x(s) = x + (y - x)\, s / t`, whatever ``D``, ``b`` and ``c`` are;
    its action is :func:`pathint_lib.propagators.classical_action`,
    :math:`(y - x - b t)^2/(4 D t) - c t`.

    Parameters
    ----------
    x, y : float
        Start and end points.
    t : float
        Duration, > 0.
    n_points : int, optional
        Number of sample times (>= 2), including both ends.

    Returns
    -------
    times, points : numpy.ndarray
        Shape ``(n_points,)``.

    Raises
    ------
    ValueError
        If ``t <= 0``, ``n_points < 2`` or an end point is not finite.
    """
    x = as_real(x, "x")
    y = as_real(y, "y")
    t = positive(t, "t")
    n_points = positive_int(n_points, "n_points")
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    times = np.linspace(0.0, t, n_points)
    return times, x + (y - x) * times / t


# --------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------


def _generator(device: torch.device, seed: int | None, generator: Any) -> Any:
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {generator!r}")
        return generator
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(non_negative_int(seed, "seed"))
    return gen


def _device(device: Any) -> torch.device:
    from .device import pick_device

    return pick_device(device)


@dataclasses.dataclass(frozen=True)
class LatticeSample:
    r"""Lattice paths sampled with step probabilities :math:`w / \sum w`.

    Attributes
    ----------
    steps : torch.Tensor or None
        int8, shape ``(n_paths, depth)``.
        The sampled steps (None when not kept).
    endpoints : torch.Tensor
        int64, shape ``(n_paths,)``.
        :math:`m = \sum_n s_n` of each path.
    depth : int
        ``L``.
    probabilities : numpy.ndarray
        Shape ``(3,)``.
        The step probabilities :math:`w / \sum w`.
    log_weight_correction : float
        :math:`L \log \sum w`: every sampled path stands for the weight
        :math:`(\sum w)^L` times its probability, so
        :math:`P_L[m] = (\sum w)^L\, \Pr(\text{end point} = m)`.
    """

    steps: torch.Tensor | None
    endpoints: torch.Tensor
    depth: int
    probabilities: np.ndarray
    log_weight_correction: float

    @property
    def n_paths(self) -> int:
        """Number of sampled paths."""
        return int(self.endpoints.shape[0])

    def path_sum_estimate(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Monte Carlo estimate of :func:`path_sum` and its standard error.

        .. math:: \hat P_L[m] = e^{L \log \sum w}\, \frac{N_m}{N},\qquad
                  \mathrm{se} = e^{L \log \sum w}
                  \sqrt{\hat p_m (1 - \hat p_m) / N},

        with :math:`N_m` the number of sampled paths ending at ``m``.

        Returns
        -------
        estimate, standard_error : numpy.ndarray
            Shape ``(2 * depth + 1,)``.
        """
        counts = torch.bincount(
            (self.endpoints + self.depth).cpu(), minlength=2 * self.depth + 1
        ).numpy()
        p = counts / self.n_paths
        factor = math.exp(self.log_weight_correction)
        return factor * p, factor * np.sqrt(p * (1.0 - p) / self.n_paths)


def sample_lattice_paths(
    weights: Any,
    depth: int,
    n_paths: int,
    *,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    device: Any = None,
    keep_steps: bool = True,
) -> LatticeSample:
    r"""Sample lattice paths with step probabilities proportional to the weights.

    Each step is drawn independently with :math:`\Pr(s) = w(s) / \sum w`, so a
    path is drawn with probability :math:`\prod w(s_n) / (\sum w)^L`: its
    weight divided by the constant :math:`(\sum w)^L`. The histogram of end
    points times that constant estimates :func:`path_sum`
    (:meth:`LatticeSample.path_sum_estimate`).

    Parameters
    ----------
    weights : array_like
        Shape ``(3,)``.
        ``(w(-1), w(0), w(+1))``, all >= 0 with a positive sum. (Negative
        weights have no probability interpretation: that is the sign problem.)
    depth : int
        ``L >= 0``.
    n_paths : int
        Number of paths, >= 1.
    seed : int or None, optional
        Seed of a fresh torch generator (default 0); ignored if ``generator``
        is given. None seeds from the operating system.
    generator : torch.Generator, optional
        A generator on ``device`` to draw from.
    device : str or torch.device, optional
        Where to sample (default: :func:`pathint_lib.device.pick_device`).
    keep_steps : bool, optional
        Keep the ``(n_paths, depth)`` steps (default True); False keeps only
        the end points.

    Returns
    -------
    LatticeSample

    Raises
    ------
    ValueError
        If a weight is negative, all weights are zero, on bad sizes, or if the
        request does not fit in memory at once (``n_paths * depth`` above
        ``MAX_SAMPLE_VALUES`` (2**28)).
    """
    w = three_weights(weights)
    depth = non_negative_int(depth, "depth")
    n_paths = positive_int(n_paths, "n_paths")
    sample_budget(
        n_paths * depth,
        f"sampling {n_paths:,} lattice paths of depth {depth:,}",
        "draw fewer paths per call and combine calls with different seeds, or use "
        "path_sum for the exact sum by end point",
    )
    if np.any(w < 0):
        raise ValueError(
            f"weights must be >= 0 to be sampled as probabilities, got {w.tolist()}; "
            "negative weights give a complex action (the sign problem): use path_sum"
        )
    total = float(w.sum())
    if total <= 0:
        raise ValueError(f"weights must have a positive sum, got {w.tolist()}")
    dev = _device(device)
    gen = _generator(dev, seed, generator)
    probs = w / total
    u = torch.rand((n_paths, depth), generator=gen, device=dev, dtype=torch.float64)
    steps = (u >= probs[0]).to(torch.int8) + (u >= probs[0] + probs[1]).to(torch.int8)
    steps -= 1
    del u
    endpoints = steps.sum(dim=1, dtype=torch.int64)
    return LatticeSample(
        steps if keep_steps else None,
        endpoints,
        depth,
        probs,
        depth * math.log(total),
    )


@dataclasses.dataclass(frozen=True)
class ContinuumPaths:
    """Sampled paths of a diffusion on a uniform time grid.

    Attributes
    ----------
    times : torch.Tensor
        Shape ``(n_steps + 1,)``.
        ``0, dt, ..., T``.
    paths : torch.Tensor
        Shape ``(n_paths, n_steps + 1)``.
        ``paths[i, n]`` is path ``i`` at ``times[n]``; column 0 is ``x0``.
    """

    times: torch.Tensor
    paths: torch.Tensor

    @property
    def endpoints(self) -> torch.Tensor:
        """The end points ``X_T`` (last column)."""
        return self.paths[:, -1]


def sample_continuum_paths(
    x0: float,
    T: float,
    n_steps: int,
    n_paths: int,
    D: float,
    b: float = 0.0,
    *,
    drift: Callable[[torch.Tensor], torch.Tensor] | None = None,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    device: Any = None,
    dtype: torch.dtype = torch.float32,
) -> ContinuumPaths:
    r"""Sample paths of :math:`dX = b\,dt + \sqrt{2D}\,dW`, :math:`X_0 = x_0`.

    With a constant drift ``b`` the increments are exact:
    :math:`X_{n+1} = X_n + b\,\Delta t + \sqrt{2 D \Delta t}\,\xi_n`,
    :math:`\xi_n \sim N(0, 1)`, drawn for all paths and steps at once and
    summed with one cumulative sum (no Python loop). With a drift function
    :math:`b(x)` the Euler–Maruyama scheme
    :math:`X_{n+1} = X_n + b(X_n)\,\Delta t + \sqrt{2 D \Delta t}\,\xi_n`
    (weak order 1, Kloeden and Platen 1992) loops over the steps, vectorised
    over the paths.

    Parameters
    ----------
    x0 : float
        Start point.
    T : float
        Final time, > 0.
    n_steps, n_paths : int
        Time steps (``dt = T / n_steps``) and paths, both >= 1.
    D : float
        Diffusion coefficient, > 0.
    b : float, optional
        Constant drift (ignored when ``drift`` is given).
    drift : callable, optional
        ``drift(x)`` maps a tensor of positions to drifts, elementwise.
    seed, generator, device
        As in :func:`sample_lattice_paths`.
    dtype : torch.dtype, optional
        ``torch.float32`` (default, fastest) or ``torch.float64``.

    Returns
    -------
    ContinuumPaths

    Raises
    ------
    ValueError
        If ``T <= 0``, ``D <= 0``, sizes are < 1, ``dtype`` is not a float, or
        the request does not fit in memory at once.

    Notes
    -----
    Speed: with a constant drift about 10**8 path steps per second on two CPU
    cores in float32 (bounded by the normal draw and one cumulative sum). On
    the CPU, torch's float64 normal sampler is several times slower than its
    float32 one, so for ``dtype=torch.float64`` on the CPU the standard normal
    draws are made in float32 and the paths accumulated in float64 (the draws
    then carry float32 resolution, far below the Monte Carlo error).
    """
    x0 = as_real(x0, "x0")
    T = positive(T, "T")
    D = positive(D, "D")
    b = as_real(b, "b")
    n_steps = positive_int(n_steps, "n_steps")
    n_paths = positive_int(n_paths, "n_paths")
    sample_budget(
        2 * n_paths * (n_steps + 1),
        f"sampling {n_paths:,} continuum paths of {n_steps:,} steps",
        "use fewer paths or steps per call and combine calls with different seeds",
    )
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    dev = _device(device)
    if dev.type == "mps" and dtype == torch.float64:
        raise ValueError("dtype torch.float64 is not available on mps")
    gen = _generator(dev, seed, generator)
    dt = T / n_steps
    sigma = math.sqrt(2.0 * D * dt)
    times = torch.linspace(0.0, T, n_steps + 1, dtype=dtype, device=dev)
    out = torch.empty((n_paths, n_steps + 1), dtype=dtype, device=dev)
    if drift is None:
        # The mean b*dt goes into the draw, so the cumulative sum adds the drift.
        _fill_normal(out, b * dt, sigma, gen)
        out[:, 0] = x0
        out.cumsum_(dim=1)
        return ContinuumPaths(times, out)
    # Time-major storage keeps each step's positions contiguous in the loop.
    del out
    steps = torch.empty((n_steps + 1, n_paths), dtype=dtype, device=dev)
    _fill_normal(steps, 0.0, sigma, gen)
    steps[0] = x0
    for n in range(n_steps):
        x = steps[n]
        velocity = torch.as_tensor(drift(x), dtype=dtype, device=dev)
        if velocity.shape != x.shape:
            velocity = velocity.expand_as(x)
        steps[n + 1].add_(x + velocity * dt)
    return ContinuumPaths(times, steps.t())


def _fill_normal(out: torch.Tensor, mean: float, std: float, gen: Any) -> None:
    if out.dtype == torch.float64 and out.device.type == "cpu":
        draw = torch.empty(out.shape, dtype=torch.float32)
        draw.normal_(0.0, 1.0, generator=gen)
        out.copy_(draw)
        out.mul_(std).add_(mean)
    else:
        out.normal_(mean, std, generator=gen)
