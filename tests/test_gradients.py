"""Tests of pathint_lib.gradients: propagators, the unravelled view, path lengths."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pathint_lib import gradients as G
from pathint_lib.blocks import ResidualBlock, Stack


def _blocks(n, d, seed=0, scale=0.5):
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn((n, d, d), generator=gen, dtype=torch.float64)


def _linear_residual_stack(As):
    layers = []
    for A in As:
        f = nn.Linear(A.shape[0], A.shape[0], bias=False, dtype=torch.float64)
        with torch.no_grad():
            f.weight.copy_(A)
        layers.append(ResidualBlock(f, tau=1.0))
    return Stack.from_blocks(layers)


# ------------------------------------------------------------------ propagators


@pytest.mark.parametrize("residual", [True, False])
def test_linear_stack_has_the_propagator_as_jacobian(residual):
    As = _blocks(4, 3, seed=6)
    stack = G.linear_stack(As, residual=residual)
    u0 = torch.randn(3, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(stack, u0)
    P = G.propagator(As) if residual else G.plain_propagator(As)
    assert torch.allclose(J, P, atol=1e-13, rtol=0)
    assert torch.allclose(stack(u0), P @ u0, atol=1e-13)


def test_propagator_is_the_jacobian_of_the_linear_residual_stack():
    As = _blocks(5, 4, seed=1)
    stack = _linear_residual_stack(As)
    u0 = torch.randn(4, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(stack, u0)
    assert torch.allclose(G.propagator(As), J, atol=1e-13, rtol=0)


def test_propagator_order_block_one_acts_first():
    A1, A2 = _blocks(2, 3, seed=2)
    eye = torch.eye(3, dtype=torch.float64)
    expected = (eye + A2) @ (eye + A1)
    assert torch.allclose(G.propagator([A1, A2]), expected, atol=1e-14)
    # the two orders differ for these matrices, so the test can tell them apart
    assert not torch.allclose(expected, (eye + A1) @ (eye + A2), atol=1e-3)
    assert torch.allclose(G.plain_propagator([A1, A2]), A2 @ A1, atol=1e-14)


def test_zero_blocks_give_identity_and_lists_and_numpy_are_accepted():
    As = np.zeros((0, 3, 3))
    assert torch.equal(G.propagator(As), torch.eye(3, dtype=torch.float64))
    assert torch.equal(G.plain_propagator(As), torch.eye(3, dtype=torch.float64))
    lst = [[[0.5]], [[0.25]]]
    assert float(G.propagator(lst)) == pytest.approx(1.5 * 1.25)
    assert float(G.plain_propagator(lst)) == pytest.approx(0.125)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 3, 4)), "square"),
        (np.zeros((3, 3)), "square"),
        (np.full((1, 2, 2), np.nan), "finite"),
    ],
)
def test_bad_blocks_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        G.propagator(bad)


# ------------------------------------------------------------ unravelled view


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 7), d=st.integers(1, 4), seed=st.integers(0, 1000))
def test_unravelled_sum_equals_propagator(n, d, seed):
    As = _blocks(n, d, seed)
    assert torch.allclose(G.unravelled_sum(As), G.propagator(As), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 7), d=st.integers(1, 4), seed=st.integers(0, 1000))
def test_path_length_parts_agree_with_enumeration_and_add_up(n, d, seed):
    As = _blocks(n, d, seed)
    parts = G.path_length_jacobians(As)
    assert parts.shape == (n + 1, d, d)
    assert torch.allclose(parts, G.unravelled_sum(As, by_length=True), atol=1e-12)
    assert torch.allclose(parts.sum(0), G.propagator(As), atol=1e-12)


def test_path_length_parts_of_scalar_blocks_are_binomial():
    # A_i = a I for all i: P_k = C(n, k) a^k I
    n, a = 9, 0.3
    As = a * torch.eye(2, dtype=torch.float64).expand(n, 2, 2)
    parts = G.path_length_jacobians(As)
    expected = torch.tensor([math.comb(n, k) * a**k for k in range(n + 1)])
    assert torch.allclose(parts[:, 0, 0], expected.double(), atol=1e-14)
    assert torch.all(parts[:, 0, 1] == 0)


def test_path_length_parts_first_last_and_generating_polynomial():
    As = _blocks(6, 3, seed=4)
    parts = G.path_length_jacobians(As)
    assert torch.equal(parts[0], torch.eye(3, dtype=torch.float64))
    assert torch.allclose(parts[1], As.sum(0), atol=1e-14)
    assert torch.allclose(parts[-1], G.plain_propagator(As), atol=1e-13)
    # sum_k z^k P_k is the propagator of the blocks z A_i
    z = 0.37
    poly = sum(z**k * parts[k] for k in range(7))
    assert torch.allclose(poly, G.propagator(z * As), atol=1e-13)


def test_unravelled_sum_refuses_many_blocks():
    As = np.zeros((G.MAX_UNRAVELLED_BLOCKS + 1, 1, 1))
    with pytest.raises(ValueError, match="path_length_jacobians"):
        G.unravelled_sum(As)
    # the polynomial route has no such limit
    parts = G.path_length_jacobians(0.1 * np.ones((40, 1, 1)))
    assert float(parts.sum()) == pytest.approx(1.1**40, rel=1e-12)


def test_unravelled_sum_refuses_too_much_memory():
    As = np.zeros((16, 64, 64))
    with pytest.raises(ValueError, match="path_length_jacobians"):
        G.unravelled_sum(As)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 6), d=st.integers(1, 4), seed=st.integers(0, 1000))
def test_path_length_vjp_matches_jacobian_parts(n, d, seed):
    As = _blocks(n, d, seed)
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(d, generator=gen, dtype=torch.float64)
    expected = torch.einsum("i,kij->kj", g, G.path_length_jacobians(As))
    assert torch.allclose(G.path_length_vjp(As, g), expected, atol=1e-12)
    plain = G.path_length_vjp(As, g, skip=False)
    assert torch.allclose(plain[-1], g @ G.plain_propagator(As), atol=1e-12)
    assert torch.all(plain[:-1] == 0)


def test_path_length_vjp_refuses_wrong_shape():
    with pytest.raises(ValueError, match="g must have shape"):
        G.path_length_vjp(np.zeros((2, 3, 3)), [1.0, 2.0])


# ------------------------------------------------------------- random blocks


def test_random_blocks_are_seeded_and_scaled():
    A = G.random_blocks(50, 20, sigma=0.7, seed=3)
    assert A.shape == (50, 20, 20) and A.dtype == torch.float64
    assert torch.equal(A, G.random_blocks(50, 20, sigma=0.7, seed=3))
    assert not torch.equal(A, G.random_blocks(50, 20, sigma=0.7, seed=4))
    # variance sigma^2/d = 0.0245, from 20,000 entries: relative error ~1 %
    assert float(A.var()) == pytest.approx(0.49 / 20, rel=0.05)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_blocks=-1, dim=2), "n_blocks"),
        (dict(n_blocks=2, dim=0), "dim"),
        (dict(n_blocks=2, dim=2, sigma=0.0), "sigma"),
    ],
)
def test_random_blocks_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        G.random_blocks(**bad)


def test_norm_growth_monte_carlo_matches_exact_and_rejects_wrong_laws():
    L, d, sigma = 8, 6, 0.6
    res = G.norm_growth_monte_carlo(L, d, sigma, n_samples=20_000, seed=1)
    exact = (1 + sigma**2) ** L
    assert abs(res.z_score(exact)) < 4
    # a wrong law (no cross-term cancellation, 1 + 2 sigma^2 ...) is far off
    assert abs(res.z_score((1 + sigma**2 / 2) ** L)) > 10
    plain = G.norm_growth_monte_carlo(L, d, sigma, 20_000, seed=2, residual=False)
    assert abs(plain.z_score(sigma ** (2 * L))) < 4
    assert abs(plain.z_score(sigma**L)) > 10


def test_norm_growth_monte_carlo_needs_two_samples():
    with pytest.raises(ValueError, match="n_samples"):
        G.norm_growth_monte_carlo(2, 2, n_samples=1)


# ---------------------------------------------------------------- ReLU networks


@pytest.fixture(scope="module")
def batch():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((6, 1, 28, 28), generator=gen, dtype=torch.float64)
    y = torch.arange(6)
    return x, y


def _autograd_input_gradient(model, x, y):
    h0 = model.features(x).detach().requires_grad_(True)
    loss = F.cross_entropy(model.head(model.stack(h0)), y, reduction="sum")
    return torch.autograd.grad(loss, h0)[0]


@pytest.mark.parametrize("residual", [True, False])
def test_path_length_gradients_add_up_to_autograd(batch, residual):
    x, y = batch
    model = G.ReLUMLP(7, width=16, gain=0.4, residual=residual, seed=1,
                      dtype=torch.float64)
    parts = G.path_length_gradients(model, x, y)
    assert parts.shape == (6, 8, 16)
    grad = _autograd_input_gradient(model, x, y)
    assert torch.allclose(parts.sum(1), grad, atol=1e-13)
    if residual:
        assert float(parts[:, :-1].abs().sum()) > 0
    else:
        assert torch.all(parts[:, :-1] == 0)


def test_block_jacobians_split_the_stack_jacobian(batch):
    x, _ = batch
    model = G.ReLUMLP(5, width=12, gain=0.7, seed=2, dtype=torch.float64)
    As = model.block_jacobians(x[:1])
    assert As.shape == (5, 12, 12)
    h0 = model.features(x[:1]).detach()[0]
    J = torch.autograd.functional.jacobian(model.stack, h0)
    assert torch.allclose(G.path_length_jacobians(As).sum(0), J, atol=1e-13)
    # one block: A = g D W, with D the activation pattern of the input
    one = G.ReLUMLP(1, width=12, gain=0.7, seed=2, dtype=torch.float64)
    d = one.activation_patterns(x[:1])[0, 0]
    expected = 0.7 * d[:, None] * one.layers[0].weight
    assert torch.allclose(one.block_jacobians(x[:1])[0], expected, atol=1e-15)


def test_path_length_gradients_match_jacobian_parts_per_input(batch):
    x, y = batch
    model = G.ReLUMLP(4, width=10, gain=0.5, seed=3, dtype=torch.float64)
    parts = G.path_length_gradients(model, x[2:3], y[2:3])[0]
    As = model.block_jacobians(x[2:3])
    h0 = model.features(x[2:3]).detach()
    hL = model.stack(h0).detach().requires_grad_(True)
    loss = F.cross_entropy(model.head(hL), y[2:3], reduction="sum")
    g = torch.autograd.grad(loss, hL)[0][0]
    assert torch.allclose(parts, G.path_length_vjp(As, g), atol=1e-13)


def test_relu_mlp_shapes_and_input_checks(batch):
    x, y = batch
    model = G.ReLUMLP(3, width=8, seed=0)
    assert model(x.float()).shape == (6, 10)
    assert model.n_in == 196
    assert G.ReLUMLP(0, width=8, pool=1).n_in == 784
    with pytest.raises(ValueError, match="pool must divide"):
        G.ReLUMLP(2, pool=3)
    with pytest.raises(ValueError, match="gain"):
        G.ReLUMLP(2, gain=0.0)
    with pytest.raises(ValueError, match="one input"):
        model.block_jacobians(x.float())
    with pytest.raises(ValueError, match="x must be images"):
        model(torch.zeros(2, 10))
    with pytest.raises(TypeError, match="ReLUMLP"):
        G.path_length_gradients(nn.Linear(2, 2), x, y)


def test_input_gradient_norm_is_rms_of_autograd(batch):
    x, y = batch
    model = G.ReLUMLP(3, width=8, gain=0.5, seed=5, dtype=torch.float64)
    grad = _autograd_input_gradient(model, x, y)
    expected = float(grad.pow(2).sum(1).mean().sqrt())
    assert G.input_gradient_norm(model, x, y) == pytest.approx(expected, rel=1e-12)


def test_plain_relu_gradient_vanishes_with_depth_at_small_weights(batch):
    # weight_std 1: a ReLU layer halves the mean square, so the gradient shrinks
    x, y = batch
    norms = [
        G.input_gradient_norm(
            G.ReLUMLP(L, width=64, residual=False, weight_std=1.0, seed=0,
                      dtype=torch.float64), x, y)
        for L in (2, 20)
    ]
    assert norms[1] < 1e-2 * norms[0]
