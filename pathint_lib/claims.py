r"""A registry of the library-level claims of the book, and a runner for them.

Every claim that the chapters make about the library (an identity, a
convergence rate, an agreement with an independent reference) is registered
here as a function of the device. :func:`run_all` runs them and returns one
:class:`ClaimRecord` per claim: what was claimed, in which chapter, the
largest error measured, the tolerance, the time taken and whether it passed.
``python -m pathint_lib verify`` prints the table; :func:`to_markdown` renders
the same records as a Markdown table (the verification ledger).

Symbolic claims are exact (error 0, tolerance 0): they pass when sympy
simplifies the difference to 0. Numerical claims run in float64 (torch parts on
the requested device) and compare with an independent reference: a closed
form, a brute-force enumeration, a fine quadrature or a separate
implementation. Tolerances are stated with each claim and are fixed in
advance from the size of the effect being measured (rounding for exact
identities, a convergence bound for limits, four standard errors for Monte
Carlo).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
import torch

__all__ = [
    "CLAIMS",
    "Claim",
    "ClaimRecord",
    "Outcome",
    "format_table",
    "run_all",
    "run_claim",
    "to_markdown",
]


@dataclasses.dataclass(frozen=True)
class ClaimRecord:
    """The outcome of checking one claim.

    Attributes
    ----------
    name : str
        Short identifier of the claim.
    claim : str
        The claim in words.
    chapter : int
        The chapter that makes it.
    error : float
        The largest error measured (0 for an exact identity that holds; NaN
        when the check could not run).
    tolerance : float
        The bound the error had to stay under (0 for an exact identity).
    seconds : float
        Wall time of the check.
    passed : bool
    device : str
        Where it ran (``"sympy"`` for symbolic checks).
    detail : str
        Extra measurements or the reason for a failure.
    """

    name: str
    claim: str
    chapter: int
    error: float
    tolerance: float
    seconds: float
    passed: bool
    device: str
    detail: str = ""

    def __str__(self) -> str:
        mark = "✔" if self.passed else "✘"
        return (
            f"{mark} [ch{self.chapter}] {self.claim}: error {self.error:.2e} "
            f"(tolerance {self.tolerance:.1e}) [{self.device}, {self.seconds:.2f} s]"
        )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a claim's check measured (returned by the check, turned into a record).

    Attributes
    ----------
    error : float
        The largest error measured.
    tolerance : float
        The bound fixed in advance.
    detail : str
        Extra measurements, in words.
    symbolic : bool
        True for an exact sympy check (passes when ``error == 0``).
    passed : bool or None
        Overrides ``error <= tolerance`` when a claim has further conditions
        (such as a measured order of convergence).
    """

    error: float
    tolerance: float
    detail: str = ""
    symbolic: bool = False
    passed: bool | None = None  # None: error <= tolerance decides


@dataclasses.dataclass(frozen=True)
class Claim:
    """A registered claim: a name, its chapter, its statement and its check."""

    name: str
    chapter: int
    statement: str
    check: Callable[[torch.device], Outcome]


#: Every registered claim, in chapter order.
CLAIMS: list[Claim] = []


def _claim(name: str, chapter: int, statement: str) -> Callable:
    def register(func: Callable[[torch.device], Outcome]) -> Callable:
        CLAIMS.append(Claim(name, chapter, statement, func))
        return func

    return register


def run_claim(claim: Claim, device: Any = None) -> ClaimRecord:
    """Run one claim on ``device`` and return its record (never raises)."""
    from .device import pick_device

    dev = pick_device(device)
    start = time.perf_counter()
    try:
        out = claim.check(dev)
    except Exception as exc:  # a crash is a failed claim, reported, not raised
        seconds = time.perf_counter() - start
        return ClaimRecord(
            claim.name, claim.statement, claim.chapter, math.nan, math.nan,
            seconds, False, dev.type, f"{type(exc).__name__}: {exc}",
        )
    seconds = time.perf_counter() - start
    if out.passed is not None:
        passed = bool(out.passed)
    elif out.symbolic:
        passed = out.error == 0.0
    else:
        passed = bool(np.isfinite(out.error) and out.error <= out.tolerance)
    where = "sympy" if out.symbolic else dev.type
    return ClaimRecord(
        claim.name, claim.statement, claim.chapter, float(out.error),
        float(out.tolerance), seconds, passed, where, out.detail,
    )


def run_all(
    device: Any = None, *, chapters: Any = None, names: Any = None
) -> list[ClaimRecord]:
    """Run every registered claim (or a selection) on ``device``.

    Parameters
    ----------
    device : str or torch.device, optional
        Default: :func:`pathint_lib.device.pick_device`.
    chapters : collections.abc.Iterable, optional
        Chapter numbers.
        Only the claims of these chapters.
    names : collections.abc.Iterable, optional
        Claim names.
        Only the claims with these names.

    Returns
    -------
    list of ClaimRecord
        In registry order.

    Raises
    ------
    ValueError
        For an unknown or unavailable device, or a name that is not registered.
    """
    from .device import pick_device

    dev = pick_device(device)
    selected = CLAIMS
    if names is not None:
        names = list(names)
        known = {c.name for c in CLAIMS}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown claim name(s) {unknown}; known: {sorted(known)}")
        selected = [c for c in selected if c.name in names]
    if chapters is not None:
        chapters = {int(ch) for ch in chapters}
        selected = [c for c in selected if c.chapter in chapters]
    return [run_claim(c, dev) for c in selected]


def format_table(records: list[ClaimRecord]) -> str:
    """Plain-text table: chapter, claim, max error, tolerance, time, result."""
    head = ("ch", "claim", "max error", "tolerance", "time (s)", "result")
    rows = [
        (
            str(r.chapter),
            r.claim,
            _fmt_error(r),
            _fmt_tol(r),
            f"{r.seconds:.2f}",
            "pass" if r.passed else "FAIL",
        )
        for r in records
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    widths[1] = min(widths[1], 72)

    def line(cells: tuple[str, ...]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            text = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            parts.append(text.ljust(widths[i]) if i == 1 else text.rjust(widths[i]))
        return "  ".join(parts)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def to_markdown(records: list[ClaimRecord]) -> str:
    """Markdown table of the records (for the verification ledger page)."""
    out = [
        "| chapter | claim | max error | tolerance | device | time (s) | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        claim = r.claim.replace("|", "\\|")
        result = "pass" if r.passed else "**FAIL**"
        out.append(
            f"| {r.chapter} | {claim} | {_fmt_error(r)} | {_fmt_tol(r)} | "
            f"{r.device} | {r.seconds:.2f} | {result} |"
        )
    return "\n".join(out) + "\n"


def _fmt_error(r: ClaimRecord) -> str:
    if r.device == "sympy":
        return "0 (exact)" if r.passed else "nonzero"
    return "n/a" if math.isnan(r.error) else f"{r.error:.2e}"


def _fmt_tol(r: ClaimRecord) -> str:
    if r.device == "sympy":
        return "exact"
    return "n/a" if math.isnan(r.tolerance) else f"{r.tolerance:.1e}"


def _sympy_zero(*exprs: Any) -> Outcome:
    nonzero = [e for e in exprs if sp.simplify(e) != 0]
    if nonzero:
        return Outcome(math.inf, 0.0, f"does not simplify to 0: {nonzero[0]}", True)
    return Outcome(0.0, 0.0, "", True)


def _slope(xs: Any, ys: Any) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


# --------------------------------------------------------------------------
# Chapter 1
# --------------------------------------------------------------------------


@_claim("euler-local-error", 1, "Euler's local error is (tau^2/2) f f' (sympy)")
def _euler_local_error(device: torch.device) -> Outcome:
    from .symbolic import euler_local_error

    return _sympy_zero(euler_local_error())


@_claim(
    "resnet-euler-order",
    1,
    "a shared-weight residual stack converges to the ODE flow at order 1 in tau "
    "(error: |measured order - 1|)",
)
def _resnet_euler_order(device: torch.device) -> Outcome:
    from .blocks import ResidualBlock, Stack

    a = torch.tensor([[-0.3, 1.0], [-1.0, -0.3]], dtype=torch.float64, device=device)
    f = torch.nn.Linear(2, 2, bias=False).to(device=device, dtype=torch.float64)
    with torch.no_grad():
        f.weight.copy_(a)
    x0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64, device=device)
    T = 2.0
    exact = x0 @ torch.linalg.matrix_exp(a * T).T
    depths = np.array([32, 64, 128, 256, 512])
    errors = []
    with torch.no_grad():
        for depth in depths:
            out = Stack(ResidualBlock(f, T / depth), int(depth))(x0)
            errors.append(float((out - exact).abs().max()))
    order = _slope(T / depths, errors)
    return Outcome(
        abs(order - 1.0), 0.05, f"measured order {order:.3f} (tau = T/L, L=32..512)"
    )


# --------------------------------------------------------------------------
# Chapter 2
# --------------------------------------------------------------------------


def _one_d_stencils() -> list[Any]:
    from .stencils import STANDARD_STENCILS

    return [s for s in STANDARD_STENCILS.values() if s.kernel.ndim == 1]


@_claim(
    "stencil-taylor",
    2,
    "sum_k q_k u(x+kh) = sum_i m_i h^i u^(i)(x), m_i = sum_k q_k k^i/i! (sympy)",
)
def _stencil_taylor(device: torch.device) -> Outcome:
    from .symbolic import stencil_expansion

    diffs = []
    for stencil in _one_d_stencils():
        lhs, rhs = stencil_expansion([sp.Rational(v) for v in stencil.kernel])
        diffs.append(lhs - rhs)
    return _sympy_zero(*diffs)


@_claim(
    "moment-matrix-exact",
    2,
    "moment_matrix equals the exact rational moments of each standard stencil",
)
def _moment_matrix_exact(device: torch.device) -> Outcome:
    from .stencils import STANDARD_STENCILS, moment_matrix

    worst = 0.0
    for stencil in STANDARD_STENCILS.values():
        q = stencil.kernel
        size = tuple(n + 3 for n in q.shape)
        got = moment_matrix(q, size)
        offs = [np.arange(n) - n // 2 for n in q.shape]
        for index in np.ndindex(*size):
            exact = sp.Integer(0)
            for pos in np.ndindex(*q.shape):
                term = sp.Rational(float(q[pos]))
                for axis, i in enumerate(index):
                    term *= sp.Integer(int(offs[axis][pos[axis]])) ** i
                    term /= sp.factorial(i)
                exact += term
            worst = max(worst, abs(float(got[index]) - float(exact)))
    return Outcome(worst, 1e-14, f"{len(STANDARD_STENCILS)} stencils, sizes n+3")


@_claim(
    "moments-inverse",
    2,
    "kernel_from_moments inverts moment_matrix (standard and random kernels)",
)
def _moments_inverse(device: torch.device) -> Outcome:
    from .stencils import STANDARD_STENCILS, kernel_from_moments, moment_matrix

    rng = np.random.default_rng(2)
    kernels = [s.kernel for s in STANDARD_STENCILS.values()]
    kernels += [rng.normal(size=n) for n in (3, 5, 7)]
    kernels += [rng.normal(size=(3, 3)), rng.normal(size=(3, 5))]
    worst = 0.0
    for q in kernels:
        back = kernel_from_moments(moment_matrix(q))
        worst = max(worst, float(np.max(np.abs(back - q)) / max(1.0, np.abs(q).max())))
    return Outcome(worst, 1e-13, f"{len(kernels)} kernels")


@_claim(
    "stencil-declared-order",
    2,
    "each standard stencil's declared order equals the order from its moments "
    "(error: mismatches)",
)
def _stencil_declared_order(device: torch.device) -> Outcome:
    from .stencils import STANDARD_STENCILS, order_of_accuracy

    wrong = [
        s.name
        for s in STANDARD_STENCILS.values()
        if order_of_accuracy(s.kernel, s.derivative) != s.order
    ]
    detail = f"mismatch: {wrong}" if wrong else f"{len(STANDARD_STENCILS)} stencils"
    return Outcome(float(len(wrong)), 0.0, detail)


# --------------------------------------------------------------------------
# Chapter 3
# --------------------------------------------------------------------------


@_claim(
    "residual-kernel-moments",
    3,
    "the residual kernel has m0 = c tau, m1 = b tau/h, m2 = D tau/h^2 (sympy)",
)
def _residual_kernel_moments(device: torch.device) -> Outcome:
    from .symbolic import residual_kernel_moments

    return _sympy_zero(*residual_kernel_moments())


@_claim(
    "kernel-coefficients-inverse",
    3,
    "coefficients_from_kernel inverts kernel_from_coefficients",
)
def _kernel_coefficients_inverse(device: torch.device) -> Outcome:
    from .pde import coefficients_from_kernel, kernel_from_coefficients

    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(200):
        D, b, c = rng.uniform(0.01, 2.0), rng.normal(), rng.normal()
        h, tau = rng.uniform(0.01, 1.0), rng.uniform(1e-3, 0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unstable steps are allowed here
            kernel = kernel_from_coefficients(D, b, c, h, tau)
            coef = coefficients_from_kernel(kernel, h, tau)
        got = np.array([coef.D, coef.b, coef.c])
        want = np.array([D, b, c])
        rel = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        worst = max(worst, float(np.max(rel)))
    return Outcome(worst, 1e-11, "200 random (D, b, c, h, tau)")


def _brute_max_amplification(w: np.ndarray, n: int = 200_001) -> float:
    theta = np.linspace(-np.pi, np.pi, n)
    g = w[0] * np.exp(-1j * theta) + w[1] + w[2] * np.exp(1j * theta)
    return float(np.abs(g).max())


@_claim(
    "max-amplification",
    3,
    "max_amplification equals max |G(theta)| on a dense grid of wave numbers",
)
def _max_amplification(device: torch.device) -> Outcome:
    from .pde import max_amplification

    rng = np.random.default_rng(4)
    worst = 0.0
    for _ in range(20):
        k = rng.normal(scale=0.5, size=3)
        w = np.array([k[0], 1.0 + k[1], k[2]])
        worst = max(worst, abs(max_amplification(k) - _brute_max_amplification(w)))
    # Grid spacing 3.1e-5 rad: |G| at the nearest grid point is within
    # (3.1e-5)^2 * |G''| / 8 < 1e-9 of the maximum for these kernels.
    return Outcome(worst, 1e-8, "20 random kernels vs 200,001 wave numbers")


@_claim(
    "ftcs-stability-bound",
    3,
    "FTCS is von Neumann stable iff (b tau/h)^2 <= 2 D tau/h^2 <= 1, c = 0 "
    "(error: points where they disagree)",
)
def _ftcs_stability_bound(device: torch.device) -> Outcome:
    from .pde import is_von_neumann_stable, kernel_from_coefficients

    disagreements = 0
    checked = 0
    h, tau = 1.0, 1.0  # so that D = r and b = beta
    for r in np.linspace(0.01, 0.8, 41):
        for beta in np.linspace(-1.2, 1.2, 49):
            margin = min(abs(beta**2 - 2 * r), abs(2 * r - 1.0))
            if margin < 1e-6:
                continue  # on the boundary rounding decides
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unstable kernels are the point
                kernel = kernel_from_coefficients(r, beta, 0.0, h, tau)
            predicted = beta**2 <= 2 * r <= 1.0
            disagreements += int(is_von_neumann_stable(kernel) != predicted)
            checked += 1
    return Outcome(float(disagreements), 0.0, f"{checked} (r, beta) points")


@_claim(
    "stack-equals-fourier",
    3,
    "a torch stack of ResidualConv1d layers equals the layer's Fourier multiplier^L",
)
def _stack_equals_fourier(device: torch.device) -> Outcome:
    from .blocks import ResidualConv1d, Stack
    from .pde import discrete_periodic_solution, kernel_from_coefficients

    D, b, c, h, tau, depth = 0.3, 0.7, -0.2, 0.1, 0.01, 60
    layer = ResidualConv1d.from_coefficients(D, b, c, h, tau, device=device)
    u0 = np.random.default_rng(5).normal(size=(3, 64))
    with torch.no_grad():
        out = Stack(layer, depth)(torch.as_tensor(u0, device=device)).cpu().numpy()
    kernel = kernel_from_coefficients(D, b, c, h, tau)
    ref = discrete_periodic_solution(kernel, u0, depth)
    return Outcome(float(np.max(np.abs(out - ref))), 1e-12, f"depth {depth}, N = 64")


@_claim(
    "deep-stack-converges",
    3,
    "deep ResidualConv1d stacks converge to the exact PDE solution at order 2 in h, "
    "D tau/h^2 fixed (error: |measured order - 2|)",
)
def _deep_stack_converges(device: torch.device) -> Outcome:
    from .blocks import ResidualConv1d, Stack
    from .pde import exact_periodic_solution

    D, b, c, T, r = 0.1, 0.5, -0.2, 0.5, 0.25
    hs, errors = [], []
    for n in (64, 128, 256):
        h = 2 * math.pi / n
        depth = math.ceil(T * D / (r * h**2))
        tau = T / depth
        x = np.arange(n) * h
        u0 = np.exp(np.sin(x))
        layer = ResidualConv1d.from_coefficients(D, b, c, h, tau, device=device)
        with torch.no_grad():
            out = Stack(layer, depth)(torch.as_tensor(u0, device=device)).cpu().numpy()
        exact = exact_periodic_solution(u0, h, T, D, b, c)
        errors.append(float(np.max(np.abs(out - exact))))
        hs.append(h)
    order = _slope(hs, errors)
    return Outcome(
        abs(order - 2.0),
        0.1,
        f"measured order {order:.3f}; errors {', '.join(f'{e:.1e}' for e in errors)}",
    )


# --------------------------------------------------------------------------
# Chapter 4
# --------------------------------------------------------------------------


@_claim(
    "heat-kernel-pde", 4, "the heat kernel solves u_t = D u_xx + b u_x + c u (sympy)"
)
def _heat_kernel_pde(device: torch.device) -> Outcome:
    from .symbolic import heat_kernel_pde_residual

    return _sympy_zero(heat_kernel_pde_residual())


@_claim(
    "chapman-kolmogorov-sympy",
    4,
    "int K(x,z,t1) K(z,y,t2) dz = K(x,y,t1+t2) with drift and reaction (sympy)",
)
def _chapman_kolmogorov_sympy(device: torch.device) -> Outcome:
    from .symbolic import chapman_kolmogorov

    return _sympy_zero(chapman_kolmogorov())


@_claim(
    "chapman-kolmogorov-quadrature",
    4,
    "Chapman-Kolmogorov holds numerically (trapezoid quadrature in torch)",
)
def _chapman_kolmogorov_quadrature(device: torch.device) -> Outcome:
    from .propagators import heat_kernel

    D, b, c, t1, t2 = 0.4, 0.6, -0.3, 0.3, 0.5
    z = torch.linspace(-12.0, 12.0, 6001, dtype=torch.float64, device=device)
    x = torch.tensor([-0.5, 0.0, 0.7], dtype=torch.float64, device=device)
    y = torch.linspace(-2.0, 3.0, 41, dtype=torch.float64, device=device)
    left = heat_kernel(x[:, None], z[None, :], t1, D, b, c)  # (3, Z)
    right = heat_kernel(z[:, None], y[None, :], t2, D, b, c)  # (Z, 41)
    weights = torch.full_like(z, float(z[1] - z[0]))
    weights[0] *= 0.5
    weights[-1] *= 0.5
    composed = (left * weights) @ right
    direct = heat_kernel(x[:, None], y[None, :], t1 + t2, D, b, c)
    err = float((composed - direct).abs().max())
    # The trapezoid rule is spectrally accurate for Gaussians on a wide grid.
    return Outcome(err, 1e-12, "6001 nodes on [-12, 12]")


@_claim(
    "straight-path-action-sympy",
    4,
    "the straight path's action is the exact propagator's exponent (sympy)",
)
def _straight_path_action_sympy(device: torch.device) -> Outcome:
    from .symbolic import straight_path_action, straight_path_first_variation

    return _sympy_zero(straight_path_action(), straight_path_first_variation())


@_claim(
    "straight-path-action-numeric",
    4,
    "the discrete action of the straight path equals classical_action; bent paths "
    "cost more",
)
def _straight_path_action_numeric(device: torch.device) -> Outcome:
    from .paths import classical_path
    from .propagators import classical_action, discrete_action

    D, b, c, x, y, t = 0.3, -0.4, 0.2, 0.2, 1.1, 0.8
    times, pts = classical_path(x, y, t, 65)
    tau = t / 64
    pts_t = torch.as_tensor(pts, device=device)
    s_straight = float(discrete_action(pts_t, tau, D, b, c))
    s_exact = float(classical_action(x, y, t, D, b, c))
    bumps = np.sin(np.pi * np.outer(np.arange(1, 6), times / t)) * 0.05
    s_bent = discrete_action(torch.as_tensor(pts + bumps, device=device), tau, D, b, c)
    bent_larger = bool((s_bent > s_straight).all())
    err = abs(s_straight - s_exact)
    return Outcome(
        err,
        1e-12,
        f"5 bent paths all larger: {bent_larger}",
        passed=err <= 1e-12 and bent_larger,
    )


@_claim(
    "feynman-kac",
    4,
    "the Feynman-Kac Monte Carlo estimate is within 4 standard errors of the exact "
    "solution (error in standard errors)",
)
def _feynman_kac(device: torch.device) -> Outcome:
    from .propagators import feynman_kac_estimate

    D, b, c, T = 0.3, 0.5, -0.2, 1.0
    xs = np.linspace(-1.5, 1.5, 7)
    est, se = feynman_kac_estimate(
        torch.cos, xs, T, D, b, c, n_paths=200_000, seed=11, device=device
    )
    exact = math.exp((c - D) * T) * np.cos(xs + b * T)
    z = float(np.max(np.abs(est - exact) / se))
    return Outcome(z, 4.0, f"max |estimate - exact| / standard error over {xs.size} x")


@_claim(
    "midpoint-divergence-term",
    4,
    "time-sliced midpoint propagators converge to the OU density only with the "
    "b'/2 divergence term",
)
def _midpoint_divergence_term(device: torch.device) -> Outcome:
    from .propagators import ou_transition_density, time_sliced_density

    theta, D, T, x0 = 1.5, 0.5, 1.0, 1.0
    def drift(v: np.ndarray) -> np.ndarray:
        return -theta * v

    def slope(v: np.ndarray) -> np.ndarray:
        return -theta * np.ones_like(v)

    grid = np.linspace(-4.0, 4.0, 401)
    exact = ou_transition_density(x0, grid, T, D, theta)
    errs = {}
    for n in (20, 40):
        for div in (True, False):
            p = time_sliced_density(
                x0, grid, T, n, D, drift, rule="midpoint",
                drift_derivative=slope, divergence=div,
            )
            errs[(n, div)] = float(np.max(np.abs(p - exact)) / exact.max())
    ratio = errs[(20, True)] / errs[(40, True)]
    without = errs[(40, False)]
    ok = errs[(40, True)] <= 0.01 and 1.8 <= ratio <= 2.2 and without > 0.3
    return Outcome(
        errs[(40, True)],
        0.01,
        f"with term: error halves (ratio {ratio:.2f}); without: {without:.2f}",
        passed=ok,
    )


# --------------------------------------------------------------------------
# Chapter 5
# --------------------------------------------------------------------------


@_claim(
    "lattice-to-heat-kernel",
    5,
    "the lattice path sum P_L[m]/h tends to the heat kernel at order 1 in tau "
    "(D tau/h^2 fixed)",
)
def _lattice_to_heat_kernel(device: torch.device) -> Outcome:
    from .paths import layer_weights, path_sum
    from .pde import kernel_from_coefficients
    from .propagators import heat_kernel

    D, b, c, T, r = 0.5, 0.8, -0.3, 1.0, 0.25
    depths = np.array([200, 400, 800, 1600])
    errors = []
    for depth in depths:
        tau = T / depth
        h = math.sqrt(D * tau / r)
        p = path_sum(layer_weights(kernel_from_coefficients(D, b, c, h, tau)), depth)
        k = heat_kernel(0.0, np.arange(-depth, depth + 1) * h, T, D, b, c)
        errors.append(float(np.max(np.abs(p / h - k)) / k.max()))
    order = _slope(T / depths, errors)
    ok = errors[-1] <= 1e-3 and abs(order - 1.0) <= 0.1
    return Outcome(
        errors[-1],
        1e-3,
        f"relative max error at L = 1600; measured order {order:.3f}",
        passed=ok,
    )


@_claim(
    "path-counts",
    5,
    "path counts add up to 3^L and match enumeration (error: mismatches)",
)
def _path_counts(device: torch.device) -> Outcome:
    from .paths import enumerate_paths, path_counts

    bad = 0
    for depth in range(0, 9):
        steps, _ = enumerate_paths([1.0, 1.0, 1.0], depth)
        hist = np.bincount(steps.sum(axis=1, dtype=np.int64) + depth,
                           minlength=2 * depth + 1)
        bad += int(list(hist) != list(path_counts(depth)))
    for depth in (50, 200):
        bad += int(sum(path_counts(depth)) != 3**depth)
    return Outcome(float(bad), 0.0, "enumeration up to depth 8; sums to depth 200")


@_claim(
    "enumeration-equals-path-sum",
    5,
    "summing enumerated path weights by end point gives path_sum (any signs)",
)
def _enumeration_equals_path_sum(device: torch.device) -> Outcome:
    from .paths import enumerate_paths, lattice_action, path_sum

    rng = np.random.default_rng(6)
    worst = 0.0
    for _ in range(5):
        w = rng.normal(size=3)
        depth = 8
        steps, weights = enumerate_paths(w, depth)
        by_end = np.bincount(steps.sum(axis=1, dtype=np.int64) + depth,
                             weights=weights, minlength=2 * depth + 1)
        scale = float(np.abs(w).sum() ** depth)
        worst = max(worst, float(np.max(np.abs(by_end - path_sum(w, depth)))) / scale)
        again = np.exp(-lattice_action(steps, w))
        worst = max(worst, float(np.max(np.abs(again - weights))) / scale)
    return Outcome(
        worst, 1e-14, "5 random weight triples, depth 8; also exp(-S) = weight"
    )


@_claim(
    "path-sum-equals-network",
    5,
    "the output of L residual layers is the sum over paths (torch stack on device)",
)
def _path_sum_equals_network(device: torch.device) -> Outcome:
    from .blocks import ResidualConv1d, Stack
    from .paths import layer_weights, network_output_from_paths

    rng = np.random.default_rng(7)
    worst = 0.0
    for kernel, depth, n in (
        (np.array([0.2, -0.5, 0.25]), 40, 97),
        (np.array([0.3, -0.1, -0.2]), 25, 32),  # negative weight: complex action
        (rng.normal(scale=0.3, size=3), 60, 50),  # paths wrap around the grid
    ):
        u0 = rng.normal(size=(2, n))
        layer = ResidualConv1d(kernel, device=device)
        with torch.no_grad():
            out = Stack(layer, depth)(torch.as_tensor(u0, device=device)).cpu().numpy()
        paths_out = network_output_from_paths(layer_weights(kernel), u0, depth)
        scale = float(np.abs(layer_weights(kernel)).sum() ** depth)
        worst = max(worst, float(np.max(np.abs(out - paths_out))) / scale)
    return Outcome(worst, 1e-13, "3 kernels (one with a negative weight)")


@_claim(
    "lattice-monte-carlo",
    5,
    "sampling paths with probabilities w/sum(w) estimates path_sum within 4 "
    "standard errors (error in standard errors)",
)
def _lattice_monte_carlo(device: torch.device) -> Outcome:
    from .paths import path_sum, sample_lattice_paths

    w, depth = [0.3, 0.45, 0.35], 30
    sample = sample_lattice_paths(
        w, depth, 400_000, seed=3, device=device, keep_steps=False
    )
    est, se = sample.path_sum_estimate()
    exact = path_sum(w, depth)
    total = float(np.sum(w) ** depth)
    # Compare where at least 100 paths are expected, so the normal
    # approximation behind "4 standard errors" holds.
    mask = exact / total * sample.n_paths >= 100
    z = float(np.max(np.abs(est[mask] - exact[mask]) / se[mask]))
    return Outcome(z, 4.0, f"{int(mask.sum())} end points compared")


@_claim(
    "sign-problem",
    5,
    "with a negative weight the path weights cancel: sum |weights| = (sum |w|)^L "
    "while the path sum totals (sum w)^L",
)
def _sign_problem(device: torch.device) -> Outcome:
    from .paths import enumerate_paths, path_sum

    w, depth = np.array([-0.1, 0.9, 0.3]), 10
    _, weights = enumerate_paths(w, depth)
    err = max(
        abs(float(np.abs(weights).sum()) - float(np.abs(w).sum() ** depth)),
        abs(float(path_sum(w, depth).sum()) - float(w.sum() ** depth)),
    )
    ratio = float(w.sum() / np.abs(w).sum()) ** depth
    return Outcome(err, 1e-12, f"average sign (sum w / sum |w|)^L = {ratio:.3f}")


# --------------------------------------------------------------------------
# Chapter 6 (shared derivation)
# --------------------------------------------------------------------------


@_claim(
    "random-block-moment",
    6,
    "E||prod (I + A_i) v||^2 = (1 + sigma^2)^L ||v||^2 and E||prod A_i v||^2 = "
    "sigma^(2L) ||v||^2 (sympy, L = 3, n = 2)",
)
def _random_block_moment(device: torch.device) -> Outcome:
    from .symbolic import random_block_second_moment

    e_res, f_res = random_block_second_moment(3, 2)
    e_plain, f_plain = random_block_second_moment(3, 2, residual=False)
    return _sympy_zero(e_res - f_res, e_plain - f_plain)
