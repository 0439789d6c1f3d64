r"""Continuum propagators, actions and Feynman–Kac estimates.

The PDE :math:`u_t = D u_{xx} + b u_x + c u` is solved by

.. math:: u(x, t) = \int K(x, y, t)\, u_0(y)\, dy, \qquad
          K(x, y, t) = \frac{e^{c t}}{\sqrt{4\pi D t}}
          \exp\!\left(-\frac{(y - x - b t)^2}{4 D t}\right),

where :math:`K(x, \cdot, t)` is the density of :math:`X_t` for
:math:`dX = b\,dt + \sqrt{2D}\,dW`, :math:`X_0 = x`, times :math:`e^{ct}`
(Feynman–Kac: :math:`u(x, T) = E[e^{cT} u_0(X_T)]`; Kac 1949, Øksendal 2003).
The path runs from the point ``x`` where the solution is wanted into the
initial data. The exponent is minus the action of the straight path,
:math:`S = \int_0^t [(\dot x - b)^2/(4D) - c]\,ds`, evaluated on
:math:`x(s) = x + (y - x)s/t` (:func:`classical_action`).

For a space-dependent drift :math:`b(x)` the module holds the short-time
propagators of the time-sliced path integral in the pre-point (Itô) and the
midpoint (Stratonovich) discretisation, the latter with the divergence term
of the Onsager–Machlup action (Onsager and Machlup 1953, Graham 1977), and the
exact Ornstein–Uhlenbeck density as a reference.

Array inputs (lists, numpy arrays, torch tensors) broadcast. If ``x`` or
``y`` (or ``points``) is a torch tensor the result is a float64 torch tensor on
its device; otherwise it is a numpy array (or a numpy scalar).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from ._validate import (
    as_float_array,
    as_real,
    non_negative_int,
    positive,
    positive_int,
    sample_budget,
)

__all__ = [
    "FeynmanKacEstimate",
    "classical_action",
    "continuum_action",
    "discrete_action",
    "feynman_kac_estimate",
    "heat_kernel",
    "ou_transition_density",
    "propagator_prefactor",
    "short_time_propagator",
    "time_sliced_density",
]


# --------------------------------------------------------------------------
# Input handling: keep torch tensors on their device, everything else numpy
# --------------------------------------------------------------------------


def _torch_device(*values: Any) -> torch.device | None:
    for v in values:
        if isinstance(v, torch.Tensor):
            return v.device
    return None


def _as_array(value: Any, name: str, device: torch.device | None) -> Any:
    if device is None:
        return as_float_array(value, name)
    if isinstance(value, torch.Tensor):
        tensor = value.to(device=device, dtype=_float64(device))
    else:
        tensor = torch.as_tensor(
            as_float_array(value, name), dtype=_float64(device), device=device
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must contain only finite values")
    return tensor


def _float64(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _positive_array(value: Any, name: str, device: torch.device | None) -> Any:
    arr = _as_array(value, name, device)
    bad = (arr <= 0).any()
    if bool(bad):
        flat = arr.reshape(-1)
        first = flat[(flat <= 0)][0]
        raise ValueError(f"{name} must be > 0, got {float(first)}")
    return arr


def _lib(device: torch.device | None) -> Any:
    return np if device is None else torch


# --------------------------------------------------------------------------
# Constant coefficients: exact kernel and the straight path
# --------------------------------------------------------------------------


def propagator_prefactor(t: Any, D: float) -> Any:
    r"""The normalisation :math:`1/\sqrt{4 \pi D t}` of the Gaussian propagator.

    Raises
    ------
    ValueError
        If ``t <= 0`` or ``D <= 0``.
    """
    dev = _torch_device(t)
    t = _positive_array(t, "t", dev)
    D = positive(D, "D")
    return 1.0 / _lib(dev).sqrt(4.0 * math.pi * D * t)


def classical_action(
    x: Any, y: Any, t: Any, D: float, b: float = 0.0, c: float = 0.0
) -> Any:
    r"""Action of the straight path from ``x`` to ``y`` in time ``t``.

    .. math:: S_{\mathrm{cl}} = \int_0^t \left[\frac{(\dot x - b)^2}{4D} - c
              \right] ds \Big|_{x(s) = x + (y-x)s/t}
              = \frac{(y - x - b t)^2}{4 D t} - c t .

    The exact propagator is
    :math:`K = \exp(-S_{\mathrm{cl}}) / \sqrt{4\pi D t}` (:func:`heat_kernel`).

    Raises
    ------
    ValueError
        If ``t <= 0``, ``D <= 0`` or an input is not finite.
    """
    dev = _torch_device(x, y, t)
    x = _as_array(x, "x", dev)
    y = _as_array(y, "y", dev)
    t = _positive_array(t, "t", dev)
    D = positive(D, "D")
    b = as_real(b, "b")
    c = as_real(c, "c")
    return (y - x - b * t) ** 2 / (4.0 * D * t) - c * t


def heat_kernel(
    x: Any, y: Any, t: Any, D: float, b: float = 0.0, c: float = 0.0
) -> Any:
    r"""Propagator of :math:`u_t = D u_{xx} + b u_x + c u`.

    .. math:: K(x, y, t) = \frac{e^{c t}}{\sqrt{4 \pi D t}}
              \exp\!\left(-\frac{(y - x - b t)^2}{4 D t}\right),

    the density of :math:`X_t = y` for :math:`dX = b\,dt + \sqrt{2D}\,dW`,
    :math:`X_0 = x`, times :math:`e^{ct}`. Then
    :math:`u(x, t) = \int K(x, y, t)\, u_0(y)\, dy` solves the PDE with
    :math:`u(\cdot, 0) = u_0` (derivatives in ``x``; with ``b > 0`` content
    moves toward ``-x``). Checked symbolically in
    :func:`pathint_lib.symbolic.heat_kernel_pde_residual`.

    Parameters
    ----------
    x, y : array_like or float
        Start (where the solution is wanted) and end (in the initial data).
    t : array_like or float
        Time, > 0.
    D : float
        Diffusion coefficient, > 0.
    b, c : float, optional
        Drift and reaction rate.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Broadcast over ``x``, ``y`` and ``t``.

    Raises
    ------
    ValueError
        If ``t <= 0``, ``D <= 0`` or an input is not finite.
    """
    dev = _torch_device(x, y, t)
    s = classical_action(x, y, t, D, b, c)
    return propagator_prefactor(t, D) * _lib(dev).exp(-s)


def discrete_action(
    points: Any, tau: float, D: float, b: float = 0.0, c: float = 0.0
) -> Any:
    r"""Discrete action of paths :math:`x_0, \dots, x_L` with time step ``tau``.

    .. math:: S = \sum_{n=0}^{L-1}\left[\frac{(x_{n+1} - x_n - b\tau)^2}
              {4 D \tau} - c\tau\right],

    so that :math:`\prod_n K(x_n, x_{n+1}, \tau) = (4\pi D\tau)^{-L/2} e^{-S}`.

    Parameters
    ----------
    points : array_like
        Shape ``(..., L + 1)``.
        One path per row (last axis: the points in time order).
    tau : float
        Time step, > 0.
    D : float
        Diffusion coefficient, > 0.
    b, c : float, optional

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(...)``: one action per path.

    Raises
    ------
    ValueError
        If ``tau <= 0``, ``D <= 0`` or the points are empty or not finite.
    """
    dev = _torch_device(points)
    x = _as_array(points, "points", dev)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(
            f"points must have at least one point on the last axis, got shape "
            f"{tuple(x.shape)}"
        )
    tau = positive(tau, "tau")
    D = positive(D, "D")
    b = as_real(b, "b")
    c = as_real(c, "c")
    dx = x[..., 1:] - x[..., :-1]
    return ((dx - b * tau) ** 2 / (4.0 * D * tau) - c * tau).sum(-1)


def continuum_action(
    path: Any,
    T: float,
    D: float,
    b: float = 0.0,
    c: float = 0.0,
    *,
    drift: Callable[[np.ndarray], np.ndarray] | None = None,
    drift_derivative: Callable[[np.ndarray], np.ndarray] | None = None,
    n_steps: int = 1000,
) -> Any:
    r"""Continuum action :math:`\int_0^T [(\dot x - b)^2/(4D) - c]\,dt` of a path.

    Evaluated as a Riemann sum on a uniform grid of ``n`` intervals,
    :math:`\sum_n [((x_{n+1}-x_n)/\Delta t - b(\bar x_n))^2/(4D) - c]\,\Delta t`
    with the drift at the midpoint :math:`\bar x_n = (x_n + x_{n+1})/2`. For a
    smooth path the error is :math:`O(\Delta t^2)`; for a Brownian-like sampled
    path the kinetic term grows like :math:`1/\Delta t` (the action of a
    typical diffusion path is infinite: only differences and the
    discretised measure make sense). With a constant drift and no
    ``drift_derivative`` this equals :func:`discrete_action` with
    ``tau = T / n``.

    Parameters
    ----------
    path : callable or array_like
        Either a function of time (vectorised, numpy in and out), evaluated at
        ``n_steps + 1`` uniform times in ``[0, T]``, or samples of shape
        ``(..., n + 1)`` at uniform times ``0, T/n, ..., T``.
    T : float
        Duration, > 0.
    D : float
        Diffusion coefficient, > 0.
    b, c : float, optional
        Constant drift (ignored if ``drift`` is given) and reaction rate.
    drift : callable, optional
        Space-dependent drift :math:`b(x)`.
    drift_derivative : callable, optional
        :math:`b'(x)`; if given, the Onsager–Machlup term
        :math:`\frac12\int b'(x)\,dt` of the midpoint discretisation is added.
    n_steps : int, optional
        Grid intervals when ``path`` is a function (default 1000).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(...)``: one action per path.

    Raises
    ------
    ValueError
        If ``T <= 0``, ``D <= 0``, or the samples have fewer than 2 points.
    """
    T = positive(T, "T")
    D = positive(D, "D")
    b = as_real(b, "b")
    c = as_real(c, "c")
    if callable(path):
        n_steps = positive_int(n_steps, "n_steps")
        times = np.linspace(0.0, T, n_steps + 1)
        x = as_float_array(path(times), "path(t)")
        if x.shape[-1] != n_steps + 1:
            raise ValueError(
                f"path(t) must return one value per time on the last axis, got shape "
                f"{x.shape} for {n_steps + 1} times"
            )
        dev = None
    else:
        dev = _torch_device(path)
        x = _as_array(path, "path", dev)
    if x.ndim < 1 or x.shape[-1] < 2:
        raise ValueError(
            f"path must have at least 2 samples on the last axis, got shape "
            f"{tuple(x.shape)}"
        )
    n = x.shape[-1] - 1
    dt = T / n
    velocity = (x[..., 1:] - x[..., :-1]) / dt
    mid = 0.5 * (x[..., 1:] + x[..., :-1])
    lib = _lib(dev)
    if drift is not None:
        b_mid = lib.asarray(drift(mid)) if dev is None else torch.as_tensor(
            drift(mid), dtype=x.dtype, device=x.device
        )
    else:
        b_mid = b
    integrand = (velocity - b_mid) ** 2 / (4.0 * D) - c
    if drift_derivative is not None:
        div = drift_derivative(mid)
        if dev is not None:
            div = torch.as_tensor(div, dtype=x.dtype, device=x.device)
        integrand = integrand + 0.5 * div
    return integrand.sum(-1) * dt


# --------------------------------------------------------------------------
# Space-dependent drift: short-time propagators and a reference
# --------------------------------------------------------------------------


def short_time_propagator(
    x: Any,
    y: Any,
    tau: float,
    D: float,
    drift: Callable[[np.ndarray], np.ndarray],
    *,
    rule: str = "prepoint",
    drift_derivative: Callable[[np.ndarray], np.ndarray] | None = None,
    divergence: bool = True,
) -> np.ndarray:
    r"""Short-time propagator of :math:`dX = b(X)\,dt + \sqrt{2D}\,dW`.

    Pre-point (Itô) rule, the one-step density of the Euler–Maruyama scheme:

    .. math:: K_\tau(x, y) = \frac{1}{\sqrt{4\pi D\tau}}
              \exp\!\left(-\frac{(y - x - b(x)\tau)^2}{4 D \tau}\right).

    Midpoint (Stratonovich) rule, with :math:`\bar x = (x + y)/2`:

    .. math:: K_\tau(x, y) = \frac{1}{\sqrt{4\pi D\tau}}
              \exp\!\left(-\frac{(y - x - b(\bar x)\tau)^2}{4 D \tau}
              - \frac{\tau}{2} b'(\bar x)\right),

    the time slice of the Onsager–Machlup action
    :math:`S = \int [(\dot x - b(x))^2/(4D) + b'(x)/2]\,dt` (Onsager and Machlup
    1953; Graham 1977). The divergence term :math:`\frac{\tau}{2}b'(\bar x)`
    compensates the bias of evaluating the drift at the midpoint; without it
    (``divergence=False``) the time-sliced product converges to the wrong
    density (off by :math:`e^{-\frac12\int b'\,dt}` along the path).

    Parameters
    ----------
    x, y : array_like
        Start and end points (broadcast).
    tau : float
        Time step, > 0.
    D : float
        Diffusion coefficient, > 0.
    drift : callable
        :math:`b(x)`, vectorised over numpy arrays.
    rule : str, optional
        ``"prepoint"`` (default) or ``"midpoint"``.
    drift_derivative : callable, optional
        :math:`b'(x)`; required by the midpoint rule with ``divergence=True``.
    divergence : bool, optional
        Include the divergence term in the midpoint rule (default True).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        On an unknown rule, ``tau <= 0``, ``D <= 0``, or a missing
        ``drift_derivative``.
    """
    x = as_float_array(x, "x")
    y = as_float_array(y, "y")
    tau = positive(tau, "tau")
    D = positive(D, "D")
    if rule == "prepoint":
        s = (y - x - np.asarray(drift(x)) * tau) ** 2 / (4.0 * D * tau)
    elif rule == "midpoint":
        mid = 0.5 * (x + y)
        s = (y - x - np.asarray(drift(mid)) * tau) ** 2 / (4.0 * D * tau)
        if divergence:
            if drift_derivative is None:
                raise ValueError(
                    "the midpoint rule needs drift_derivative (b'(x)) for its "
                    "divergence term; pass divergence=False to leave it out"
                )
            s = s + 0.5 * tau * np.asarray(drift_derivative(mid))
    else:
        raise ValueError(f"rule must be 'prepoint' or 'midpoint', got {rule!r}")
    return np.exp(-s) / math.sqrt(4.0 * math.pi * D * tau)


def ou_transition_density(x: Any, y: Any, t: Any, D: float, theta: float) -> Any:
    r"""Exact transition density of the Ornstein–Uhlenbeck process.

    For :math:`dX = -\theta X\,dt + \sqrt{2D}\,dW`, :math:`X_0 = x`, the law of
    :math:`X_t` is Gaussian with mean :math:`x e^{-\theta t}` and variance
    :math:`D (1 - e^{-2\theta t})/\theta` (:math:`2Dt` in the limit
    :math:`\theta \to 0`; Risken 1989).

    Raises
    ------
    ValueError
        If ``t <= 0``, ``D <= 0`` or an input is not finite.
    """
    dev = _torch_device(x, y, t)
    x = _as_array(x, "x", dev)
    y = _as_array(y, "y", dev)
    t = _positive_array(t, "t", dev)
    D = positive(D, "D")
    theta = as_real(theta, "theta")
    lib = _lib(dev)
    if theta == 0.0:
        var = 2.0 * D * t
    else:
        var = D * (-lib.expm1(-2.0 * theta * t)) / theta
    mean = x * lib.exp(-theta * t)
    return lib.exp(-((y - mean) ** 2) / (2.0 * var)) / lib.sqrt(2.0 * math.pi * var)


def time_sliced_density(
    x0: float,
    grid: Any,
    T: float,
    n_slices: int,
    D: float,
    drift: Callable[[np.ndarray], np.ndarray],
    *,
    rule: str = "prepoint",
    drift_derivative: Callable[[np.ndarray], np.ndarray] | None = None,
    divergence: bool = True,
) -> np.ndarray:
    r"""Density of :math:`X_T` from the time-sliced path integral on a grid.

    .. math:: p(y) = \int \prod_{n=0}^{N-1} K_\tau(z_n, z_{n+1})
              \,dz_1 \cdots dz_{N-1}, \quad z_0 = x_0,\ z_N = y,\
              \tau = T/N,

    with :func:`short_time_propagator` and each intermediate integral done by
    the rectangle rule on the uniform ``grid`` (which must cover the mass).

    Parameters
    ----------
    x0 : float
        Start point.
    grid : array_like
        Shape ``(M,)``.
        Uniform, increasing grid of end points (and quadrature nodes).
    T : float
        Final time, > 0.
    n_slices : int
        ``N >= 1``.
    D, drift, rule, drift_derivative, divergence
        As in :func:`short_time_propagator`.

    Returns
    -------
    numpy.ndarray
        The density at the grid points, shape ``(M,)``.

    Raises
    ------
    ValueError
        If the grid is not uniform and increasing, or on bad parameters.
    """
    x0 = as_real(x0, "x0")
    z = as_float_array(grid, "grid", ndim=1)
    if z.size < 2:
        raise ValueError(f"grid must have at least 2 points, got {z.size}")
    dz = np.diff(z)
    if np.any(dz <= 0) or np.ptp(dz) > 1e-9 * abs(dz[0]):
        raise ValueError("grid must be uniform and increasing")
    h = float(dz.mean())
    T = positive(T, "T")
    n_slices = positive_int(n_slices, "n_slices")
    tau = T / n_slices
    kwargs = dict(rule=rule, drift_derivative=drift_derivative, divergence=divergence)
    p = short_time_propagator(x0, z, tau, D, drift, **kwargs)
    if n_slices > 1:
        k = short_time_propagator(z[:, None], z[None, :], tau, D, drift, **kwargs)
        for _ in range(n_slices - 1):
            p = (p * h) @ k
    return p


# --------------------------------------------------------------------------
# Feynman-Kac Monte Carlo
# --------------------------------------------------------------------------


class FeynmanKacEstimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (unpacks as a pair)."""

    estimate: Any
    standard_error: Any


def feynman_kac_estimate(
    u0: Callable[[torch.Tensor], torch.Tensor],
    x: Any,
    T: float,
    D: float,
    b: float = 0.0,
    c: float = 0.0,
    *,
    n_paths: int = 100_000,
    seed: int | None = 0,
    device: Any = None,
    drift: Callable[[torch.Tensor], torch.Tensor] | None = None,
    n_steps: int = 100,
) -> FeynmanKacEstimate:
    r"""Monte Carlo estimate of :math:`u(x, T) = E[e^{cT} u_0(X_T)]`.

    :math:`X` solves :math:`dX = b\,dt + \sqrt{2D}\,dW`, :math:`X_0 = x`. With a
    constant drift the end point is sampled exactly,
    :math:`X_T = x + bT + \sqrt{2DT}\,\xi`; with a drift function ``drift``
    the paths are integrated by Euler–Maruyama with ``n_steps`` steps (weak
    error :math:`O(T/n)`, on top of the statistical error).

    Parameters
    ----------
    u0 : callable
        Initial data, applied elementwise to a float64 torch tensor of end
        points (use torch functions; numpy results are converted).
    x : float or array_like
        A scalar or shape ``(P,)``.
        Where to estimate ``u``.
    T : float
        Time, > 0.
    D : float
        > 0.
    b, c : float, optional
        Constant drift (ignored if ``drift`` is given) and reaction rate.
    n_paths : int, optional
        Paths per point (default 100,000).
    seed : int or None, optional
        Seed of a fresh torch generator on ``device`` (default 0).
    device : str or torch.device, optional
        Default: :func:`pathint_lib.device.pick_device`.
    drift : callable, optional
        :math:`b(x)`, elementwise on torch tensors.
    n_steps : int, optional
        Euler–Maruyama steps when ``drift`` is given.

    Returns
    -------
    FeynmanKacEstimate
        ``(estimate, standard_error)``: floats for a scalar ``x``, numpy arrays
        of shape (P,) otherwise. The standard error is
        :math:`e^{cT}\,\mathrm{sd}(u_0(X_T))/\sqrt{n}`.

    Raises
    ------
    ValueError
        On ``T <= 0``, ``D <= 0``, fewer than 2 paths, more paths than fit in
        memory at once (see ``MAX_SAMPLE_VALUES`` (2**28)), or
        if ``u0`` returns a wrong shape or non-finite values.
    """
    from .device import check_dtype, pick_device

    T = positive(T, "T")
    D = positive(D, "D")
    b = as_real(b, "b")
    c = as_real(c, "c")
    n_paths = positive_int(n_paths, "n_paths")
    if n_paths < 2:
        raise ValueError(f"n_paths must be >= 2 for a standard error, got {n_paths}")
    dev = pick_device(device)
    dtype = check_dtype(dev)
    xs = as_float_array(x, "x")
    if xs.ndim > 1:
        raise ValueError(f"x must be a scalar or 1-dimensional, got shape {xs.shape}")
    scalar = xs.ndim == 0
    sample_budget(
        3 * max(xs.size, 1) * n_paths,
        f"a Feynman-Kac estimate with {n_paths:,} paths at {max(xs.size, 1):,} points",
        "use fewer paths per call (the standard error falls like 1/sqrt(n_paths)) "
        "and average calls with different seeds",
    )
    xt = torch.as_tensor(np.atleast_1d(xs), dtype=dtype, device=dev)
    gen = torch.Generator(device=dev)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(non_negative_int(seed, "seed"))
    shape = (xt.shape[0], n_paths)
    if drift is None:
        xi = torch.randn(shape, generator=gen, dtype=dtype, device=dev)
        end = xt[:, None] + b * T + math.sqrt(2.0 * D * T) * xi
    else:
        n_steps = positive_int(n_steps, "n_steps")
        dt = T / n_steps
        end = xt[:, None].expand(shape).clone()
        noise = torch.empty(shape, dtype=dtype, device=dev)
        for _ in range(n_steps):
            noise.normal_(0.0, math.sqrt(2.0 * D * dt), generator=gen)
            end += torch.as_tensor(drift(end), dtype=dtype, device=dev) * dt + noise
    values = u0(end)
    values = torch.as_tensor(values, dtype=dtype, device=dev)
    if values.shape != end.shape:
        raise ValueError(
            f"u0 must act elementwise: got shape {tuple(values.shape)} for input "
            f"shape {tuple(end.shape)}"
        )
    if not bool(torch.isfinite(values).all()):
        raise ValueError("u0 returned non-finite values")
    growth = math.exp(c * T)
    mean = values.mean(dim=1) * growth
    se = values.std(dim=1) * growth / math.sqrt(n_paths)
    mean_np = mean.cpu().numpy()
    se_np = se.cpu().numpy()
    if scalar:
        return FeynmanKacEstimate(float(mean_np[0]), float(se_np[0]))
    return FeynmanKacEstimate(mean_np, se_np)
