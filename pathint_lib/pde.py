r"""Residual kernels as explicit PDE steps: coefficients, stability, references.

A linear residual layer :math:`u \leftarrow u + q * u` with a 3-tap kernel is
one explicit (forward Euler) step of length :math:`\tau` of the
convection-diffusion-reaction equation

.. math::

    u_t = D\, u_{xx} + b\, u_x + c\, u

on a grid with step :math:`h`, with

.. math::

    q = \tau\Big(\tfrac{D}{h^2}[1, -2, 1] + \tfrac{b}{2h}[-1, 0, 1]
        + c\,[0, 1, 0]\Big),
    \qquad c = \frac{m_0}{\tau},\; b = \frac{h\, m_1}{\tau},\;
    D = \frac{h^2 m_2}{\tau},

where :math:`m_i = \sum_k q[k] k^i / i!` are the kernel's moments
(:func:`pathint_lib.stencils.moment_matrix`). With :math:`b > 0` content moves
toward :math:`-x`. In 2-D (axis 0 = ``x``, axis 1 = ``y``) a 3x3 kernel is a
step of :math:`u_t = D_{xx} u_{xx} + 2 D_{xy} u_{xy} + D_{yy} u_{yy}
+ b \cdot \nabla u + c\, u`.

The module also gives the von Neumann amplification factor of the layer, the
stability and positivity (maximum principle) tests with their closed forms in
the mesh ratios :math:`r = D\tau/h^2`, :math:`\beta = b\tau/h`,
:math:`\gamma = c\tau`, and two independent references computed by FFT: the
exact solution of the PDE and the exact output of a deep stack of layers.
See LeVeque (2007) and Strikwerda (2004) for the classical theory.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import Any

import numpy as np

from ._validate import as_float_array, as_real, non_negative_int, positive
from .stencils import _kernel, _moments_exact, _rounding_scale, moment_matrix, offsets

__all__ = [
    "HigherMomentWarning",
    "PDECoefficients",
    "PDECoefficients2D",
    "StabilityWarning",
    "amplification",
    "coefficients_from_kernel",
    "coefficients_from_kernel_2d",
    "discrete_periodic_solution",
    "exact_periodic_solution",
    "exact_periodic_solution_2d",
    "ftcs_stability_closed_form",
    "is_positive",
    "is_von_neumann_stable",
    "kernel_from_coefficients",
    "kernel_from_coefficients_2d",
    "layer_weights",
    "max_amplification",
    "mesh_ratios",
    "positivity_region",
    "stability_region",
]


class StabilityWarning(UserWarning):
    """A requested step is not von Neumann stable: some mode grows."""


class HigherMomentWarning(UserWarning):
    """A kernel has moments beyond second order that (D, b, c) cannot describe."""


# ----------------------------------------------------------------------------
# coefficients
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PDECoefficients:
    r"""Coefficients of :math:`u_t = D u_{xx} + b u_x + c u` (1-D).

    Attributes
    ----------
    D : float
        Diffusion coefficient (units length²/time).
    b : float
        Drift (units length/time); ``b > 0`` moves content toward ``-x``.
    c : float
        Reaction (growth) rate (units 1/time).
    """

    D: float
    b: float
    c: float


@dataclasses.dataclass(frozen=True)
class PDECoefficients2D:
    r"""Coefficients of the 2-D convection-diffusion-reaction equation.

    .. math::

        u_t = D_{xx} u_{xx} + 2 D_{xy} u_{xy} + D_{yy} u_{yy}
              + b_x u_x + b_y u_y + c\, u
            = \nabla\cdot(\mathbf D \nabla u) + \mathbf b\cdot\nabla u + c u,

    with the symmetric diffusion tensor
    :math:`\mathbf D = \begin{pmatrix} D_{xx} & D_{xy}\\ D_{xy} & D_{yy}
    \end{pmatrix}` (constant), ``x`` = array axis 0, ``y`` = axis 1.

    Attributes
    ----------
    D_xx, D_xy, D_yy : float
        Entries of the diffusion tensor.
    b_x, b_y : float
        Drift components.
    c : float
        Reaction rate.
    """

    D_xx: float
    D_xy: float
    D_yy: float
    b_x: float
    b_y: float
    c: float

    @property
    def D(self) -> np.ndarray:
        """The diffusion tensor as a symmetric 2x2 array."""
        return np.array([[self.D_xx, self.D_xy], [self.D_xy, self.D_yy]])

    @property
    def b(self) -> np.ndarray:
        """The drift as a 2-vector ``(b_x, b_y)``."""
        return np.array([self.b_x, self.b_y])


def _warn_higher_moments(q: np.ndarray, tol: float = 1e-12) -> None:
    """Warn when moments of total degree >= 3 inside the kernel's matrix are nonzero."""
    sizes = tuple(int(n) for n in q.shape)
    m = _moments_exact(q, sizes)
    scale = np.maximum(1.0, _rounding_scale(q, sizes))
    if q.ndim == 1:
        degree = np.arange(sizes[0])
    else:
        degree = np.add.outer(np.arange(sizes[0]), np.arange(sizes[1]))
    high = (degree >= 3) & (np.abs(m) > tol * scale)
    if high.any():
        listed = ", ".join(
            f"m{[int(i) for i in idx]} = {m[tuple(idx)]:.3g}"
            for idx in np.argwhere(high)[:6]
        )
        warnings.warn(
            "kernel has nonzero moments beyond second order "
            f"({listed}); (D, b, c) describe only moments 0..2, so "
            "kernel_from_coefficients will not give this kernel back",
            HigherMomentWarning,
            stacklevel=3,
        )


def coefficients_from_kernel(kernel: Any, h: float, tau: float) -> PDECoefficients:
    r"""The PDE coefficients of the residual layer :math:`u \leftarrow u + q * u`.

    .. math::

        c = \frac{m_0}{\tau}, \qquad b = \frac{h\, m_1}{\tau}, \qquad
        D = \frac{h^2\, m_2}{\tau}, \qquad m_i = \sum_k q[k] \frac{k^i}{i!}.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D kernel of odd length (3 taps: the exact inverse of
        :func:`kernel_from_coefficients`).
    h : float
        Grid step, > 0.
    tau : float
        Time step of one layer, > 0.

    Returns
    -------
    PDECoefficients
        Fields ``D``, ``b``, ``c``. ``D`` may come out negative for an
        arbitrary kernel (anti-diffusion: such a layer is unstable).

    Raises
    ------
    ValueError
        For a kernel that is not 1-D of odd length or not finite, or
        ``h, tau`` not > 0.

    Warns
    -----
    HigherMomentWarning
        For a kernel longer than 3 taps whose moments :math:`m_3, \dots,
        m_{n-1}` are not all zero: the layer then also applies third and higher
        derivatives (scaled by :math:`h^i/\tau`), which (D, b, c) do not
        describe. The coefficients returned are still those of moments 0..2.
    """
    q = _kernel(kernel)
    if q.ndim != 1:
        raise ValueError(
            f"kernel must be 1-dimensional (use coefficients_from_kernel_2d for 2-D), "
            f"got shape {tuple(q.shape)}"
        )
    h = positive(h, "h")
    tau = positive(tau, "tau")
    m = moment_matrix(q, 3)
    if q.shape[0] > 3:
        _warn_higher_moments(q)
    return PDECoefficients(
        D=float(h**2 * m[2] / tau), b=float(h * m[1] / tau), c=float(m[0] / tau)
    )


def coefficients_from_kernel_2d(kernel: Any, h: float, tau: float) -> PDECoefficients2D:
    r"""The 2-D PDE coefficients of a residual layer with a 2-D kernel.

    From the 2-D moment matrix
    :math:`m[i,j] = \sum q[k_1,k_2] k_1^i k_2^j/(i!\,j!)`:

    .. math::

        c = \frac{m_{00}}{\tau},\quad b_x = \frac{h\, m_{10}}{\tau},\quad
        b_y = \frac{h\, m_{01}}{\tau},\quad
        D_{xx} = \frac{h^2 m_{20}}{\tau},\quad
        D_{yy} = \frac{h^2 m_{02}}{\tau},\quad
        D_{xy} = \frac{h^2 m_{11}}{2\tau}.

    (The factor 2 because the PDE carries :math:`2 D_{xy} u_{xy}`.)

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        2-D kernel of odd shape, typically 3x3; axis 0 is ``x``.
    h : float
        Grid step (both axes), > 0.
    tau : float
        Time step, > 0.

    Returns
    -------
    PDECoefficients2D

    Raises
    ------
    ValueError
        For a kernel that is not 2-D of odd shape or not finite, or ``h, tau``
        not > 0.

    Warns
    -----
    HigherMomentWarning
        When a moment of total degree >= 3 within the kernel's moment matrix
        (for 3x3: :math:`m_{21}, m_{12}, m_{22}`) is nonzero. A 3x3 kernel has
        9 weights but the PDE only 6 coefficients; the other 3 moments are
        higher derivatives that vanish as :math:`h \to 0` with
        :math:`\tau \propto h^2`, but they change the discrete layer.

    Notes
    -----
    Each coefficient is exact up to rounding relative to the whole kernel: a
    diffusion tensor far smaller than :math:`|b| h` and :math:`|c| h^2` comes
    back with a relative error that can make it indefinite at rounding level,
    and :func:`kernel_from_coefficients_2d` then rejects it.
    """
    q = _kernel(kernel)
    if q.ndim != 2:
        raise ValueError(
            f"kernel must be 2-dimensional (use coefficients_from_kernel for 1-D), "
            f"got shape {tuple(q.shape)}"
        )
    h = positive(h, "h")
    tau = positive(tau, "tau")
    m = moment_matrix(q, (3, 3))
    _warn_higher_moments(q)
    return PDECoefficients2D(
        D_xx=float(h**2 * m[2, 0] / tau),
        D_xy=float(h**2 * m[1, 1] / (2 * tau)),
        D_yy=float(h**2 * m[0, 2] / tau),
        b_x=float(h * m[1, 0] / tau),
        b_y=float(h * m[0, 1] / tau),
        c=float(m[0, 0] / tau),
    )


def mesh_ratios(
    D: float, b: float, c: float, h: float, tau: float
) -> tuple[float, float, float]:
    r"""The dimensionless mesh ratios :math:`(r, \beta, \gamma)`.

    .. math::

        r = \frac{D\tau}{h^2}, \qquad \beta = \frac{b\tau}{h},
        \qquad \gamma = c\tau,

    so that the 3-tap kernel is :math:`(r - \beta/2,\; -2r + \gamma,\;
    r + \beta/2)`.

    Raises
    ------
    ValueError
        If ``h`` or ``tau`` is not > 0, or a value is not finite.
    """
    D = as_real(D, "D")
    b = as_real(b, "b")
    c = as_real(c, "c")
    h = positive(h, "h")
    tau = positive(tau, "tau")
    return D * tau / h**2, b * tau / h, c * tau


def kernel_from_coefficients(
    D: float, b: float, c: float, h: float, tau: float
) -> np.ndarray:
    r"""The 3-tap residual kernel of one explicit step of the 1-D PDE.

    The PDE is :math:`u_t = D u_{xx} + b u_x + c u`; the kernel is

    .. math::

        q = \tau\Big(\frac{D}{h^2}[1, -2, 1] + \frac{b}{2h}[-1, 0, 1]
            + c\,[0, 1, 0]\Big)
          = \big(r - \tfrac{\beta}{2},\; -2r + \gamma,\; r + \tfrac{\beta}{2}\big).

    Central differences for both derivatives (FTCS). The exact inverse of
    :func:`coefficients_from_kernel`.

    Parameters
    ----------
    D : float
        Diffusion, >= 0.
    b, c : float
        Drift and reaction, finite.
    h, tau : float
        Grid step and time step, > 0.

    Returns
    -------
    numpy.ndarray
        The kernel, shape ``(3,)``, offsets ``-1, 0, +1``.

    Raises
    ------
    ValueError
        If ``D < 0`` (backward diffusion is ill-posed), ``h`` or ``tau`` is not
        > 0, or a value is not finite.

    Warns
    -----
    StabilityWarning
        If the layer is not von Neumann stable (:func:`is_von_neumann_stable`);
        for ``c = 0`` that is unless :math:`\beta^2 \le 2r \le 1`.
    """
    r, beta, gamma = mesh_ratios(D, b, c, h, tau)
    if D < 0:
        raise ValueError(f"D must be >= 0 (backward diffusion is ill-posed), got {D}")
    q = np.array([r - beta / 2, -2 * r + gamma, r + beta / 2])
    if not is_von_neumann_stable(q):
        warnings.warn(
            f"the step is not von Neumann stable (r = D tau/h^2 = {r:.4g}, "
            f"beta = b tau/h = {beta:.4g}, gamma = c tau = {gamma:.4g}; "
            f"max |G| = {max_amplification(q):.6g}); reduce tau",
            StabilityWarning,
            stacklevel=2,
        )
    return q


def _as_tensor_2x2(D: Any) -> np.ndarray:
    arr = as_float_array(D, "D")
    if arr.ndim == 0:
        return float(arr) * np.eye(2)
    if arr.shape != (2, 2):
        raise ValueError(
            f"D must be a scalar or a symmetric 2x2 array, got shape {arr.shape}"
        )
    if arr[0, 1] != arr[1, 0]:
        raise ValueError(f"D must be symmetric, got {arr.tolist()}")
    return arr


def _as_vector_2(b: Any) -> np.ndarray:
    arr = as_float_array(b, "b")
    if arr.shape != (2,):
        raise ValueError(f"b must be a 2-vector (b_x, b_y), got shape {arr.shape}")
    return arr


def _check_psd(D: np.ndarray) -> None:
    # A relative slack of 1e-12 admits tensors that are semi-definite up to
    # rounding (such as one recovered from a kernel's moments).
    slack = 1e-12 * float(np.abs(D).max())
    if (
        D[0, 0] < -slack
        or D[1, 1] < -slack
        or D[0, 0] * D[1, 1] < D[0, 1] ** 2 - slack * float(np.abs(D).max())
    ):
        raise ValueError(
            "D must be positive semi-definite (D_xx >= 0, D_yy >= 0, "
            "D_xx D_yy >= D_xy^2, up to a relative 1e-12; otherwise the PDE is "
            f"ill-posed), got {D.tolist()}"
        )


def kernel_from_coefficients_2d(
    D: Any, b: Any, c: float, h: float, tau: float
) -> np.ndarray:
    r"""The 3x3 residual kernel of one explicit step of the 2-D equation.

    .. math::

        q = \tau\Big(\frac{D_{xx}}{h^2}\delta_{xx} + \frac{2D_{xy}}{h^2}
            \delta_{xy} + \frac{D_{yy}}{h^2}\delta_{yy}
            + \frac{b_x}{2h}\delta_x + \frac{b_y}{2h}\delta_y + c\,\delta_0\Big),

    with the central stencils of
    :data:`pathint_lib.stencils.STANDARD_STENCILS` (``dxx_central_2d``,
    ``dxy_central_2d``, ``dyy_central_2d``, ``dx_central_2d``,
    ``dy_central_2d``) and :math:`\delta_0` the identity. Its moments of total
    degree 3 and 4 (:math:`m_{21}, m_{12}, m_{22}`) are zero, so it is the
    exact inverse of :func:`coefficients_from_kernel_2d` on such kernels.

    Parameters
    ----------
    D : float or array_like
        Scalar (isotropic :math:`D\,\mathbf I`) or symmetric positive
        semi-definite 2x2 diffusion tensor.
    b : array_like
        Drift ``(b_x, b_y)``.
    c : float
        Reaction rate.
    h, tau : float
        Grid step (both axes) and time step, > 0.

    Returns
    -------
    numpy.ndarray
        The 3x3 kernel; axis 0 is ``x``.

    Raises
    ------
    ValueError
        If ``D`` is not symmetric positive semi-definite, ``b`` is not a
        2-vector, ``h`` or ``tau`` is not > 0, or a value is not finite.

    Warns
    -----
    StabilityWarning
        If the layer is not von Neumann stable (checked with
        :func:`max_amplification`).
    """
    D = _as_tensor_2x2(D)
    _check_psd(D)
    b = _as_vector_2(b)
    c = as_real(c, "c")
    h = positive(h, "h")
    tau = positive(tau, "tau")
    q = np.zeros((3, 3))
    q[:, 1] += tau * D[0, 0] / h**2 * np.array([1.0, -2.0, 1.0])
    q[1, :] += tau * D[1, 1] / h**2 * np.array([1.0, -2.0, 1.0])
    q += 2 * tau * D[0, 1] / h**2 * np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]]) / 4
    q[:, 1] += tau * b[0] / (2 * h) * np.array([-1.0, 0.0, 1.0])
    q[1, :] += tau * b[1] / (2 * h) * np.array([-1.0, 0.0, 1.0])
    q[1, 1] += tau * c
    if not is_von_neumann_stable(q):
        warnings.warn(
            "the 2-D step is not von Neumann stable "
            f"(max |G| = {max_amplification(q):.6g}); reduce tau",
            StabilityWarning,
            stacklevel=2,
        )
    return q


# ----------------------------------------------------------------------------
# the layer, its amplification factor, stability and positivity
# ----------------------------------------------------------------------------


def layer_weights(kernel: Any) -> np.ndarray:
    r"""Weights of the residual layer :math:`u \leftarrow u + q * u`: identity + kernel.

    In 1-D with 3 taps :math:`w = (q[-1],\; 1 + q[0],\; q[+1])`; in general
    the kernel with 1 added at the centre (1-D or 2-D).

    Raises
    ------
    ValueError
        For a kernel that is not 1-D/2-D of odd size or not finite.
    """
    w = _kernel(kernel).copy()
    w[tuple((n - 1) // 2 for n in w.shape)] += 1.0
    return w


def amplification(kernel: Any, theta: Any) -> np.ndarray:
    r"""Amplification factor :math:`G(\theta)` of the layer :math:`u + q*u`.

    .. math::

        G(\theta) = 1 + \sum_k q[k]\, e^{i k \theta}, \qquad
        G(\theta_x, \theta_y) = 1 + \sum_{k_1,k_2} q[k_1,k_2]\,
        e^{i(k_1\theta_x + k_2\theta_y)}.

    Convention: one layer maps the Fourier mode :math:`u_j = e^{i j\theta}`
    to :math:`G(\theta)\, e^{i j\theta}` (cross-correlation, offsets
    :math:`k`); the grid wave number is :math:`\theta = \kappa h`. For a real
    kernel :math:`G(-\theta) = \overline{G(\theta)}`.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size.
    theta : array_like or tuple of array_like
        1-D kernel: angles (any shape). 2-D kernel: a pair
        ``(theta_x, theta_y)`` of arrays that broadcast together.

    Returns
    -------
    numpy.ndarray
        complex128 values of :math:`G`, of the (broadcast) shape of ``theta``.

    Raises
    ------
    ValueError
        For a bad kernel, non-finite angles, or a ``theta`` that is not a pair
        for a 2-D kernel.
    """
    w = layer_weights(kernel)
    if w.ndim == 1:
        t = as_float_array(theta, "theta")
        k = offsets(w.shape[0])
        return np.tensordot(np.exp(1j * np.multiply.outer(t, k)), w, axes=([-1], [0]))
    try:
        tx, ty = theta
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "theta must be a pair (theta_x, theta_y) for a 2-D kernel"
        ) from exc
    tx = as_float_array(tx, "theta_x")
    ty = as_float_array(ty, "theta_y")
    tx, ty = np.broadcast_arrays(tx, ty)
    out = np.zeros(tx.shape, dtype=np.complex128)
    for (i, j), weight in np.ndenumerate(w):
        if weight != 0.0:
            k1 = i - (w.shape[0] - 1) // 2
            k2 = j - (w.shape[1] - 1) // 2
            out += weight * np.exp(1j * (k1 * tx + k2 * ty))
    return out


@functools.lru_cache(maxsize=32)
def _guard_modes(n: int) -> np.ndarray:
    """Fourier modes on a modest grid of [0, pi] (holding 0 and pi) for n taps."""
    theta = np.linspace(0.0, np.pi, 16 * n + 1)
    modes = np.exp(1j * np.multiply.outer(theta, offsets(n)))
    modes.setflags(write=False)
    return modes


@functools.lru_cache(maxsize=32)
def _chebyshev_to_power(n: int) -> np.ndarray:
    """Row m holds the power-basis coefficients of the Chebyshev polynomial T_m."""
    table = np.zeros((n, n))
    for m in range(n):
        coef = np.polynomial.chebyshev.cheb2poly(np.eye(n)[m])
        table[m, : coef.size] = coef
    table.setflags(write=False)
    return table


def _max_abs_g_1d(w: np.ndarray) -> float:
    """Max of |G| for real 1-D weights; |G| scales with w, so work at unit size."""
    scale = float(np.abs(w).max())
    if scale == 0.0:
        return 0.0
    return scale * _max_abs_g_1d_unit(w / scale)


def _max_abs_g_1d_unit(w: np.ndarray) -> float:
    r"""Max of :math:`|G|` over :math:`\theta` for real 1-D layer weights.

    :math:`|G(\theta)|^2 = a_0 + 2\sum_{m \ge 1} a_m \cos(m\theta)` with the
    autocorrelation :math:`a_m = \sum_j w_j w_{j+m}`, a polynomial in
    :math:`C = \cos\theta` (:math:`\cos m\theta = T_m(C)`). Its maximum on
    :math:`[-1, 1]` is at an end point or a real root of the derivative.
    """
    n = w.shape[0]
    k = offsets(n)
    # Candidates: the end points and a modest guard grid (against a lost
    # root), then the critical points; |G| is evaluated directly at each.
    best = float(np.abs(_guard_modes(n) @ w).max())
    if n == 1:
        return best
    a = np.correlate(w, w, mode="full")[n - 1 :]
    power = np.concatenate([[a[0]], 2 * a[1:]]) @ _chebyshev_to_power(n)
    deriv = power[1:] * np.arange(1, n)
    # Dropping relatively negligible top coefficients keeps the root finder
    # well scaled.
    top = 1e-14 * float(np.abs(power).max())
    while deriv.size and abs(deriv[-1]) <= top:
        deriv = deriv[:-1]
    if deriv.size == 2:
        roots = np.array([-deriv[0] / deriv[1]])
    elif deriv.size > 2:
        roots = np.roots(deriv[::-1])
        roots = roots[np.abs(roots.imag) <= 1e-6].real
    else:
        return best
    theta = np.arccos(np.clip(roots, -1.0, 1.0))
    values = np.abs(np.exp(1j * np.multiply.outer(theta, k)) @ w)
    return max(best, float(values.max(initial=0.0)))


def _max_abs_g_2d(w: np.ndarray, resolution: int) -> float:
    """Max of |G| over the torus: a dense grid, then Newton steps on |G|^2."""
    k1 = offsets(w.shape[0]).astype(float)
    k2 = offsets(w.shape[1]).astype(float)
    radius = max(1, (max(w.shape) - 1) // 2)
    n = max(16, resolution * radius)
    n += n % 2  # even, so the grid holds -pi and 0 in both directions
    theta = 2 * np.pi * np.arange(n) / n - np.pi
    # G on the grid by separable sums: G = E1 W E2^T.
    e1 = np.exp(1j * np.multiply.outer(theta, k1))
    e2 = np.exp(1j * np.multiply.outer(theta, k2))
    g2 = np.abs(e1 @ w @ e2.T) ** 2
    best = float(g2.max())

    # Refine the largest few local maxima of the grid (periodic neighbours).
    is_peak = np.ones(g2.shape, dtype=bool)
    for shift in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1),
                  (-1, -1)):
        is_peak &= g2 >= np.roll(g2, shift, axis=(0, 1))
    peaks = np.flatnonzero(is_peak)
    peaks = peaks[np.argsort(g2.ravel()[peaks])[-4:]]
    step = 2 * np.pi / n
    kx, ky = np.meshgrid(k1, k2, indexing="ij")
    kx, ky, wf = kx.ravel(), ky.ravel(), w.ravel()
    kk = np.stack([kx, ky])  # (2, taps)

    def derivatives(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        terms = wf * np.exp(1j * (kx * t[0] + ky * t[1]))
        g = terms.sum()
        dg = 1j * (kk @ terms)
        d2g = -(kk * terms) @ kk.T
        grad = 2 * np.real(np.conj(g) * dg)
        hess = 2 * np.real(np.outer(np.conj(dg), dg) + np.conj(g) * d2g)
        return float(abs(g) ** 2), grad, hess

    for index in peaks:
        i, j = np.unravel_index(index, g2.shape)
        t = np.array([theta[i], theta[j]])
        f, grad, hess = derivatives(t)
        for _ in range(30):
            # Newton steps along the directions of negative curvature only: a
            # direction where |G|^2 is flat (e.g. a kernel that acts along one
            # axis) has zero gradient there too.
            lam, vec = np.linalg.eigh(hess)
            down = lam < -1e-10 * max(1.0, float(np.abs(lam).max()))
            if not down.any():
                break
            v = vec[:, down]
            delta = v @ (-(v.T @ grad) / lam[down])
            if not np.all(np.isfinite(delta)) or np.linalg.norm(delta) > 2 * step:
                break
            f_new, grad_new, hess_new = derivatives(t + delta)
            if f_new < f:
                break
            t, f, grad, hess = t + delta, f_new, grad_new, hess_new
            if np.linalg.norm(delta) < 1e-15:
                break
        best = max(best, f)
    return math.sqrt(best)


def max_amplification(kernel: Any, *, resolution: int = 128) -> float:
    r"""Largest :math:`|G(\theta)|` over all wave numbers :math:`\theta`.

    The growth factor per layer of the fastest-growing Fourier mode of
    :math:`u \leftarrow u + q * u` (1-D or 2-D).

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size.
    resolution : int, optional
        2-D only: grid points per axis (times the kernel's radius) of the
        search grid before refinement.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a bad kernel or ``resolution < 1``.

    Notes
    -----
    *1-D: exact up to rounding.* For a real kernel :math:`|G|^2` is a
    polynomial in :math:`\cos\theta`; its maximum is found among the end
    points :math:`\theta = 0, \pi` and the real roots of its derivative, and
    :math:`|G|` is evaluated there directly (and, as a guard, on a modest
    grid).

    *2-D: a dense grid, refined.* :math:`|G|^2` is evaluated on a uniform
    grid of the torus that includes :math:`0` and :math:`\pi` in both
    directions (so the four corner modes exactly); the four largest local
    maxima of the grid are refined with Newton steps on :math:`|G|^2`. The value
    returned is :math:`|G|` at a point, so it never exceeds the true maximum;
    at a non-degenerate maximum the refinement brings it to rounding level,
    and directions in which :math:`|G|` is flat (a kernel acting along one
    axis) are handled. Without refinement the grid alone is within a relative
    :math:`(R\Delta)^2` of the true maximum of :math:`|G|` (Bernstein's
    inequality; ``R`` the kernel radius, :math:`\Delta` the grid spacing),
    about :math:`2.4\times 10^{-3}` at the default resolution.
    """
    w = layer_weights(kernel)
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int)
        or resolution < 1
    ):
        raise ValueError(f"resolution must be an integer >= 1, got {resolution!r}")
    if w.ndim == 1:
        return _max_abs_g_1d(w)
    return _max_abs_g_2d(w, resolution)


def is_von_neumann_stable(kernel: Any, tol: float = 1e-12) -> bool:
    r"""Whether no Fourier mode grows faster than the constant mode (or 1).

    .. math::

        \max_\theta |G(\theta)| \le \max\big(1, |G(0)|\big) + \text{tol},
        \qquad G(0) = 1 + m_0 = 1 + c\tau.

    The allowance :math:`|G(0)| = |1 + c\tau|` admits the growth the PDE
    itself has when :math:`c > 0`; a stable layer amplifies no oscillation
    beyond it.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size.
    tol : float, optional
        Absolute slack for rounding, >= 0.

    Raises
    ------
    ValueError
        For a bad kernel or a negative ``tol``.
    """
    tol = as_real(tol, "tol")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    w = layer_weights(kernel)
    g0 = abs(float(w.sum()))
    return bool(max_amplification(kernel) <= max(1.0, g0) + tol)


def is_positive(kernel: Any, tol: float = 0.0) -> bool:
    r"""Whether every layer weight is non-negative (a discrete maximum principle).

    With :math:`w \ge 0` the new value is a non-negative combination of old
    ones: for the 3-tap FTCS kernel that is :math:`r \ge |\beta|/2` and
    :math:`1 - 2r + \gamma \ge 0`. Positive weights sum to :math:`1 + c\tau`,
    so :math:`\max|G| = G(0)` and the layer is also stable; the converse fails.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size.
    tol : float, optional
        Weights down to ``-tol`` count as non-negative (default 0: exact).

    Raises
    ------
    ValueError
        For a bad kernel or a negative ``tol``.
    """
    tol = as_real(tol, "tol")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    return bool(np.all(layer_weights(kernel) >= -tol))


# ----------------------------------------------------------------------------
# regions in the (r, beta) plane, for plotting
# ----------------------------------------------------------------------------


def _ratios(r: Any, beta: Any, gamma: Any) -> tuple[np.ndarray, ...]:
    r = as_float_array(r, "r")
    beta = as_float_array(beta, "beta")
    gamma = as_float_array(gamma, "gamma")
    return np.broadcast_arrays(r, beta, gamma)


def stability_region(
    r: Any, beta: Any, gamma: Any = 0.0, tol: float = 1e-12
) -> np.ndarray:
    r"""Von Neumann stability of the 3-tap FTCS layer on a grid of mesh ratios.

    For the kernel :math:`(r - \beta/2,\, -2r + \gamma,\, r + \beta/2)`, with
    :math:`C = \cos\theta` the layer's
    :math:`|G|^2 = (1 - 2r + \gamma + 2rC)^2 + \beta^2(1 - C^2)` is a quadratic in
    :math:`C`; its maximum over :math:`[-1, 1]` (end points, and the vertex
    when it is a maximum inside) is computed exactly and compared with
    :math:`\max(1, |1 + \gamma|)` as in :func:`is_von_neumann_stable`.

    Parameters
    ----------
    r, beta, gamma : array_like
        :math:`D\tau/h^2`, :math:`b\tau/h`, :math:`c\tau`; broadcast together.
    tol : float, optional
        Absolute slack on :math:`|G|`.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the layer is stable; the broadcast shape.

    Raises
    ------
    ValueError
        For non-finite input or a negative ``tol``.
    """
    tol = as_real(tol, "tol")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    r, beta, gamma = _ratios(r, beta, gamma)
    w1 = 1.0 - 2.0 * r + gamma
    s = 2.0 * r  # w(-1) + w(+1)
    d = beta  # w(+1) - w(-1)
    # |G|^2 = A C^2 + B C + E on C in [-1, 1].
    A = s**2 - d**2
    B = 2.0 * w1 * s
    E = w1**2 + d**2
    best = np.maximum((w1 + s) ** 2, (w1 - s) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -B / (2.0 * A)
        inside = (A < 0) & (np.abs(vertex) < 1.0)
        peak = np.where(inside, E - B**2 / (4.0 * np.where(A < 0, A, -1.0)), 0.0)
    best = np.maximum(best, peak)
    bound = np.maximum(1.0, np.abs(1.0 + gamma)) + tol
    return np.sqrt(best) <= bound


def ftcs_stability_closed_form(r: Any, beta: Any) -> np.ndarray:
    r"""Closed-form stability of FTCS for :math:`c = 0`: :math:`\beta^2 \le 2r \le 1`.

    With :math:`s = 1 - \cos\theta`, :math:`|G|^2 - 1 = s(2\beta^2 - 4r)
    + s^2(4r^2 - \beta^2)`, which is :math:`\le 0` on :math:`s \in [0, 2]`
    exactly when :math:`\beta^2 \le 2r` (small :math:`s`) and
    :math:`r \le 1/2` (:math:`s = 2`). With :math:`\beta = 0` this is the
    classical :math:`D\tau/h^2 \le 1/2`.

    Parameters
    ----------
    r, beta : array_like
        :math:`D\tau/h^2` and :math:`b\tau/h`; broadcast together.

    Returns
    -------
    numpy.ndarray of bool
    """
    r, beta, _ = _ratios(r, beta, 0.0)
    return (beta**2 <= 2.0 * r) & (2.0 * r <= 1.0)


def positivity_region(r: Any, beta: Any, gamma: Any = 0.0) -> np.ndarray:
    r"""Where all FTCS layer weights are non-negative.

    .. math::

        r \ge \frac{|\beta|}{2} \quad\text{and}\quad 1 - 2r + \gamma \ge 0,

    i.e. :math:`D\tau/h^2 \ge |b|\tau/(2h)` (the cell Péclet number
    :math:`|b|h/(2D) \le 1`) and :math:`1 - 2D\tau/h^2 + c\tau \ge 0`.

    Parameters
    ----------
    r, beta, gamma : array_like
        :math:`D\tau/h^2`, :math:`b\tau/h`, :math:`c\tau`; broadcast together.

    Returns
    -------
    numpy.ndarray of bool
    """
    r, beta, gamma = _ratios(r, beta, gamma)
    return (r - beta / 2 >= 0) & (r + beta / 2 >= 0) & (1.0 - 2.0 * r + gamma >= 0)


# ----------------------------------------------------------------------------
# references: the exact PDE solution and the exact output of a deep stack
# ----------------------------------------------------------------------------


def _grid_function(u0: Any, ndim: int) -> np.ndarray:
    u = as_float_array(u0, "u0")
    if u.ndim < ndim or any(n < 1 for n in u.shape[-ndim:]):
        raise ValueError(
            f"u0 must have at least {ndim} non-empty axis/axes (the periodic grid), "
            f"got shape {tuple(u.shape)}"
        )
    return u


def exact_periodic_solution(
    u0: Any, h: float, t: float, D: float, b: float = 0.0, c: float = 0.0
) -> np.ndarray:
    r"""Exact solution of :math:`u_t = D u_{xx} + b u_x + c u` on a periodic grid.

    Each Fourier mode :math:`e^{i\kappa x}` of the initial values is
    multiplied by

    .. math::

        \exp\big((-D\kappa^2 + i b\kappa + c)\, t\big),

    so that for :math:`D = c = 0`, :math:`u(x, t) = u_0(x + bt)`: with
    :math:`b > 0` content moves toward :math:`-x`.

    Parameters
    ----------
    u0 : array_like or torch.Tensor
        Initial values at :math:`x_j = j h`, :math:`j = 0..N-1` (last axis;
        leading axes are a batch). The domain has length :math:`N h`.
    h : float
        Grid step, > 0.
    t : float
        Time, >= 0.
    D : float
        Diffusion, >= 0.
    b, c : float, optional
        Drift and reaction.

    Returns
    -------
    numpy.ndarray
        float64 values at time ``t``, same shape as ``u0``.

    Raises
    ------
    ValueError
        For ``h <= 0``, ``t < 0``, ``D < 0``, or non-finite input.

    Notes
    -----
    This is the exact solution for the trigonometric interpolant of ``u0``
    (wave numbers :math:`\kappa = 2\pi m/(Nh)`, :math:`|m| \le N/2`); for a
    smooth periodic ``u0`` that is the exact solution to spectral accuracy.
    For even ``N`` the Nyquist mode is kept as :math:`\cos(\pi x/h)` (the
    real part), which is the real solution of the PDE for that mode.
    """
    u = _grid_function(u0, 1)
    h = positive(h, "h")
    t = as_real(t, "t")
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    D = as_real(D, "D")
    if D < 0:
        raise ValueError(f"D must be >= 0 (backward diffusion is ill-posed), got {D}")
    b = as_real(b, "b")
    c = as_real(c, "c")
    kappa = 2 * np.pi * np.fft.fftfreq(u.shape[-1], d=h)
    factor = np.exp((-D * kappa**2 + 1j * b * kappa + c) * t)
    return np.real(np.fft.ifft(np.fft.fft(u, axis=-1) * factor, axis=-1))


def exact_periodic_solution_2d(
    u0: Any, h: float, t: float, D: Any, b: Any = (0.0, 0.0), c: float = 0.0
) -> np.ndarray:
    r"""Exact solution of the 2-D constant-coefficient equation on a periodic grid.

    The mode :math:`e^{i(\kappa_x x + \kappa_y y)}` is multiplied by

    .. math::

        \exp\Big(\big(-(D_{xx}\kappa_x^2 + 2 D_{xy}\kappa_x\kappa_y
        + D_{yy}\kappa_y^2) + i(b_x\kappa_x + b_y\kappa_y) + c\big)\, t\Big).

    Parameters
    ----------
    u0 : array_like or torch.Tensor
        Initial values on the grid :math:`(j_1 h, j_2 h)` (last two axes;
        axis -2 is ``x``).
    h : float
        Grid step (both axes), > 0.
    t : float
        Time, >= 0.
    D : float or array_like
        Scalar or symmetric positive semi-definite 2x2 diffusion tensor.
    b : array_like, optional
        Drift ``(b_x, b_y)``.
    c : float, optional
        Reaction rate.

    Returns
    -------
    numpy.ndarray
        float64 values at time ``t``.

    Raises
    ------
    ValueError
        For ``h <= 0``, ``t < 0``, ``D`` not symmetric positive semi-definite,
        ``b`` not a 2-vector, or non-finite input.

    Notes
    -----
    As in 1-D, exact for the trigonometric interpolant of ``u0``; Nyquist
    modes are kept through the real part.
    """
    u = _grid_function(u0, 2)
    h = positive(h, "h")
    t = as_real(t, "t")
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    D = _as_tensor_2x2(D)
    _check_psd(D)
    b = _as_vector_2(b)
    c = as_real(c, "c")
    kx = 2 * np.pi * np.fft.fftfreq(u.shape[-2], d=h)[:, None]
    ky = 2 * np.pi * np.fft.fftfreq(u.shape[-1], d=h)[None, :]
    symbol = -(D[0, 0] * kx**2 + 2 * D[0, 1] * kx * ky + D[1, 1] * ky**2)
    symbol = symbol + 1j * (b[0] * kx + b[1] * ky) + c
    spectrum = np.fft.fft2(u, axes=(-2, -1)) * np.exp(symbol * t)
    return np.real(np.fft.ifft2(spectrum, axes=(-2, -1)))


def discrete_periodic_solution(kernel: Any, u0: Any, depth: int) -> np.ndarray:
    r"""Exact output of ``depth`` linear residual layers on a periodic grid, by FFT.

    Each layer :math:`u \leftarrow u + q * u` multiplies the discrete Fourier
    mode :math:`\theta_m = 2\pi m/N` by :math:`G(\theta_m)`
    (:func:`amplification`), so after :math:`L` layers

    .. math::

        \hat u_m \mapsto G(\theta_m)^L\, \hat u_m .

    An independent reference for a stack of layers applied in torch. A 1-D
    kernel acts on the last axis of ``u0``, a 2-D kernel on the last two.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        1-D or 2-D kernel of odd size (it may be longer than the grid: offsets
        wrap around, as in the layer).
    u0 : array_like or torch.Tensor
        Input values on the periodic grid.
    depth : int
        Number of layers :math:`L \ge 0`.

    Returns
    -------
    numpy.ndarray
        float64 output, same shape as ``u0``.

    Raises
    ------
    ValueError
        For a bad kernel, ``depth < 0``, or ``u0`` with too few axes.

    Warns
    -----
    StabilityWarning
        If some :math:`|G(\theta_m)|^L` overflows float64.
    """
    q = _kernel(kernel)
    u = _grid_function(u0, q.ndim)
    depth = non_negative_int(depth, "depth")
    if q.ndim == 1:
        theta = 2 * np.pi * np.fft.fftfreq(u.shape[-1])
        g = amplification(q, theta)
        with np.errstate(over="ignore", invalid="ignore"):
            factor = g**depth
            _warn_overflow(factor)
            return np.real(np.fft.ifft(np.fft.fft(u, axis=-1) * factor, axis=-1))
    tx = 2 * np.pi * np.fft.fftfreq(u.shape[-2])[:, None]
    ty = 2 * np.pi * np.fft.fftfreq(u.shape[-1])[None, :]
    g = amplification(q, (tx, ty))
    with np.errstate(over="ignore", invalid="ignore"):
        factor = g**depth
        _warn_overflow(factor)
        spectrum = np.fft.fft2(u, axes=(-2, -1)) * factor
        return np.real(np.fft.ifft2(spectrum, axes=(-2, -1)))


def _warn_overflow(factor: np.ndarray) -> None:
    if not np.all(np.isfinite(factor)):
        warnings.warn(
            "G(theta)^depth overflows float64 for some mode: the stack is "
            "unstable at this depth and the output is not finite",
            StabilityWarning,
            stacklevel=3,
        )
