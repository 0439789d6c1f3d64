"""Tests of pathint_lib.stencils: moments, their inverse, stencils and orders."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pathint_lib.stencils import (
    STANDARD_STENCILS,
    Stencil,
    apply_periodic,
    convergence_errors,
    kernel_from_moments,
    measured_order,
    moment_matrix,
    offsets,
    order_of_accuracy,
)

FAST = settings(max_examples=60, deadline=None)
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def odd_kernels_1d():
    return st.sampled_from([1, 3, 5, 7]).flatmap(
        lambda n: arrays(np.float64, (n,), elements=finite)
    )


def odd_kernels_2d():
    shapes = st.tuples(st.sampled_from([1, 3, 5]), st.sampled_from([1, 3, 5]))
    return shapes.flatmap(lambda s: arrays(np.float64, s, elements=finite))


# ---------------------------------------------------------------- moments


def test_offsets_are_centred():
    assert offsets(5).tolist() == [-2, -1, 0, 1, 2]
    assert offsets(1).tolist() == [0]


def test_moments_of_five_point_second_derivative_by_hand():
    # q = [-1, 16, -30, 16, -1] / 12, offsets -2..2.
    # m_i = sum q k^i / i!: m0 = 0, m1 = 0, m2 = (2*16 - 2*4)/12/2 = 1,
    # m3 = 0, m4 = (2*16 - 2*16)/12/24 = 0, m5 = 0,
    # m6 = (2*16 - 2*64)/12/720 = -1/90.
    q = np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0
    m = moment_matrix(q, 7)
    expected = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0 / 90.0]
    np.testing.assert_allclose(m, expected, atol=1e-15)


def test_moments_of_forward_and_central_differences_by_hand():
    # forward [0, -1, 1]: m = (0, 1, 1/2); the 1/i! matters at i = 2.
    np.testing.assert_allclose(moment_matrix([0.0, -1.0, 1.0]), [0.0, 1.0, 0.5])
    # central [-1/2, 0, 1/2]: m = (0, 1, 0), then m3 = 1/6 (the error term).
    np.testing.assert_allclose(
        moment_matrix([-0.5, 0.0, 0.5], 5), [0.0, 1.0, 0.0, 1 / 6, 0.0]
    )


def test_moment_matrix_matches_exact_rational_arithmetic():
    rng = np.random.default_rng(0)
    q = rng.normal(size=5)
    exact = [
        sum(Fraction(float(v)) * Fraction(k**i, math.factorial(i))
            for v, k in zip(q, range(-2, 3), strict=True))
        for i in range(5)
    ]
    assert moment_matrix(q).tolist() == [float(e) for e in exact]


def test_moment_matrix_2d_known_stencils():
    lap9 = STANDARD_STENCILS["laplacian_9pt"].kernel
    m = moment_matrix(lap9, 5)
    assert m[2, 0] == pytest.approx(1.0) and m[0, 2] == pytest.approx(1.0)
    # leading error (1/12)(u_xxxx + 2 u_xxyy + u_yyyy): isotropic.
    assert m[4, 0] == pytest.approx(1 / 12) and m[0, 4] == pytest.approx(1 / 12)
    assert m[2, 2] == pytest.approx(1 / 6)
    lap5 = moment_matrix(STANDARD_STENCILS["laplacian_5pt"].kernel, 5)
    assert lap5[2, 2] == 0.0 and lap5[4, 0] == pytest.approx(1 / 12)
    mixed = moment_matrix(STANDARD_STENCILS["dxy_central_2d"].kernel)
    expected = np.zeros((3, 3))
    expected[1, 1] = 1.0
    np.testing.assert_allclose(mixed, expected, atol=1e-15)


def test_moment_matrix_2d_axis_convention():
    # axis 0 is x: the x-difference has moment m[1, 0] = 1, not m[0, 1].
    m = moment_matrix(STANDARD_STENCILS["dx_central_2d"].kernel)
    assert m[1, 0] == 1.0 and m[0, 1] == 0.0
    q = np.zeros((3, 3))
    q[2, 0] = 1.0  # offset (k1, k2) = (+1, -1)
    m = moment_matrix(q)
    assert m[1, 0] == 1.0 and m[0, 1] == -1.0 and m[1, 1] == -1.0


@FAST
@given(odd_kernels_1d(), odd_kernels_1d())
def test_moment_matrix_of_separable_kernel_is_outer_product(a, b):
    np.testing.assert_allclose(
        moment_matrix(np.outer(a, b)),
        np.outer(moment_matrix(a), moment_matrix(b)),
        atol=1e-12,
    )


def test_moment_matrix_accepts_list_numpy_torch():
    q = [0.25, -0.5, 0.25]
    expected = moment_matrix(np.array(q))
    assert moment_matrix(q).tolist() == expected.tolist()
    assert moment_matrix(torch.tensor(q)).tolist() == expected.tolist()
    assert moment_matrix(q).dtype == np.float64


# ---------------------------------------------------------- inverse of moments


@FAST
@given(odd_kernels_1d())
def test_kernel_from_moments_inverts_moment_matrix_1d(q):
    np.testing.assert_allclose(kernel_from_moments(moment_matrix(q)), q, atol=1e-12)


@FAST
@given(odd_kernels_2d())
def test_kernel_from_moments_inverts_moment_matrix_2d(q):
    np.testing.assert_allclose(kernel_from_moments(moment_matrix(q)), q, atol=1e-12)


@FAST
@given(odd_kernels_2d())
def test_moment_matrix_inverts_kernel_from_moments(m):
    np.testing.assert_allclose(moment_matrix(kernel_from_moments(m)), m, atol=1e-11)


def test_design_fourth_order_kernels_from_moments():
    np.testing.assert_allclose(
        kernel_from_moments([0, 1, 0, 0, 0]),
        np.array([1.0, -8.0, 0.0, 8.0, -1.0]) / 12.0,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        kernel_from_moments([0, 0, 1, 0, 0]),
        np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0,
        atol=1e-15,
    )
    lap = np.zeros((3, 3))
    lap[2, 0] = lap[0, 2] = 1.0
    np.testing.assert_allclose(
        kernel_from_moments(lap), STANDARD_STENCILS["laplacian_5pt"].kernel,
        atol=1e-15,
    )


# ------------------------------------------------------------- orders


@pytest.mark.parametrize("name", sorted(STANDARD_STENCILS))
def test_declared_order_equals_order_from_moments(name):
    s = STANDARD_STENCILS[name]
    assert order_of_accuracy(s.kernel, s.derivative) == s.order


def _exp_sin(x):
    return np.exp(np.sin(x))


def _f2(x, y):
    return np.exp(np.sin(x) + np.cos(y))


TEST_FUNCTIONS = {
    "d1_forward": (_exp_sin, lambda x: np.cos(x) * _exp_sin(x)),
    "d1_backward": (_exp_sin, lambda x: np.cos(x) * _exp_sin(x)),
    "d1_central": (_exp_sin, lambda x: np.cos(x) * _exp_sin(x)),
    "d1_central_5pt": (_exp_sin, lambda x: np.cos(x) * _exp_sin(x)),
    "d2_central": (_exp_sin, lambda x: (np.cos(x) ** 2 - np.sin(x)) * _exp_sin(x)),
    "d2_central_5pt": (
        _exp_sin, lambda x: (np.cos(x) ** 2 - np.sin(x)) * _exp_sin(x)
    ),
    "dx_central_2d": (_f2, lambda x, y: np.cos(x) * _f2(x, y)),
    "dy_central_2d": (_f2, lambda x, y: -np.sin(y) * _f2(x, y)),
    "dxx_central_2d": (_f2, lambda x, y: (np.cos(x) ** 2 - np.sin(x)) * _f2(x, y)),
    "dyy_central_2d": (_f2, lambda x, y: (np.sin(y) ** 2 - np.cos(y)) * _f2(x, y)),
    "laplacian_5pt": (
        _f2,
        lambda x, y: (np.cos(x) ** 2 - np.sin(x) + np.sin(y) ** 2 - np.cos(y))
        * _f2(x, y),
    ),
    "laplacian_9pt": (
        _f2,
        lambda x, y: (np.cos(x) ** 2 - np.sin(x) + np.sin(y) ** 2 - np.cos(y))
        * _f2(x, y),
    ),
    "dxy_central_2d": (_f2, lambda x, y: -np.cos(x) * np.sin(y) * _f2(x, y)),
}
HS = [2 * np.pi / n for n in (32, 64, 128)]


def test_every_standard_stencil_has_a_convergence_test():
    assert set(TEST_FUNCTIONS) == set(STANDARD_STENCILS) - {"identity"}


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
def test_measured_order_matches_declared_order(name):
    s = STANDARD_STENCILS[name]
    f, df = TEST_FUNCTIONS[name]
    assert abs(measured_order(s, f, df, HS) - s.order) <= 0.15


def test_identity_is_exact():
    s = STANDARD_STENCILS["identity"]
    assert order_of_accuracy(s.kernel, s.derivative) == math.inf
    errors = convergence_errors(s, _exp_sin, _exp_sin, HS)
    assert np.all(errors == 0.0)
    with pytest.raises(ValueError, match="exact on f"):
        measured_order(s, _exp_sin, _exp_sin, HS)


def test_order_from_moments_detects_wrong_kernels():
    # the forward difference flipped left-right is [1, -1, 0], which
    # approximates -d/dx (m1 = -1): not d/dx at all.
    assert order_of_accuracy([0.0, -1.0, 1.0], 1) == 1
    with pytest.raises(ValueError, match="does not approximate"):
        order_of_accuracy(np.array([0.0, -1.0, 1.0])[::-1], 1)
    # a second-difference kernel is no first derivative; a first is no second.
    with pytest.raises(ValueError, match="does not approximate"):
        order_of_accuracy([1.0, -2.0, 1.0], 1)
    with pytest.raises(ValueError, match="does not approximate"):
        order_of_accuracy([-0.5, 0.0, 0.5], 2)
    # wrong scale (the 1/i! forgotten when designing): [2, -4, 2] is 2 d2/dx2.
    with pytest.raises(ValueError, match="does not approximate"):
        order_of_accuracy([2.0, -4.0, 2.0], 2)
    # transposed mixed / axis-swapped stencils are caught in 2-D.
    with pytest.raises(ValueError, match="does not approximate"):
        order_of_accuracy(STANDARD_STENCILS["dx_central_2d"].kernel, (0, 1))


def test_order_of_accuracy_derivative_spellings():
    lap = STANDARD_STENCILS["laplacian_5pt"].kernel
    assert order_of_accuracy(lap, "laplacian") == 2
    assert order_of_accuracy(lap, ((2, 0), (0, 2))) == 2
    assert order_of_accuracy([1.0, -2.0, 1.0], (2,)) == 2
    assert order_of_accuracy([1.0, -2.0, 1.0], "Laplacian") == 2
    # forward difference of order 1, in both spellings
    assert order_of_accuracy([0.0, -1.0, 1.0], 1) == 1
    # a 3-point one-sided second-order first derivative on 5 taps
    assert order_of_accuracy([0.0, 0.0, -1.5, 2.0, -0.5], 1) == 2


# -------------------------------------------------------- applying stencils


def test_apply_periodic_is_cross_correlation():
    u = np.arange(5.0)
    # (k*u)_j = k[0] u_{j-1} + k[1] u_j + k[2] u_{j+1}, indices mod 5.
    out = apply_periodic([1.0, 10.0, 100.0], u)
    expected = [4 + 0 + 100, 0 + 10 + 200, 1 + 20 + 300, 2 + 30 + 400, 3 + 40 + 0]
    np.testing.assert_allclose(out, expected)


def test_apply_periodic_2d_axis_order():
    u = np.zeros((4, 5))
    u[2, 3] = 1.0
    q = np.zeros((3, 3))
    q[2, 1] = 1.0  # offset (+1, 0): out[j1, j2] = u[j1 + 1, j2]
    out = apply_periodic(q, u)
    assert out[1, 3] == 1.0 and out.sum() == 1.0


def test_stencil_apply_numpy_and_torch_agree_and_scale_with_h():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(2, 16))
    s = STANDARD_STENCILS["d2_central_5pt"]
    h = 0.3
    out_np = s.apply(u, h)
    out_t = s.apply(torch.tensor(u, dtype=torch.float64), h)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    np.testing.assert_allclose(out_t.numpy(), out_np, atol=1e-12)
    np.testing.assert_allclose(out_np, apply_periodic(s.kernel, u) / h**2)


def test_stencil_apply_torch_is_differentiable():
    u = torch.linspace(0, 1, 9, dtype=torch.float64, requires_grad=True)
    STANDARD_STENCILS["d1_central"].apply(u, 0.5).pow(2).sum().backward()
    assert u.grad is not None and torch.isfinite(u.grad).all()


def test_apply_periodic_complex_fourier_mode():
    n, m = 12, 2
    theta = 2 * np.pi * m / n
    u = np.exp(1j * theta * np.arange(n))
    q = np.array([0.3, -0.1, 0.7])
    symbol = sum(q[i] * np.exp(1j * k * theta) for i, k in enumerate((-1, 0, 1)))
    np.testing.assert_allclose(apply_periodic(q, u), symbol * u, atol=1e-14)


def test_stencil_record_is_read_only_and_validated():
    s = STANDARD_STENCILS["d1_central"]
    with pytest.raises(ValueError):
        s.kernel[0] = 1.0
    assert s.derivative_order == 1 and s.ndim == 1
    assert STANDARD_STENCILS["laplacian_9pt"].terms == ((2, 0), (0, 2))
    with pytest.raises(ValueError, match="order must be"):
        Stencil("bad", np.array([-0.5, 0.0, 0.5]), (1,), "d/dx", 0)
    with pytest.raises(ValueError, match="derivative must be"):
        Stencil("bad", np.array([-0.5, 0.0, 0.5]), (1, 0), "d/dx", 2)


def test_every_standard_stencil_declares_operator_and_order():
    for name, s in STANDARD_STENCILS.items():
        assert s.name == name and s.operator and s.note
        assert s.order == math.inf or float(s.order).is_integer()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kernel, match",
    [
        ([1.0, 2.0], "odd length"),
        (np.zeros((3, 2)), "odd length"),
        ([], "odd length"),
        ([1.0, np.nan, 1.0], "finite"),
        ([1.0, np.inf, 1.0], "finite"),
        (np.zeros((3, 3, 3)), "1- or 2-dimensional"),
        (1.0, "1- or 2-dimensional"),
    ],
)
def test_moment_matrix_rejects_bad_kernels(kernel, match):
    with pytest.raises(ValueError, match=match):
        moment_matrix(kernel)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="moments must have odd length"):
        kernel_from_moments([1.0, 0.0])
    with pytest.raises(ValueError, match="size must hold"):
        moment_matrix([1.0, 0.0, 0.0], (3, 3))
    with pytest.raises(ValueError, match="derivative must be"):
        order_of_accuracy([1.0, -2.0, 1.0], "curl")
    with pytest.raises(ValueError, match="derivative must be"):
        order_of_accuracy([1.0, -2.0, 1.0], (-1,))
    with pytest.raises(ValueError, match="same order"):
        order_of_accuracy(np.eye(3), ((1, 0), (0, 2)))
    with pytest.raises(ValueError, match="h must be > 0"):
        apply_periodic([0.0, 1.0, 0.0], np.ones(4), h=0.0)
    with pytest.raises(ValueError, match="at least 2 axis"):
        apply_periodic(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="divide length"):
        convergence_errors(STANDARD_STENCILS["d1_central"], np.sin, np.cos, [0.3])
    with pytest.raises(ValueError, match="two distinct"):
        measured_order(STANDARD_STENCILS["d1_central"], np.sin, np.cos, [HS[0]])
    with pytest.raises(ValueError, match="n must be a positive odd"):
        offsets(4)
