"""Tests of pathint_lib.ode: the RK4 reference, log-log slopes, flow comparisons."""

import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from pathint_lib import blocks, ode

matplotlib.use("Agg")
F64 = torch.float64


class Square(nn.Module):
    def forward(self, x):
        return x**2


def test_rk4_matches_closed_form_flow():
    # x' = x^2 has the flow x0 / (1 - t x0).
    x0 = torch.tensor([0.5, -1.0, 0.2], dtype=F64)
    x = ode.rk4_solve(Square(), x0, 1.0, 200)
    np.testing.assert_allclose(x.numpy(), (x0 / (1 - x0)).numpy(), rtol=1e-8)


def test_rk4_is_fourth_order():
    x0 = torch.tensor([0.5], dtype=F64)
    exact = 0.5 / (1 - 0.5)
    steps = np.array([10, 20, 40, 80])
    errors = [
        abs(ode.rk4_solve(Square(), x0, 1.0, int(n)).item() - exact) for n in steps
    ]
    assert ode.loglog_slope(1.0 / steps, errors) == pytest.approx(4.0, abs=0.15)


def test_rk4_linear_system_matches_matrix_exponential():
    A = torch.tensor([[-0.2, 1.0], [-1.0, -0.1]], dtype=F64)
    f = nn.Linear(2, 2, bias=False, dtype=F64)
    with torch.no_grad():
        f.weight.copy_(A)
    x0 = torch.tensor([[1.0, 0.0], [0.3, -0.7]], dtype=F64)
    path = ode.rk4_solve(f, x0, 2.0, 400, return_path=True)
    assert path.shape == (401, 2, 2)
    exact = x0 @ torch.linalg.matrix_exp(2.0 * A).T
    torch.testing.assert_close(path[-1], exact, rtol=0, atol=1e-10)
    torch.testing.assert_close(path[0], x0)


def test_rk4_accepts_lists_and_rejects_bad_input():
    assert ode.rk4_solve(Square(), [0.1, 0.2], 0.5, 10).dtype == F64
    with pytest.raises(ValueError, match="T must be > 0"):
        ode.rk4_solve(Square(), [0.1], 0.0, 10)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        ode.rk4_solve(Square(), [0.1], 1.0, 0)
    with pytest.raises(TypeError, match="f must be callable"):
        ode.rk4_solve(3, [0.1], 1.0, 10)


def test_loglog_slope():
    x = np.array([0.1, 0.05, 0.025, 0.0125])
    assert ode.loglog_slope(x, 3 * x**2) == pytest.approx(2.0, abs=1e-12)
    assert ode.loglog_slope(x.tolist(), torch.tensor(7 * x)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="y must be > 0"):
        ode.loglog_slope(x, -x)
    with pytest.raises(ValueError, match="same length"):
        ode.loglog_slope(x, x[:2])
    with pytest.raises(ValueError, match="two different values"):
        ode.loglog_slope([1.0, 1.0], [1.0, 2.0])


def test_residual_stack_is_first_order_in_tau():
    f = blocks.mlp(2, hidden=8, seed=1, gain=1.5)
    x0 = torch.tensor([[0.5, -0.3]], dtype=F64)
    T = 1.0
    ref = ode.rk4_solve(f, x0, T, 800)
    depths = np.array([64, 128, 256, 512])
    errors = []
    with torch.no_grad():
        for L in depths:
            net = blocks.residual_mlp_stack(
                2, int(L), T / L, hidden=8, seed=1, gain=1.5
            )
            errors.append((net(x0) - ref).norm().item())
    assert ode.loglog_slope(T / depths, errors) == pytest.approx(1.0, abs=0.05)


def test_flow_comparison_consistent_with_its_parts():
    f = blocks.mlp(2, hidden=8, seed=2)
    starts = [[0.5, 0.0], [-0.5, 0.4]]
    data = ode.flow_comparison(f, starts, 1.5, 6, reference_steps=300, grid_size=5)
    x0 = torch.tensor(starts, dtype=F64)
    with torch.no_grad():
        net = blocks.Stack(blocks.ResidualBlock(f, 0.25), 6).trajectory(x0)
    np.testing.assert_allclose(data.network, net.numpy(), atol=1e-15)
    ref = ode.rk4_solve(f, x0, 1.5, 300).numpy()
    np.testing.assert_allclose(data.exact[-1], ref, atol=1e-15)
    assert data.exact.shape == (301, 2, 2) and data.network.shape == (7, 2, 2)
    assert data.tau == pytest.approx(0.25)
    end = np.linalg.norm(data.network[-1] - ref, axis=-1).max()
    assert data.end_error == pytest.approx(end)
    assert data.grid_x.shape == (5, 5)
    # axis 0 of the grid is x1: the field there is f at (grid_x, grid_y)
    point = torch.tensor([[data.grid_x[1, 3], data.grid_y[1, 3]]], dtype=F64)
    with torch.no_grad():
        fx = f(point)[0].numpy()
    assert data.field_u[1, 3] == pytest.approx(fx[0])
    assert data.field_v[1, 3] == pytest.approx(fx[1])
    fig = ode.plot_flow_comparison(data)
    assert fig.axes[0].get_xlabel() == "$x_1$"
    matplotlib.pyplot.close(fig)


def test_flow_comparison_error_shrinks_with_depth():
    f = blocks.mlp(2, hidden=8, seed=3)
    starts = [[0.5, 0.0]]
    e = [ode.flow_comparison(f, starts, 1.0, L).end_error for L in (4, 8, 16)]
    assert e[0] > e[1] > e[2]
    assert math.isclose(e[1] / e[2], 2.0, rel_tol=0.15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(depth=0), "depth must be >= 1"),
        (dict(T=-1.0), "T must be > 0"),
        (dict(starts=[[0.0, 0.0, 0.0]]), r"shape \(n, 2\)"),
        (dict(grid_size=1), "grid_size must be >= 2"),
    ],
)
def test_flow_comparison_rejects_bad_input(kwargs, match):
    args = dict(f=blocks.mlp(2), starts=[[0.0, 1.0]], T=1.0, depth=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ode.flow_comparison(**args)
