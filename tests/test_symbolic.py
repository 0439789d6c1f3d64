"""Tests of pathint_lib.symbolic: each identity holds, and a wrong variant fails."""

import pytest
import sympy as sp

from pathint_lib import symbolic as S


def is_zero(expr):
    return sp.simplify(expr) == 0


# ------------------------------------------------------------------ stencils


@pytest.mark.parametrize(
    "kernel",
    [[1, -2, 1], [-sp.Rational(1, 2), 0, sp.Rational(1, 2)],
     [1, -8, 0, 8, -1], [0.25, 0.5, 0.25]],
)
def test_stencil_expansion_holds(kernel):
    lhs, rhs = S.stencil_expansion(kernel)
    assert is_zero(lhs - rhs)


def test_stencil_expansion_wrong_moments_fail():
    # moments of [1, -2, 1] without the 1/i! factor: m4 = 2 instead of 2/24
    lhs, rhs = S.stencil_expansion([1, -2, 1], moments=[0, 0, 2, 0, 2, 0])
    assert not is_zero(lhs - rhs)
    # the right moments, given explicitly, pass
    lhs, rhs = S.stencil_expansion(
        [1, -2, 1], moments=[0, 0, 1, 0, sp.Rational(1, 12), 0]
    )
    assert is_zero(lhs - rhs)


def test_stencil_expansion_flipped_kernel_differs():
    lhs, rhs = S.stencil_expansion([-1, 0, 1])
    _, rhs_flipped = S.stencil_expansion([1, 0, -1])
    assert not is_zero(lhs - rhs_flipped)


def test_stencil_expansion_bad_input():
    with pytest.raises(ValueError, match="odd length"):
        S.stencil_expansion([1, -1])
    with pytest.raises(ValueError, match="moments"):
        S.stencil_expansion([1, -2, 1], order=4, moments=[0, 0, 1])


def test_residual_kernel_moments():
    assert S.residual_kernel_moments() == [0, 0, 0]
    wrong = S.residual_kernel_expr()[::-1]  # flipped left-right: b -> -b
    diffs = S.residual_kernel_moments(wrong)
    assert diffs[0] == 0 and diffs[2] == 0 and diffs[1] != 0


# ------------------------------------------------------------------ propagator


def test_heat_kernel_pde_residual():
    assert is_zero(S.heat_kernel_pde_residual())
    flipped = S.heat_kernel_expr().subs(S.b, -S.b)
    assert not is_zero(S.heat_kernel_pde_residual(flipped))
    no_growth = S.heat_kernel_expr().subs(S.c, 0)
    assert not is_zero(S.heat_kernel_pde_residual(no_growth))


@pytest.mark.slow
def test_chapman_kolmogorov():
    assert is_zero(S.chapman_kolmogorov())
    t1, t2, x, y = S.t1, S.t2, S.x, S.y
    assert not is_zero(S.chapman_kolmogorov(S.heat_kernel_expr(x, y, t1 * t2)))
    assert not is_zero(
        S.chapman_kolmogorov(S.heat_kernel_expr(x, y, t1 + t2).subs(S.c, 2 * S.c))
    )


def test_straight_path_action():
    assert is_zero(S.straight_path_action())
    bent = S.x + (S.y - S.x) * S.s**2 / S.t**2
    assert not is_zero(S.straight_path_action(bent))


def test_straight_path_is_stationary():
    assert is_zero(S.straight_path_first_variation())
    bent = S.x + (S.y - S.x) * S.s**2 / S.t**2
    assert not is_zero(S.straight_path_first_variation(bent))


# ------------------------------------------------------------------ chapters 1, 6


def test_euler_local_error():
    assert is_zero(S.euler_local_error())
    f, u = sp.Function("f"), sp.Symbol("u")
    assert not is_zero(S.euler_local_error(f(u) * sp.diff(f(u), u)))  # no 1/2


@pytest.mark.parametrize("depth, width", [(1, 3), (2, 2)])
def test_random_block_second_moment(depth, width):
    e, formula = S.random_block_second_moment(depth, width)
    assert is_zero(e - formula)
    e_plain, formula_plain = S.random_block_second_moment(depth, width,
                                                          residual=False)
    assert is_zero(e_plain - formula_plain)
    assert not is_zero(e_plain - formula)  # plain blocks lose the identity path


@pytest.mark.slow
def test_random_block_second_moment_depth_three():
    e, formula = S.random_block_second_moment(3, 2)
    assert is_zero(e - formula)


def test_random_block_bad_input():
    with pytest.raises(ValueError, match=">= 1"):
        S.random_block_second_moment(0, 2)
