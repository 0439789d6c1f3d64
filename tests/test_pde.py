"""Tests of pathint_lib.pde: kernel <-> (D, b, c), stability, references."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pathint_lib.pde import (
    HigherMomentWarning,
    PDECoefficients,
    PDECoefficients2D,
    StabilityWarning,
    amplification,
    coefficients_from_kernel,
    coefficients_from_kernel_2d,
    discrete_periodic_solution,
    exact_periodic_solution,
    exact_periodic_solution_2d,
    ftcs_stability_closed_form,
    is_positive,
    is_von_neumann_stable,
    kernel_from_coefficients,
    kernel_from_coefficients_2d,
    layer_weights,
    max_amplification,
    mesh_ratios,
    positivity_region,
    stability_region,
)
from pathint_lib.stencils import STANDARD_STENCILS, apply_periodic

FAST = settings(max_examples=60, deadline=None)
real = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
pos = st.floats(1e-2, 2.0, allow_nan=False, allow_infinity=False)


def _ftcs(r, beta, gamma=0.0):
    return np.array([r - beta / 2, -2 * r + gamma, r + beta / 2])


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StabilityWarning)
        return fn(*args)


# ------------------------------------------------------------ coefficients


def test_kernel_from_coefficients_by_hand():
    # D = 1, h = 1, tau = 1/4: r = 1/4; b = 2: beta = 1/2; c = 1: gamma = 1/4.
    q = kernel_from_coefficients(1.0, 2.0, 1.0, 1.0, 0.25)
    np.testing.assert_allclose(q, [0.25 - 0.25, -0.5 + 0.25, 0.25 + 0.25])
    assert mesh_ratios(1.0, 2.0, 1.0, 1.0, 0.25) == (0.25, 0.5, 0.25)


def test_coefficients_from_kernel_by_hand():
    # q = [0.3, -0.5, 0.1]: m0 = -0.1, m1 = -0.2, m2 = 0.2; h = 0.5, tau = 0.1.
    co = coefficients_from_kernel([0.3, -0.5, 0.1], 0.5, 0.1)
    assert isinstance(co, PDECoefficients)
    assert co.c == pytest.approx(-1.0)
    assert co.b == pytest.approx(0.5 * -0.2 / 0.1)
    assert co.D == pytest.approx(0.25 * 0.2 / 0.1)


@FAST
@given(st.floats(0.0, 3.0), real, real, pos, pos)
def test_coefficients_kernel_round_trip(D, b, c, h, tau):
    q = _quiet(kernel_from_coefficients, D, b, c, h, tau)
    co = coefficients_from_kernel(q, h, tau)
    scale_D = abs(D) + abs(b) * h + abs(c) * h**2 + 1e-300
    assert co.D == pytest.approx(D, abs=1e-12 * scale_D)
    assert co.b == pytest.approx(b, abs=1e-12 * (abs(b) + abs(D) / h + abs(c) * h))
    assert co.c == pytest.approx(c, abs=1e-12 * (abs(c) + abs(D) / h**2 + abs(b) / h))


@FAST
@given(st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3), pos, pos)
def test_kernel_coefficients_round_trip(q, h, tau):
    q = np.array(q)
    assume(q[0] + q[2] >= 0)  # m2 >= 0, i.e. D >= 0
    co = coefficients_from_kernel(q, h, tau)
    back = _quiet(kernel_from_coefficients, co.D, co.b, co.c, h, tau)
    np.testing.assert_allclose(back, q, atol=1e-12)


def test_flipping_the_kernel_flips_the_drift():
    q = 0.2 * np.array([0.0, -1.0, 1.0])  # forward difference: drift b > 0
    co = coefficients_from_kernel(q, 0.1, 0.01)
    flipped = coefficients_from_kernel(q[::-1], 0.1, 0.01)
    assert co.b > 0 and flipped.b == pytest.approx(-co.b)
    assert flipped.D == pytest.approx(co.D) and flipped.c == pytest.approx(co.c)


def test_longer_kernel_warns_about_higher_moments():
    with pytest.warns(HigherMomentWarning, match="beyond second order"):
        co = coefficients_from_kernel([0.1, 0.0, -0.2, 0.0, 0.0], 1.0, 1.0)
    assert co.c == pytest.approx(-0.1)
    # a 5-tap kernel with zero moments 3 and 4 is exactly (D, b, c): no warning.
    q5 = np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0 * 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", HigherMomentWarning)
        co = coefficients_from_kernel(q5, 1.0, 1.0)
    assert co.D == pytest.approx(0.1)


# Diffusion entries are 0 or of order 1e-3 and above: a tensor far smaller than
# b h and c h^2 is recovered from the kernel only to rounding relative to those.
diffusion = st.one_of(st.just(0.0), st.floats(1e-3, 2.0))


@FAST
@given(diffusion, diffusion, st.floats(-0.99, 0.99), real, real, real, pos, pos)
def test_coefficients_kernel_round_trip_2d(dxx, dyy, corr, bx, by, c, h, tau):
    dxy = corr * np.sqrt(dxx * dyy)
    D = np.array([[dxx, dxy], [dxy, dyy]])
    q = _quiet(kernel_from_coefficients_2d, D, [bx, by], c, h, tau)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HigherMomentWarning)
        co = coefficients_from_kernel_2d(q, h, tau)
    scale = np.abs(D).max() + (abs(bx) + abs(by)) * h + abs(c) * h**2
    np.testing.assert_allclose(co.D, D, atol=1e-12 * scale)
    np.testing.assert_allclose(co.b, [bx, by], atol=1e-12 * scale / h)
    assert co.c == pytest.approx(c, abs=1e-12 * scale / h**2)
    back = _quiet(kernel_from_coefficients_2d, co.D, co.b, co.c, h, tau)
    np.testing.assert_allclose(back, q, atol=1e-12 * np.abs(q).max())


def test_2d_coefficients_by_hand():
    # D_xy from the mixed moment: q = s * dxy stencil has m11 = s.
    s, h, tau = 0.2, 0.5, 0.1
    co = coefficients_from_kernel_2d(s * STANDARD_STENCILS["dxy_central_2d"].kernel,
                                     h, tau)
    assert isinstance(co, PDECoefficients2D)
    assert co.D_xy == pytest.approx(h**2 * s / (2 * tau))
    assert co.D_xx == co.D_yy == 0.0 and co.b_x == co.b_y == 0.0
    # drift along axis 0 is b_x, not b_y
    co = coefficients_from_kernel_2d(s * STANDARD_STENCILS["dx_central_2d"].kernel,
                                     h, tau)
    assert co.b_x == pytest.approx(h * s / tau) and co.b_y == 0.0


def test_2d_kernel_with_higher_moments_warns():
    q = np.zeros((3, 3))
    q[2, 2] = 0.1  # corner alone: m21, m12, m22 nonzero
    with pytest.warns(HigherMomentWarning):
        coefficients_from_kernel_2d(q, 1.0, 1.0)


# ------------------------------------------------- layer and amplification


def test_layer_weights():
    np.testing.assert_allclose(layer_weights([0.1, -0.3, 0.2]), [0.1, 0.7, 0.2])
    w = layer_weights(np.zeros((3, 3)))
    assert w[1, 1] == 1.0 and w.sum() == 1.0


@pytest.mark.parametrize("m", [0, 1, 3, 5, 8])
def test_amplification_matches_one_layer_on_a_fourier_mode(m):
    n = 16
    theta = 2 * np.pi * m / n
    j = np.arange(n)
    u = torch.tensor(np.exp(1j * j * theta), dtype=torch.complex128)
    q = np.array([0.12, -0.31, 0.27])
    out = u + apply_periodic(q, u)
    np.testing.assert_allclose(out.numpy(), amplification(q, theta) * u.numpy(),
                               atol=1e-14)


def test_amplification_matches_one_layer_on_a_fourier_mode_2d():
    n1, n2, m1, m2 = 8, 10, 3, -2
    t1, t2 = 2 * np.pi * m1 / n1, 2 * np.pi * m2 / n2
    j1, j2 = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    u = np.exp(1j * (j1 * t1 + j2 * t2))
    q = np.random.default_rng(3).normal(size=(3, 3)) * 0.1
    out = u + apply_periodic(q, u)
    np.testing.assert_allclose(out, amplification(q, (t1, t2)) * u, atol=1e-14)


def test_amplification_sign_convention_detects_flip():
    # an asymmetric kernel: G(theta) and the flipped kernel's G differ by conj.
    q = np.array([0.0, -0.4, 0.4])
    theta = 0.7
    assert amplification(q[::-1], theta) == pytest.approx(
        np.conj(amplification(q, theta))
    )
    assert abs(amplification(q, theta) - amplification(q[::-1], theta)) > 0.1


def _brute_max_1d(q, n=4001):
    theta = np.linspace(-np.pi, np.pi, n)
    return np.abs(amplification(q, theta)).max()


@FAST
@given(st.lists(st.floats(-1.0, 1.0), min_size=5, max_size=5))
def test_max_amplification_1d_vs_dense_grid(q):
    exact = max_amplification(q)
    brute = _brute_max_1d(np.array(q))
    # the brute grid never beats the exact max, and is close to it: on a grid
    # of spacing d the max of |G|^2 (a cosine polynomial of degree 2R, R = 2)
    # is missed by a relative (R d)^2 / 2 at most (Bernstein), |G| by half that.
    assert exact >= brute - 1e-12
    assert exact <= brute * (1 + (2 * 2 * np.pi / 4000) ** 2 / 4) + 1e-12


def test_max_amplification_pure_diffusion():
    for r in (0.1, 0.25, 0.5, 0.6, 1.0):
        assert max_amplification(_ftcs(r, 0.0)) == pytest.approx(
            max(1.0, abs(1 - 4 * r)), abs=1e-14
        )


def test_max_amplification_2d_isotropic_diffusion():
    lap = STANDARD_STENCILS["laplacian_5pt"].kernel
    for r in (0.1, 0.25, 0.3):
        assert max_amplification(r * lap) == pytest.approx(
            max(1.0, abs(1 - 8 * r)), abs=1e-14
        )


def test_max_amplification_2d_interior_maximum_is_refined():
    # drift-dominated FTCS: the max is at cos(theta) = 1/2, not at a corner.
    q1 = _ftcs(0.1, 0.6)
    exact = max_amplification(q1)
    assert exact > 1.0 + 1e-3
    along_x = np.zeros((3, 3))
    along_x[:, 1] = q1
    along_y = np.zeros((3, 3))
    along_y[1, :] = q1
    assert max_amplification(along_x) == pytest.approx(exact, abs=1e-13)
    assert max_amplification(along_y) == pytest.approx(exact, abs=1e-13)


def test_max_amplification_2d_vs_dense_grid():
    rng = np.random.default_rng(7)
    theta = np.linspace(-np.pi, np.pi, 401)
    grid = np.meshgrid(theta, theta, indexing="ij")
    for _ in range(4):
        q = rng.normal(size=(3, 3)) * 0.2
        brute = np.abs(amplification(q, grid)).max()
        found = max_amplification(q)
        # on the torus the miss is a relative (R d)^2 in |G| at most, R = 1
        assert found >= brute - 1e-12
        assert found <= brute * (1 + (2 * np.pi / 400) ** 2) + 1e-12


# ---------------------------------------------------- stability, positivity


def _away_from_boundary(r, beta, margin=1e-6):
    return (abs(beta**2 - 2 * r) > margin) and (abs(2 * r - 1) > margin)


@FAST
@given(st.floats(0.0, 1.0), st.floats(-1.5, 1.5))
def test_stability_closed_form_drift_diffusion(r, beta):
    assume(_away_from_boundary(r, beta))
    expected = beta**2 <= 2 * r <= 1
    assert is_von_neumann_stable(_ftcs(r, beta)) == expected
    assert bool(stability_region(r, beta)) == expected
    assert bool(ftcs_stability_closed_form(r, beta)) == expected


@FAST
@given(st.floats(0.0, 1.0))
def test_stability_closed_form_pure_diffusion(r):
    assume(abs(r - 0.5) > 1e-9)
    assert is_von_neumann_stable(_ftcs(r, 0.0)) == (r <= 0.5)


@FAST
@given(st.floats(0.0, 1.0), st.floats(-1.5, 1.5), st.floats(-0.5, 0.5))
def test_stability_region_agrees_with_max_amplification(r, beta, gamma):
    q = _ftcs(r, beta, gamma)
    g = max_amplification(q)
    bound = max(1.0, abs(1 + gamma))
    assume(abs(g - bound) > 1e-9)
    assert bool(stability_region(r, beta, gamma)) == (g <= bound)
    assert is_von_neumann_stable(q) == (g <= bound)


@FAST
@given(st.floats(0.0, 1.0), st.floats(-1.5, 1.5), st.floats(-0.5, 0.5))
def test_positivity_closed_form(r, beta, gamma):
    assume(abs(r - abs(beta) / 2) > 1e-9 and abs(1 - 2 * r + gamma) > 1e-9)
    expected = (r >= abs(beta) / 2) and (1 - 2 * r + gamma >= 0)
    assert is_positive(_ftcs(r, beta, gamma)) == expected
    assert bool(positivity_region(r, beta, gamma)) == expected
    if expected:  # positivity implies stability
        assert is_von_neumann_stable(_ftcs(r, beta, gamma))


def test_stability_region_shapes():
    r, beta = np.meshgrid(np.linspace(0, 1, 5), np.linspace(-1, 1, 7))
    region = stability_region(r, beta)
    assert region.shape == (7, 5) and region.dtype == bool
    np.testing.assert_array_equal(
        region[np.abs(beta**2 - 2 * r) > 1e-9], ftcs_stability_closed_form(
            r, beta)[np.abs(beta**2 - 2 * r) > 1e-9]
    )


def test_kernel_from_coefficients_warns_when_unstable():
    with pytest.warns(StabilityWarning, match="not von Neumann stable"):
        kernel_from_coefficients(1.0, 0.0, 0.0, 1.0, 0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StabilityWarning)
        kernel_from_coefficients(1.0, 0.0, 0.0, 1.0, 0.4)
        kernel_from_coefficients_2d(1.0, [0.0, 0.0], 0.0, 1.0, 0.24)
    with pytest.warns(StabilityWarning):
        kernel_from_coefficients_2d(1.0, [0.0, 0.0], 0.0, 1.0, 0.26)
    # drift without enough diffusion: beta^2 > 2r
    with pytest.warns(StabilityWarning):
        kernel_from_coefficients(0.01, 1.0, 0.0, 0.1, 0.05)


# --------------------------------------------------------------- references


def test_exact_solution_single_mode_closed_form():
    n, length = 32, 2.0
    h = length / n
    x = h * np.arange(n)
    kappa = 2 * np.pi * 3 / length
    D, b, c, t = 0.05, 0.7, -0.3, 0.8
    u0 = np.cos(kappa * x)
    expected = np.exp((-D * kappa**2 + c) * t) * np.cos(kappa * (x + b * t))
    np.testing.assert_allclose(
        exact_periodic_solution(u0, h, t, D, b, c), expected, atol=1e-13
    )


def test_exact_solution_moves_content_toward_minus_x_for_positive_b():
    n, h = 200, 0.05
    x = h * np.arange(n)
    u0 = np.exp(-((x - 5.0) ** 2) / 0.1)
    u = exact_periodic_solution(u0, h, 1.0, 0.0, 2.0, 0.0)
    assert x[np.argmax(u)] == pytest.approx(3.0)
    # the residual stack with b > 0 moves it the same way
    q = _quiet(kernel_from_coefficients, 0.05, 2.0, 0.0, h, 0.01)
    v = discrete_periodic_solution(q, u0, 100)
    assert abs(x[np.argmax(v)] - 3.0) < 0.2


def test_exact_solution_identity_at_t0_and_batch():
    u0 = np.random.default_rng(0).normal(size=(3, 16))
    np.testing.assert_allclose(exact_periodic_solution(u0, 0.1, 0.0, 0.3), u0,
                               atol=1e-14)
    out = exact_periodic_solution(u0, 0.1, 0.2, 0.3, 1.0)
    np.testing.assert_allclose(out[1], exact_periodic_solution(u0[1], 0.1, 0.2, 0.3,
                                                               1.0))


def test_discrete_solution_converges_to_exact_at_second_order():
    D, b, c, T, length = 0.1, 0.5, -0.2, 0.5, 2 * np.pi
    errors, hs = [], []
    for n in (64, 128, 256):
        h = length / n
        x = h * np.arange(n)
        u0 = np.exp(np.sin(x))
        depth = int(np.ceil(T / (0.4 * h**2 / D)))
        tau = T / depth
        q = kernel_from_coefficients(D, b, c, h, tau)
        approx = discrete_periodic_solution(q, u0, depth)
        exact = exact_periodic_solution(u0, h, T, D, b, c)
        errors.append(np.abs(approx - exact).max())
        hs.append(h)
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert abs(slope - 2.0) < 0.15


def test_discrete_solution_equals_torch_stack_1d():
    rng = np.random.default_rng(5)
    q = np.array([0.2, -0.45, 0.22])
    u0 = rng.normal(size=(2, 24))
    u = torch.tensor(u0, dtype=torch.float64)
    for _ in range(30):
        u = u + apply_periodic(q, u)
    np.testing.assert_allclose(discrete_periodic_solution(q, u0, 30), u.numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(discrete_periodic_solution(q, u0, 0), u0, atol=1e-14)


def test_discrete_solution_equals_torch_stack_2d():
    rng = np.random.default_rng(6)
    q = _quiet(kernel_from_coefficients_2d, [[0.2, 0.05], [0.05, 0.1]], [0.3, -0.2],
               0.1, 1.0, 0.5)
    u0 = rng.normal(size=(12, 10))
    u = torch.tensor(u0, dtype=torch.float64)
    for _ in range(20):
        u = u + apply_periodic(q, u)
    np.testing.assert_allclose(discrete_periodic_solution(q, u0, 20), u.numpy(),
                               atol=1e-12)


def test_exact_solution_2d_single_mode_closed_form():
    n1, n2, h = 16, 20, 0.25
    x, y = np.meshgrid(h * np.arange(n1), h * np.arange(n2), indexing="ij")
    kx, ky = 2 * np.pi * 2 / (n1 * h), 2 * np.pi * -3 / (n2 * h)
    D = np.array([[0.1, 0.03], [0.03, 0.05]])
    b, c, t = np.array([0.4, -0.7]), 0.2, 0.6
    u0 = np.cos(kx * x + ky * y)
    decay = -(D[0, 0] * kx**2 + 2 * D[0, 1] * kx * ky + D[1, 1] * ky**2) + c
    expected = np.exp(decay * t) * np.cos(kx * (x + b[0] * t) + ky * (y + b[1] * t))
    np.testing.assert_allclose(exact_periodic_solution_2d(u0, h, t, D, b, c),
                               expected, atol=1e-13)


def test_discrete_2d_converges_to_exact_2d():
    D = np.array([[0.1, 0.02], [0.02, 0.06]])
    b, c, T, length = np.array([0.3, -0.2]), 0.1, 0.3, 2 * np.pi
    errors, hs = [], []
    for n in (16, 32, 64):
        h = length / n
        x, y = np.meshgrid(h * np.arange(n), h * np.arange(n), indexing="ij")
        u0 = np.exp(np.sin(x) + 0.5 * np.cos(y))
        depth = int(np.ceil(T / (0.2 * h**2 / 0.1)))
        tau = T / depth
        q = kernel_from_coefficients_2d(D, b, c, h, tau)
        errors.append(np.abs(discrete_periodic_solution(q, u0, depth)
                             - exact_periodic_solution_2d(u0, h, T, D, b, c)).max())
        hs.append(h)
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert abs(slope - 2.0) < 0.15


def test_unstable_deep_stack_warns_on_overflow():
    q = _ftcs(2.0, 0.0)
    with pytest.warns(StabilityWarning, match="overflows"):
        discrete_periodic_solution(q, np.cos(np.pi * np.arange(8)), 10_000)


# ---------------------------------------------------------------- bad input


def test_bad_inputs_raise_with_names():
    with pytest.raises(ValueError, match="h must be > 0"):
        kernel_from_coefficients(1.0, 0.0, 0.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="tau must be > 0"):
        kernel_from_coefficients(1.0, 0.0, 0.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="D must be >= 0"):
        kernel_from_coefficients(-1.0, 0.0, 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="b must be finite"):
        kernel_from_coefficients(1.0, float("nan"), 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="1-dimensional"):
        coefficients_from_kernel(np.eye(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="2-dimensional"):
        coefficients_from_kernel_2d([0.0, 1.0, 0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="odd length"):
        coefficients_from_kernel([0.0, 1.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        kernel_from_coefficients_2d([[1.0, 2.0], [2.0, 1.0]], [0, 0], 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        kernel_from_coefficients_2d([[1.0, 0.1], [0.0, 1.0]], [0, 0], 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="b must be a 2-vector"):
        kernel_from_coefficients_2d(1.0, [0.0, 0.0, 0.0], 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="depth must be >= 0"):
        discrete_periodic_solution([0.0, 0.0, 0.0], np.ones(4), -1)
    with pytest.raises(ValueError, match="t must be >= 0"):
        exact_periodic_solution(np.ones(4), 1.0, -1.0, 0.1)
    with pytest.raises(ValueError, match="D must be >= 0"):
        exact_periodic_solution(np.ones(4), 1.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="u0 must contain only finite"):
        exact_periodic_solution([1.0, np.nan], 1.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="theta must be a pair"):
        amplification(np.eye(3), 0.5)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        is_von_neumann_stable([0.0, 0.0, 0.0], tol=-1.0)
    with pytest.raises(ValueError, match="resolution must be"):
        max_amplification(np.eye(3), resolution=0)


def test_max_amplification_of_huge_weights_is_exact_and_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from numpy
        assert max_amplification([1e300, 1e300, 1e300]) == pytest.approx(3e300)
        assert max_amplification([-1e200, 0.0, -1e200]) == pytest.approx(2e200)
