r"""The sympy derivations the chapters share.

Each function derives one identity and returns sympy expressions, never
printed text: either a pair ``(lhs, rhs)`` or a difference that
``sympy.simplify`` reduces to exactly 0 when the identity holds
(check it with :func:`pathint_lib.checks.check_sympy_zero`). Most functions take
an optional *candidate* right-hand side, so a reader (and the tests) can
confirm that a wrong formula does **not** simplify to 0.

The symbols are module constants with the book's notation and assumptions:
``x, y, z, s`` real; ``t, t1, t2, tau, h, D`` positive; ``b, c`` real.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sympy as sp

__all__ = [
    "chapman_kolmogorov",
    "euler_local_error",
    "heat_kernel_expr",
    "heat_kernel_pde_residual",
    "residual_kernel_expr",
    "residual_kernel_moments",
    "random_block_second_moment",
    "stencil_expansion",
    "straight_path_action",
    "straight_path_first_variation",
]

x, y, z, s, d = sp.symbols("x y z s d", real=True)
t, t1, t2, tau, h, D = sp.symbols("t t1 t2 tau h D", positive=True)
b, c = sp.symbols("b c", real=True)
sigma = sp.symbols("sigma", positive=True)


def _tidy(expr: Any) -> Any:
    """Simplify, then cancel inside every exponential (sympy leaves those)."""
    expr = sp.powsimp(sp.simplify(expr), combine="exp")
    expr = expr.replace(
        lambda e: isinstance(e, sp.exp),
        lambda e: sp.exp(sp.factor(sp.cancel(e.args[0]))),
    )
    return sp.simplify(expr)


# --------------------------------------------------------------------------
# Stencils and the residual kernel (chapters 2 and 3)
# --------------------------------------------------------------------------


def stencil_expansion(
    kernel: Sequence[Any],
    order: int | None = None,
    moments: Sequence[Any] | None = None,
) -> tuple[Any, Any]:
    r"""Taylor (moment) expansion of a 1-D stencil applied to a polynomial.

    For a kernel :math:`q` with offsets :math:`k = -r, \dots, r` (PyTorch
    cross-correlation) and a polynomial :math:`u` of degree ``order``,

    .. math:: \sum_k q_k\, u(x + k h) = \sum_{i=0}^{\text{order}}
              m_i\, h^i\, u^{(i)}(x), \qquad m_i = \sum_k q_k \frac{k^i}{i!},

    exactly (the Taylor series of a polynomial ends). The polynomial has
    symbolic coefficients ``a0, a1, ...``, so the identity holds for every
    polynomial of that degree.

    Parameters
    ----------
    kernel : collections.abc.Sequence
        Numbers or sympy expressions, odd length.
        Floats are converted to exact rationals.
    order : int, optional
        Degree of the test polynomial (default ``len(kernel) + 1``).
    moments : collections.abc.Sequence, optional
        Candidate moments ``m_0, ..., m_order`` to use on the right-hand side
        instead of the ones computed here (e.g. those of
        :func:`pathint_lib.stencils.moment_matrix`, or a wrong formula).

    Returns
    -------
    tuple
        ``(lhs, rhs)``, sympy expressions in ``x``, ``h`` and ``a0, a1, ...``.

    Raises
    ------
    ValueError
        If the kernel has even length or fewer moments than ``order + 1`` are
        given.
    """
    q = [sp.nsimplify(v, rational=True) if isinstance(v, float) else sp.sympify(v)
         for v in kernel]
    if len(q) % 2 == 0:
        raise ValueError(f"kernel must have odd length, got {len(q)}")
    r = len(q) // 2
    order = len(q) + 1 if order is None else int(order)
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    a = sp.symbols(f"a0:{order + 1}")
    u = sum(a[j] * x**j for j in range(order + 1))
    lhs = sum(q[i] * u.subs(x, x + (i - r) * h) for i in range(len(q)))
    if moments is None:
        m = [sum(q[i] * sp.Integer(i - r) ** n for i in range(len(q))) / sp.factorial(n)
             for n in range(order + 1)]
    else:
        m = [sp.nsimplify(v, rational=True) if isinstance(v, float) else sp.sympify(v)
             for v in moments]
        if len(m) < order + 1:
            raise ValueError(f"need {order + 1} moments, got {len(m)}")
    rhs = sum(m[n] * h**n * sp.diff(u, x, n) for n in range(order + 1))
    return sp.expand(lhs), sp.expand(rhs)


def residual_kernel_expr() -> list[Any]:
    r"""The residual kernel of one explicit PDE step, as sympy expressions.

    .. math:: k = \tau\left(\frac{D}{h^2}[1, -2, 1] + \frac{b}{2h}[-1, 0, 1]
              + c\,[0, 1, 0]\right).
    """
    return [
        tau * (D / h**2 - b / (2 * h)),
        tau * (-2 * D / h**2 + c),
        tau * (D / h**2 + b / (2 * h)),
    ]


def residual_kernel_moments(kernel: Sequence[Any] | None = None) -> list[Any]:
    r"""Differences between the moments of the residual kernel and ``(c, b, D)``.

    With :math:`m_i = \sum_k k_k\, k^i / i!`: :math:`m_0 = c\tau`,
    :math:`m_1 = b\tau/h`, :math:`m_2 = D\tau/h^2`. Returns
    ``[m0 - c*tau, m1 - b*tau/h, m2 - D*tau/h**2]`` for ``kernel`` (default
    :func:`residual_kernel_expr`); all three simplify to 0 for the right kernel.
    """
    k = residual_kernel_expr() if kernel is None else [sp.sympify(v) for v in kernel]
    if len(k) != 3:
        raise ValueError(f"kernel must have 3 entries, got {len(k)}")
    offsets = (-1, 0, 1)
    m = [sum(kv * sp.Integer(o) ** n for kv, o in zip(k, offsets, strict=True))
         / sp.factorial(n) for n in range(3)]
    diffs = [m[0] - c * tau, m[1] - b * tau / h, m[2] - D * tau / h**2]
    return [sp.simplify(v) for v in diffs]


# --------------------------------------------------------------------------
# The propagator (chapter 4)
# --------------------------------------------------------------------------


def heat_kernel_expr(x_: Any = x, y_: Any = y, t_: Any = t) -> Any:
    r""":math:`K(x,y,t) = e^{ct}(4\pi D t)^{-1/2}\exp(-(y-x-bt)^2/(4Dt))`."""
    return (
        sp.exp(c * t_)
        / sp.sqrt(4 * sp.pi * D * t_)
        * sp.exp(-((y_ - x_ - b * t_) ** 2) / (4 * D * t_))
    )


def heat_kernel_pde_residual(kernel: Any = None) -> Any:
    r"""Residual of the PDE for the heat kernel, divided by the kernel.

    .. math:: \frac{K_t - (D K_{xx} + b K_x + c K)}{K},

    derivatives in the start point ``x``. It simplifies to 0 for
    :func:`heat_kernel_expr`, so :math:`u(x,t) = \int K(x,y,t) u_0(y)\,dy`
    solves :math:`u_t = D u_{xx} + b u_x + c u`.

    Parameters
    ----------
    kernel : sympy.Expr, optional
        In ``x, y, t``.
        A candidate kernel (default: :func:`heat_kernel_expr`).
    """
    k = heat_kernel_expr() if kernel is None else sp.sympify(kernel)
    residual = sp.diff(k, t) - (D * sp.diff(k, x, 2) + b * sp.diff(k, x) + c * k)
    return sp.simplify(residual / k)


@functools.lru_cache(maxsize=1)
def _gaussian_integral() -> tuple[Any, Any, Any]:
    # int exp(-alpha s^2 + beta s) ds over the real line, alpha > 0, done by sympy.
    alpha = sp.Symbol("alpha", positive=True)
    beta = sp.Symbol("beta", real=True)
    value = sp.integrate(
        sp.exp(-alpha * s**2 + beta * s), (s, -sp.oo, sp.oo), conds="none"
    )
    return alpha, beta, sp.simplify(value)


@functools.lru_cache(maxsize=1)
def _chapman_kolmogorov_integral() -> Any:
    # Shift the integration variable, z = x + b t1 + s, and write the end point
    # as y = x + b (t1 + t2) + d; both are bijections of the real line.
    integrand = heat_kernel_expr(x, z, t1) * heat_kernel_expr(z, y, t2)
    integrand = integrand.subs(z, x + b * t1 + s).subs(y, x + b * (t1 + t2) + d)
    integrand = sp.powsimp(sp.expand(integrand), combine="exp")
    # integrand = prefactor * exp(-alpha s^2 + beta s + gamma): read off the
    # coefficients and use the Gaussian integral, derived once for generic ones.
    prefactor, gauss = integrand.as_independent(s)
    if not isinstance(gauss, sp.exp):
        raise RuntimeError(f"unexpected integrand form: {integrand}")
    quad = sp.Poly(sp.expand(gauss.args[0]), s)
    if quad.degree() != 2:
        raise RuntimeError(f"exponent is not quadratic in s: {quad}")
    minus_alpha, beta_, gamma_ = quad.all_coeffs()
    alpha, beta, value = _gaussian_integral()
    return prefactor * sp.exp(gamma_) * value.subs({alpha: -minus_alpha, beta: beta_})


def chapman_kolmogorov(candidate: Any = None) -> Any:
    r"""Chapman–Kolmogorov for the drift–diffusion–reaction kernel.

    .. math:: \int_{-\infty}^{\infty} K(x, z, t_1)\, K(z, y, t_2)\, dz
              = K(x, y, t_1 + t_2).

    After the shift :math:`z = x + b t_1 + s` and with
    :math:`y = x + b(t_1+t_2) + d` the integrand is
    :math:`C\,e^{-\alpha s^2 + \beta s + \gamma}`; sympy reads off
    :math:`\alpha, \beta, \gamma` and integrates
    :math:`\int e^{-\alpha s^2 + \beta s}\,ds` for generic
    :math:`\alpha > 0`, :math:`\beta`. Returns
    ``integral / candidate - 1``, which simplifies to 0 for the right
    candidate. Takes a few seconds (the integral is cached).

    Parameters
    ----------
    candidate : sympy.Expr, optional
        In ``x, y, t1, t2``.
        Right-hand side to test (default :math:`K(x, y, t_1 + t_2)`).
    """
    if candidate is None:
        candidate = heat_kernel_expr(x, y, t1 + t2)
    rhs = sp.sympify(candidate).subs(y, x + b * (t1 + t2) + d)
    return _tidy(_chapman_kolmogorov_integral() / rhs - 1)


def straight_path_action(candidate: Any = None) -> Any:
    r"""The straight path's action equals minus the exponent of the propagator.

    .. math:: \int_0^t \left[\frac{(\dot x_{\mathrm{cl}} - b)^2}{4D} - c\right] ds
              = -\log\left(\sqrt{4\pi D t}\; K(x, y, t)\right),
              \qquad x_{\mathrm{cl}}(s) = x + (y - x)\frac{s}{t}.

    Returns the left side minus the right side (0 when it holds).

    Parameters
    ----------
    candidate : sympy.Expr, optional
        In ``s`` (time).
        A path from ``x`` to ``y`` to use instead of the straight one; any
        other path with the same ends gives a larger action (for ``D > 0``),
        so the difference is then not 0.
    """
    path = x + (y - x) * s / t if candidate is None else sp.sympify(candidate)
    action = sp.integrate((sp.diff(path, s) - b) ** 2 / (4 * D) - c, (s, 0, t))
    exponent = -sp.log(sp.sqrt(4 * sp.pi * D * t) * heat_kernel_expr())
    exponent = sp.expand_log(exponent, force=True)
    return sp.simplify(action - exponent)


def straight_path_first_variation(path: Any = None, degree: int = 2) -> Any:
    r"""First variation of the continuum action at a path, for polynomial bumps.

    For :math:`x_\epsilon(s) = x_{\mathrm{path}}(s) + \epsilon\,\eta(s)` with
    :math:`\eta(s) = s(t - s)\sum_{j<\text{degree}} e_j s^j` (ends fixed),
    returns :math:`\frac{d}{d\epsilon} S[x_\epsilon]\big|_{\epsilon=0}`. It
    vanishes for every such :math:`\eta` exactly when the path is stationary;
    the straight path (default) is.
    """
    path = x + (y - x) * s / t if path is None else sp.sympify(path)
    e = sp.symbols(f"e0:{degree}")
    eps = sp.Symbol("epsilon")
    eta = s * (t - s) * sum(e[j] * s**j for j in range(degree))
    moved = path + eps * eta
    lagrangian = (sp.diff(moved, s) - b) ** 2 / (4 * D) - c
    # d/d(epsilon) under the integral, then integrate the polynomial in s.
    integrand = sp.expand(sp.diff(lagrangian, eps).subs(eps, 0))
    return sp.simplify(sp.integrate(integrand, (s, 0, t)))


# --------------------------------------------------------------------------
# Time stepping (chapter 1)
# --------------------------------------------------------------------------


def euler_local_error(candidate: Any = None) -> Any:
    r"""Leading local error of forward Euler for :math:`\dot u = f(u)`.

    The exact flow over one step is
    :math:`u(t+\tau) = u + \tau f + \frac{\tau^2}{2} f f' + O(\tau^3)`
    (differentiate :math:`\dot u = f(u)` once more: :math:`\ddot u = f'(u) f(u)`),
    the Euler step is :math:`u + \tau f(u)`, so the local error is
    :math:`\frac{\tau^2}{2} f(u) f'(u) + O(\tau^3)` and the global error is
    first order in :math:`\tau`.

    Returns the :math:`\tau^2` coefficient of (exact - Euler) minus the
    candidate (default :math:`f f'/2`), for a generic function ``f``.
    """
    u = sp.Function("u")(t)
    f = sp.Function("f")
    uu = sp.Symbol("u")
    # Taylor coefficients of the exact solution, with u' replaced by f(u).
    first = f(u)
    second = sp.diff(first, t).subs(sp.Derivative(u, t), f(u))
    exact = u + tau * first + tau**2 / 2 * second
    euler = u + tau * f(u)
    coeff = sp.expand(exact - euler).coeff(tau, 2)
    coeff = coeff.subs(u, uu).doit()
    claimed = (
        f(uu) * sp.diff(f(uu), uu) / 2 if candidate is None else sp.sympify(candidate)
    )
    return sp.simplify(coeff - claimed)


# --------------------------------------------------------------------------
# Random residual blocks (chapter 6)
# --------------------------------------------------------------------------


def _gaussian_expectation(poly: Any, variables: Sequence[Any], variance: Any) -> Any:
    # E over independent N(0, variance) variables of a polynomial in them:
    # E[a^k] = 0 for odd k and (k - 1)!! variance^(k/2) for even k.
    p = sp.Poly(sp.expand(poly), *variables)
    total = sp.Integer(0)
    for powers, coeff in p.terms():
        moment = sp.Integer(1)
        for k in powers:
            if k % 2:
                moment = sp.Integer(0)
                break
            moment *= sp.factorial2(k - 1) * variance ** (k // 2)
        total += coeff * moment
    return sp.expand(total)


def random_block_second_moment(
    depth: int = 2, width: int = 2, *, residual: bool = True
) -> tuple[Any, Any]:
    r"""Mean squared norm after ``depth`` random linear blocks, exactly.

    With independent matrices :math:`A_i` of iid :math:`N(0, \sigma^2/n)`
    entries (:math:`n` = ``width``) and a fixed vector :math:`v`,

    .. math:: E\left\|\prod_{i=1}^{L} (I + A_i)\, v\right\|^2
              = (1 + \sigma^2)^L \|v\|^2, \qquad
              E\left\|\prod_{i=1}^{L} A_i\, v\right\|^2 = \sigma^{2L}\|v\|^2 .

    The expectation is computed symbolically from the Gaussian moments of the
    :math:`L n^2` matrix entries (cost grows quickly: keep ``depth * width**2``
    below about 20).

    Parameters
    ----------
    depth, width : int
        ``L >= 1`` and ``n >= 1``.
    residual : bool, optional
        True for residual blocks :math:`I + A_i`, False for plain blocks
        :math:`A_i`.

    Returns
    -------
    tuple
        ``(expectation, formula)``, sympy expressions in ``sigma`` and
        ``v0, v1, ...``; ``formula`` is :math:`(1+\sigma^2)^L\|v\|^2` for
        residual blocks and :math:`\sigma^{2L}\|v\|^2` for plain ones.
    """
    depth, width = int(depth), int(width)
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be >= 1, got {depth}, {width}")
    v = sp.Matrix(sp.symbols(f"v0:{width}", real=True))
    entries = []
    w = v
    for i in range(depth):
        a = sp.Matrix(width, width, lambda r, q, i=i: sp.Symbol(f"A{i}_{r}{q}"))
        entries.extend(a)
        w = (sp.eye(width) + a) * w if residual else a * w
    norm2 = sum(sp.expand(wi**2) for wi in w)
    expectation = _gaussian_expectation(norm2, entries, sigma**2 / width)
    v_norm2 = sum(vi**2 for vi in v)
    gain = (1 + sigma**2) if residual else sigma**2
    return sp.factor(expectation), gain**depth * v_norm2
