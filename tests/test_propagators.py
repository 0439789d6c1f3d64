"""Tests of pathint_lib.propagators: kernels, actions, Feynman-Kac, time slicing."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pathint_lib import propagators as Pr

coef = st.floats(-1.0, 1.0, allow_nan=False)
time_ = st.floats(0.05, 1.0, allow_nan=False)
diff_ = st.floats(0.1, 1.0, allow_nan=False)


def trapezoid(values, grid):
    dz = grid[1] - grid[0]
    return (values.sum(-1) - 0.5 * (values[..., 0] + values[..., -1])) * dz


# ------------------------------------------------------------------ heat kernel


def test_heat_kernel_mass_mean_variance():
    D, b, c, t, x = 0.3, 0.8, -0.4, 0.7, 0.25
    y = np.linspace(-10, 10, 20001)
    k = Pr.heat_kernel(x, y, t, D, b, c)
    mass = trapezoid(k, y)
    assert mass == pytest.approx(math.exp(c * t), rel=1e-12)
    mean = trapezoid(k * y, y) / mass
    assert mean == pytest.approx(x + b * t, rel=1e-12)  # b > 0: paths drift to +y
    var = trapezoid(k * (y - mean) ** 2, y) / mass
    assert var == pytest.approx(2 * D * t, rel=1e-10)


def test_heat_kernel_solves_the_pde_numerically():
    # Finite differences in x and t of K(x, y, t) satisfy the PDE to O(eps^2).
    D, b, c, y = 0.4, 0.6, 0.3, 0.2
    x = np.linspace(-1, 1, 9)
    t, e = 0.5, 1e-4
    k = lambda xx, tt: Pr.heat_kernel(xx, y, tt, D, b, c)  # noqa: E731
    k_t = (k(x, t + e) - k(x, t - e)) / (2 * e)
    k_x = (k(x + e, t) - k(x - e, t)) / (2 * e)
    k_xx = (k(x + e, t) - 2 * k(x, t) + k(x - e, t)) / e**2
    residual = k_t - (D * k_xx + b * k_x + c * k(x, t))
    assert np.max(np.abs(residual)) < 1e-5
    # the same with the drift's sign flipped fails
    wrong = k_t - (D * k_xx - b * k_x + c * k(x, t))
    assert np.max(np.abs(wrong)) > 1e-2


def test_heat_kernel_solution_moves_toward_minus_x():
    # u(x, t) = int K(x, y, t) u0(y) dy with D -> 0 is u0(x + b t).
    y = np.linspace(-5, 8, 26001)
    u0 = np.exp(-(y**2))
    x, t, b = -1.0, 1.0, 1.0
    u = trapezoid(Pr.heat_kernel(x, y, t, 1e-4, b) * u0, y)
    assert u == pytest.approx(math.exp(-((x + b * t) ** 2)), abs=1e-3)


def test_heat_kernel_torch_and_broadcast():
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    out = Pr.heat_kernel(x[:, None], torch.zeros(3, dtype=torch.float64), 0.5, 1.0)
    assert isinstance(out, torch.Tensor) and out.shape == (5, 3)
    ref = Pr.heat_kernel(x.numpy()[:, None], np.zeros(3), 0.5, 1.0)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-15)
    t = np.array([0.1, 0.2])
    assert Pr.heat_kernel(0.0, 0.0, t, 1.0).shape == (2,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(t=0.0), "t must be > 0"),
        (dict(t=-1.0), "t must be > 0"),
        (dict(D=0.0), "D must be > 0"),
        (dict(D=-2.0), "D must be > 0"),
        (dict(x=float("nan")), "finite"),
        (dict(b=float("inf")), "finite"),
    ],
)
def test_heat_kernel_bad_input(kwargs, match):
    args = dict(x=0.0, y=1.0, t=1.0, D=1.0, b=0.0, c=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Pr.heat_kernel(**args)


def test_classical_action_and_prefactor_give_heat_kernel():
    x, y, t, D, b, c = 0.1, -0.7, 0.9, 0.35, 0.2, -0.6
    k = Pr.propagator_prefactor(t, D) * np.exp(-Pr.classical_action(x, y, t, D, b, c))
    assert k == pytest.approx(Pr.heat_kernel(x, y, t, D, b, c), rel=1e-15)
    assert Pr.classical_action(x, x + b * t, t, D, b, c) == pytest.approx(-c * t)


@settings(max_examples=25, deadline=None)
@given(time_, time_, diff_, coef, coef)
def test_chapman_kolmogorov_numerically(t1, t2, D, b, c):
    z = np.linspace(-15, 15, 8001)
    x, y = 0.3, np.array([-0.5, 0.4, 1.2])
    composed = trapezoid(
        Pr.heat_kernel(x, z, t1, D, b, c)[None, :]
        * Pr.heat_kernel(z[None, :], y[:, None], t2, D, b, c),
        z,
    )
    np.testing.assert_allclose(composed, Pr.heat_kernel(x, y, t1 + t2, D, b, c),
                               rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ actions


def test_discrete_action_formula_and_batch():
    pts = np.array([[0.0, 0.5, 0.4, 1.0], [0.0, 0.0, 0.0, 0.0]])
    tau, D, b, c = 0.1, 0.5, 1.0, 0.2
    s = Pr.discrete_action(pts, tau, D, b, c)
    dx = np.diff(pts, axis=1)
    np.testing.assert_allclose(
        s, ((dx - b * tau) ** 2 / (4 * D * tau) - c * tau).sum(1), rtol=1e-15
    )
    assert Pr.discrete_action(torch.as_tensor(pts), tau, D, b, c).shape == (2,)
    assert Pr.discrete_action([0.3], tau, D) == 0.0


def test_discrete_action_is_minus_log_of_kernel_product():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=7)
    tau, D, b, c = 0.2, 0.3, -0.4, 0.5
    prod = np.prod(Pr.heat_kernel(pts[:-1], pts[1:], tau, D, b, c))
    n = len(pts) - 1
    s = Pr.discrete_action(pts, tau, D, b, c)
    assert prod == pytest.approx((4 * math.pi * D * tau) ** (-n / 2) * np.exp(-s))


def test_straight_path_action_equals_classical_and_is_minimal():
    x, y, t, D, b, c = -0.3, 0.8, 1.2, 0.4, 0.5, -0.1
    times = np.linspace(0, t, 33)
    straight = x + (y - x) * times / t
    s0 = Pr.discrete_action(straight, t / 32, D, b, c)
    assert s0 == pytest.approx(Pr.classical_action(x, y, t, D, b, c), rel=1e-13)
    bump = 0.1 * np.sin(np.pi * times / t)
    assert Pr.discrete_action(straight + bump, t / 32, D, b, c) > s0


def test_continuum_action_smooth_path_converges():
    # x(t) = sin(t) on [0, pi]:
    # int (cos t - b)^2/(4D) - c dt = (pi/2 + pi b^2)/(4D) - c pi
    D, b, c, T = 0.5, 0.3, 0.2, math.pi
    exact = (math.pi / 2 + math.pi * b**2) / (4 * D) - c * math.pi
    errs = [abs(Pr.continuum_action(np.sin, T, D, b, c, n_steps=n) - exact)
            for n in (100, 200)]
    assert errs[1] < 1e-4
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)  # O(dt^2)
    samples = np.sin(np.linspace(0, T, 201))
    assert Pr.continuum_action(samples, T, D, b, c) == pytest.approx(
        Pr.continuum_action(np.sin, T, D, b, c, n_steps=200), rel=1e-14
    )
    # a constant drift as a function gives the same as the constant b
    assert Pr.continuum_action(samples, T, D, drift=lambda v: 0 * v + b, c=c) == (
        pytest.approx(Pr.continuum_action(samples, T, D, b, c), rel=1e-14)
    )


def test_continuum_action_divergence_term():
    T, D = 1.0, 0.5
    samples = np.linspace(0.0, 1.0, 101)
    base = Pr.continuum_action(samples, T, D, drift=lambda v: -2 * v)
    with_term = Pr.continuum_action(samples, T, D, drift=lambda v: -2 * v,
                                    drift_derivative=lambda v: -2 + 0 * v)
    assert with_term - base == pytest.approx(-1.0)  # (1/2) int b' dt = -1


def test_action_bad_input():
    with pytest.raises(ValueError, match="tau must be > 0"):
        Pr.discrete_action([0.0, 1.0], 0.0, 1.0)
    with pytest.raises(ValueError, match="D must be > 0"):
        Pr.discrete_action([0.0, 1.0], 0.1, -1.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        Pr.continuum_action([0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        Pr.discrete_action([0.0, np.inf], 0.1, 1.0)


# ------------------------------------------------------- drift-dependent kernels

THETA, D_OU = 1.5, 0.5


def ou_drift(v):
    return -THETA * v


def ou_slope(v):
    return -THETA * np.ones_like(v)


def test_ou_density_normalised_and_limit():
    y = np.linspace(-8, 8, 16001)
    p = Pr.ou_transition_density(1.0, y, 0.7, D_OU, THETA)
    assert trapezoid(p, y) == pytest.approx(1.0, rel=1e-12)
    assert trapezoid(p * y, y) == pytest.approx(math.exp(-THETA * 0.7), rel=1e-10)
    np.testing.assert_allclose(
        Pr.ou_transition_density(1.0, y, 0.7, D_OU, 0.0),
        Pr.heat_kernel(1.0, y, 0.7, D_OU), rtol=1e-12,
    )


def test_short_time_propagator_orders():
    z = np.linspace(-4, 4, 401)
    errs = {"prepoint": [], "midpoint": []}
    for tau in (0.1, 0.05):
        exact = Pr.ou_transition_density(1.0, z, tau, D_OU, THETA)
        for rule in errs:
            k = Pr.short_time_propagator(1.0, z, tau, D_OU, ou_drift, rule=rule,
                                         drift_derivative=ou_slope)
            errs[rule].append(np.max(np.abs(k - exact)) / exact.max())
    # one step: pre-point error O(tau), midpoint (with divergence term) O(tau^2)
    assert errs["prepoint"][0] / errs["prepoint"][1] == pytest.approx(2, rel=0.1)
    assert errs["midpoint"][0] / errs["midpoint"][1] == pytest.approx(4, rel=0.15)


def test_time_sliced_density_needs_divergence_term():
    grid = np.linspace(-4, 4, 401)
    exact = Pr.ou_transition_density(1.0, grid, 1.0, D_OU, THETA)
    def err(n, **kw):
        p = Pr.time_sliced_density(1.0, grid, 1.0, n, D_OU, ou_drift,
                                   drift_derivative=ou_slope, **kw)
        return np.max(np.abs(p - exact)) / exact.max()

    for rule in ("prepoint", "midpoint"):
        e20, e40 = err(20, rule=rule), err(40, rule=rule)
        assert e40 < 0.015 and e20 / e40 == pytest.approx(2, rel=0.1)
    assert err(40, rule="midpoint", divergence=False) > 0.3


def test_short_time_propagator_bad_input():
    with pytest.raises(ValueError, match="rule must be"):
        Pr.short_time_propagator(0.0, 0.0, 0.1, 1.0, ou_drift, rule="endpoint")
    with pytest.raises(ValueError, match="drift_derivative"):
        Pr.short_time_propagator(0.0, 0.0, 0.1, 1.0, ou_drift, rule="midpoint")
    with pytest.raises(ValueError, match="uniform"):
        Pr.time_sliced_density(0.0, [0.0, 1.0, 3.0], 1.0, 2, 1.0, ou_drift)


# ------------------------------------------------------------------ Feynman-Kac


def test_feynman_kac_within_four_standard_errors():
    D, b, c, T = 0.3, 0.5, -0.2, 1.0
    xs = np.array([-1.0, 0.3, 0.7])
    est, se = Pr.feynman_kac_estimate(torch.cos, xs, T, D, b, c, n_paths=50_000,
                                      seed=1, device="cpu")
    exact = math.exp((c - D) * T) * np.cos(xs + b * T)
    assert np.all(np.abs(est - exact) <= 4 * se)
    # the opposite drift direction is far off
    wrong = math.exp((c - D) * T) * np.cos(xs - b * T)
    assert np.all(np.abs(est - wrong) > 4 * se)


def test_feynman_kac_scalar_and_drift_function():
    est, se = Pr.feynman_kac_estimate(lambda v: v, 1.0, 1.0, D_OU, n_paths=40_000,
                                      drift=lambda v: -THETA * v, n_steps=10,
                                      device="cpu")
    assert isinstance(est, float) and se > 0
    # Euler-Maruyama mean for a linear drift: exactly x (1 - theta dt)^n
    assert abs(est - (1 - THETA / 10) ** 10) <= 4 * se


def test_feynman_kac_bad_input():
    with pytest.raises(ValueError, match="T must be > 0"):
        Pr.feynman_kac_estimate(torch.cos, 0.0, 0.0, 1.0, device="cpu")
    with pytest.raises(ValueError, match="D must be > 0"):
        Pr.feynman_kac_estimate(torch.cos, 0.0, 1.0, 0.0, device="cpu")
    with pytest.raises(ValueError, match="elementwise"):
        Pr.feynman_kac_estimate(lambda v: v.sum(), 0.0, 1.0, 1.0, n_paths=10,
                                device="cpu")
    with pytest.raises(ValueError, match="unknown device"):
        Pr.feynman_kac_estimate(torch.cos, 0.0, 1.0, 1.0, device="quantum")


def test_feynman_kac_refuses_a_request_that_does_not_fit_in_memory():
    with pytest.raises(ValueError, match=r"Feynman-Kac .*GiB.*fewer paths"):
        Pr.feynman_kac_estimate(torch.cos, [0.0], 1.0, 1.0, n_paths=10**9)
