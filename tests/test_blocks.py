"""Tests of pathint_lib.blocks: residual/plain blocks, convolution layers, stacks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pathint_lib import blocks
from pathint_lib.blocks import (
    PlainBlock,
    ResidualBlock,
    ResidualConv1d,
    ResidualConv2d,
    Stack,
    make_stack,
)

F64 = torch.float64


def stencil_1d(u, k):
    """Hand-written periodic residual step u_j + sum_s k[r+s] u_{(j+s) mod n}."""
    u = np.asarray(u, dtype=float)
    n, r = u.shape[-1], len(k) // 2
    out = u.copy()
    for j in range(n):
        for s in range(-r, r + 1):
            out[..., j] += k[r + s] * u[..., (j + s) % n]
    return out


def stencil_2d(u, q):
    """Hand-written periodic residual step on the last two axes (axis -2 is x)."""
    u = np.asarray(u, dtype=float)
    n1, n2 = u.shape[-2:]
    r1, r2 = q.shape[0] // 2, q.shape[1] // 2
    out = u.copy()
    for i in range(n1):
        for j in range(n2):
            for s1 in range(-r1, r1 + 1):
                for s2 in range(-r2, r2 + 1):
                    out[..., i, j] += (
                        q[r1 + s1, r2 + s2] * u[..., (i + s1) % n1, (j + s2) % n2]
                    )
    return out


def kernel_formula(D, b, c, h, tau):
    return tau * (
        D / h**2 * np.array([1.0, -2.0, 1.0])
        + b / (2 * h) * np.array([-1.0, 0.0, 1.0])
        + c * np.array([0.0, 1.0, 0.0])
    )


ASYM = np.array([0.3, -0.5, 0.9])


# ----------------------------------------------------------------- simple blocks


def test_residual_block_is_x_plus_tau_f():
    torch.manual_seed(0)
    f = nn.Linear(3, 3, dtype=F64)
    x = torch.randn(5, 3, dtype=F64)
    out = ResidualBlock(f, 0.25)(x)
    torch.testing.assert_close(out, x + 0.25 * f(x), rtol=0, atol=1e-15)


def test_plain_block_is_f():
    torch.manual_seed(0)
    f = nn.Linear(3, 3, dtype=F64)
    x = torch.randn(5, 3, dtype=F64)
    torch.testing.assert_close(PlainBlock(f)(x), f(x), rtol=0, atol=0)


@pytest.mark.parametrize("tau", [0.0, -0.1, math.nan, math.inf])
def test_residual_block_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau must be"):
        ResidualBlock(nn.Identity(), tau)


def test_blocks_reject_non_modules():
    with pytest.raises(TypeError, match="f must be a torch.nn.Module"):
        ResidualBlock(lambda x: x, 0.1)
    with pytest.raises(TypeError, match="f must be a torch.nn.Module"):
        PlainBlock(np.sin)
    with pytest.raises(TypeError, match="tau must be a real number"):
        ResidualBlock(nn.Identity(), "0.1")


# ------------------------------------------------------------------ ResidualConv1d


def test_conv1d_equals_hand_written_stencil():
    u = np.random.default_rng(1).normal(size=11)
    out = ResidualConv1d(ASYM)(torch.tensor(u)).numpy()
    np.testing.assert_allclose(out, stencil_1d(u, ASYM), rtol=0, atol=1e-14)
    # The test distinguishes the orientation: the flipped kernel gives another answer.
    flipped = stencil_1d(u, ASYM[::-1])
    assert np.max(np.abs(out - flipped)) > 0.1


def test_conv1d_offsets_follow_cross_correlation():
    # (k * u)_j = k0 u_{j-1} + k1 u_j + k2 u_{j+1}: a unit spike at j = 4 lands as
    # k2 at j = 3 and k0 at j = 5.
    u = torch.zeros(9, dtype=F64)
    u[4] = 1.0
    out = ResidualConv1d(ASYM)(u)
    assert out[3].item() == pytest.approx(ASYM[2])
    assert out[5].item() == pytest.approx(ASYM[0])
    assert out[4].item() == pytest.approx(1.0 + ASYM[1])


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 9),
    radius=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_conv1d_any_odd_kernel_any_grid(n, radius, seed):
    rng = np.random.default_rng(seed)
    k = rng.normal(size=2 * radius + 1)
    u = rng.normal(size=(2, n))
    out = ResidualConv1d(k)(torch.tensor(u)).numpy()
    np.testing.assert_allclose(out, stencil_1d(u, k), rtol=0, atol=1e-12)


def test_conv1d_shapes_and_depthwise_channels():
    rng = np.random.default_rng(2)
    layer = ResidualConv1d(ASYM)
    u3 = rng.normal(size=(4, 3, 10))
    out3 = layer(torch.tensor(u3))
    assert out3.shape == (4, 3, 10)
    np.testing.assert_allclose(out3.numpy(), stencil_1d(u3, ASYM), atol=1e-14)
    assert layer(torch.tensor(u3[:, 0])).shape == (4, 10)
    assert layer(torch.tensor(u3[0, 0])).shape == (10,)


def test_conv1d_per_channel_kernels():
    rng = np.random.default_rng(3)
    ks = np.array([[0.1, 0.2, 0.7], [-0.4, 0.0, 0.3]])
    u = rng.normal(size=(2, 2, 7))
    out = ResidualConv1d(ks)(torch.tensor(u)).numpy()
    for ch in range(2):
        np.testing.assert_allclose(out[:, ch], stencil_1d(u[:, ch], ks[ch]), atol=1e-14)
    with pytest.raises(ValueError, match="per-channel kernel"):
        ResidualConv1d(ks)(torch.tensor(u[:, 0]))


def test_conv1d_learnable_versus_buffer():
    fixed = ResidualConv1d(ASYM)
    assert list(fixed.parameters()) == []
    assert "kernel" in fixed.state_dict()
    learn = ResidualConv1d(ASYM, learnable=True)
    assert [p.shape for p in learn.parameters()] == [torch.Size([3])]
    u = torch.randn(3, 8, dtype=F64)
    learn(u).sum().backward()
    # d/dk_s of sum_j (u + k*u)_j = sum_j u_{j+s} = sum(u) for every offset s.
    expected = torch.full((3,), u.sum().item(), dtype=F64)
    torch.testing.assert_close(learn.kernel.grad, expected)


def test_conv1d_dtype_device_and_plain_input():
    layer = ResidualConv1d(ASYM)
    assert layer.kernel.dtype == F64 and layer.kernel.device.type == "cpu"
    out = layer([1.0, 2.0, 3.0, 4.0])
    assert out.dtype == F64
    np.testing.assert_allclose(out.numpy(), stencil_1d([1, 2, 3, 4], ASYM), atol=1e-14)
    with pytest.raises(ValueError, match="dtype"):
        layer(torch.ones(5, dtype=torch.float32))
    layer32 = ResidualConv1d(ASYM, dtype=torch.float32)
    assert layer32(torch.ones(5, dtype=torch.float32)).dtype == torch.float32
    moved = layer.to("cpu")
    assert moved.kernel.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no cuda device")
def test_conv1d_on_cuda_matches_cpu():
    u = torch.randn(2, 3, 16, dtype=F64)
    cpu = ResidualConv1d(ASYM)(u)
    gpu = ResidualConv1d(ASYM, device="cuda")(u.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=1e-14)


def test_conv1d_layer_weights():
    w = ResidualConv1d(ASYM).layer_weights
    np.testing.assert_allclose(w.numpy(), [0.3, 0.5, 0.9])


@pytest.mark.parametrize(
    "kernel, match",
    [
        ([0.1, 0.2], "odd length"),
        ([0.1, np.nan, 0.2], "finite"),
        ([[[0.1]]], "axes"),
        (np.zeros((2, 4)), "per-channel kernel"),
        ("abc", "array of real numbers"),
    ],
)
def test_conv1d_rejects_bad_kernels(kernel, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ResidualConv1d(kernel)


def test_conv1d_rejects_bad_input_shape():
    with pytest.raises(ValueError, match="axes"):
        ResidualConv1d(ASYM)(torch.zeros(1, 1, 1, 4, dtype=F64))
    with pytest.raises(ValueError, match="non-empty"):
        ResidualConv1d(ASYM)(torch.zeros(2, 0, dtype=F64))


def test_from_coefficients_matches_formula_and_moments():
    D, b, c, h, tau = 0.3, 0.7, -0.2, 0.1, 1e-3
    layer = ResidualConv1d.from_coefficients(D, b, c, h, tau)
    k = layer.kernel.numpy()
    np.testing.assert_allclose(k, kernel_formula(D, b, c, h, tau), rtol=1e-14)
    offsets = np.array([-1.0, 0.0, 1.0])
    m0, m1, m2 = (np.sum(k * offsets**i) / math.factorial(i) for i in range(3))
    assert m0 / tau == pytest.approx(c, rel=1e-12)
    assert h * m1 / tau == pytest.approx(b, rel=1e-12)
    assert h**2 * m2 / tau == pytest.approx(D, rel=1e-12)


def test_from_coefficients_drift_moves_content_toward_minus_x():
    # For u0 = sin the exact solution is exp(-D t) sin(x + b t): with b > 0 content
    # moves toward -x. A little diffusion keeps the explicit step stable.
    n, D, b, tau = 256, 1e-3, 1.0, 1e-3
    x = np.arange(n) * 2 * np.pi / n
    h = 2 * np.pi / n
    layer = ResidualConv1d.from_coefficients(D, b, 0.0, h, tau)
    out = layer(torch.tensor(np.sin(x))).numpy()
    exact = np.exp(-D * tau) * np.sin(x + b * tau)
    # local error ~ tau^2 b^2/2 + tau b h^2/6 ~ 6e-7; the wrong direction ~ 2e-3
    assert np.max(np.abs(out - exact)) < 2e-6


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.1, 0.0, 0.0, 0.0, 0.1), "h must be > 0"),
        ((0.1, 0.0, 0.0, 0.1, -1.0), "tau must be > 0"),
        ((math.nan, 0.0, 0.0, 0.1, 0.1), "D must be finite"),
    ],
)
def test_from_coefficients_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ResidualConv1d.from_coefficients(*args)


# ------------------------------------------------------------------ ResidualConv2d

ASYM2 = np.array([[0.1, -0.2, 0.3], [0.4, -0.5, 0.6], [0.7, 0.8, -0.9]])


def test_conv2d_equals_hand_written_stencil():
    rng = np.random.default_rng(4)
    u = rng.normal(size=(2, 6, 5))
    out = ResidualConv2d(ASYM2)(torch.tensor(u)).numpy()
    np.testing.assert_allclose(out, stencil_2d(u, ASYM2), rtol=0, atol=1e-13)
    for other in (ASYM2[::-1], ASYM2[:, ::-1], ASYM2.T):
        assert np.max(np.abs(out - stencil_2d(u, other))) > 0.1


def test_conv2d_rectangular_kernel_and_per_channel():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(3, 5))
    u = rng.normal(size=(7, 4))
    out = ResidualConv2d(q)(torch.tensor(u)).numpy()
    np.testing.assert_allclose(out, stencil_2d(u, q), atol=1e-13)
    qs = rng.normal(size=(2, 3, 3))
    v = rng.normal(size=(1, 2, 5, 5))
    out = ResidualConv2d(qs)(torch.tensor(v)).numpy()
    for ch in range(2):
        np.testing.assert_allclose(out[0, ch], stencil_2d(v[0, ch], qs[ch]), atol=1e-13)


def test_conv2d_shapes():
    layer = ResidualConv2d(ASYM2)
    assert layer(torch.zeros(4, 5, dtype=F64)).shape == (4, 5)
    assert layer(torch.zeros(3, 4, 5, dtype=F64)).shape == (3, 4, 5)
    assert layer(torch.zeros(3, 2, 4, 5, dtype=F64)).shape == (3, 2, 4, 5)
    with pytest.raises(ValueError, match="odd length"):
        ResidualConv2d(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="axes"):
        layer(torch.zeros(5, dtype=F64))


def moments_2d(q):
    k1 = np.arange(q.shape[0]) - q.shape[0] // 2
    k2 = np.arange(q.shape[1]) - q.shape[1] // 2
    return {
        (i, j): np.sum(q * np.outer(k1**i, k2**j))
        / (math.factorial(i) * math.factorial(j))
        for i in range(3)
        for j in range(3)
    }


def test_kernel_2d_moments_give_back_the_coefficients():
    Dxx, Dxy, Dyy, bx, by, c, h, tau = 0.3, 0.1, 0.5, 0.7, -0.4, -0.2, 0.1, 1e-3
    q = blocks.residual_kernel_2d(Dxx, Dxy, Dyy, bx, by, c, h, tau)
    m = moments_2d(q)
    assert m[0, 0] / tau == pytest.approx(c, rel=1e-12)
    assert h * m[1, 0] / tau == pytest.approx(bx, rel=1e-12)
    assert h * m[0, 1] / tau == pytest.approx(by, rel=1e-12)
    assert h**2 * m[2, 0] / tau == pytest.approx(Dxx, rel=1e-12)
    assert h**2 * m[0, 2] / tau == pytest.approx(Dyy, rel=1e-12)
    assert h**2 * m[1, 1] / tau == pytest.approx(2 * Dxy, rel=1e-12)


def test_kernel_2d_approximates_the_pde_right_hand_side_on_axes():
    # u = sin(x) cos(2y): axis 0 is x, axis 1 is y; swapping them would fail.
    Dxx, Dxy, Dyy, bx, by, c = 0.3, 0.1, 0.5, 0.7, -0.4, -0.2
    n, tau = 64, 1.0
    h = 2 * np.pi / n
    x, y = np.meshgrid(np.arange(n) * h, np.arange(n) * h, indexing="ij")
    u = np.sin(x) * np.cos(2 * y)
    rhs = (
        -Dxx * u
        - 4 * Dyy * u
        + 2 * Dxy * (-2 * np.cos(x) * np.sin(2 * y))
        + bx * np.cos(x) * np.cos(2 * y)
        - 2 * by * np.sin(x) * np.sin(2 * y)
        + c * u
    )
    layer = ResidualConv2d.from_coefficients_2d(Dxx, Dxy, Dyy, bx, by, c, h, tau)
    approx = (layer(torch.tensor(u)).numpy() - u) / tau
    assert np.max(np.abs(approx - rhs)) < 0.02  # O(h^2) with h ~ 0.1


def test_kernel_2d_agrees_with_pde_module_when_present():
    pde = pytest.importorskip("pathint_lib.pde")
    if not hasattr(pde, "kernel_from_coefficients_2d"):
        pytest.skip("pathint_lib.pde has no kernel_from_coefficients_2d")
    Dxx, Dxy, Dyy, bx, by, c, h, tau = 0.3, 0.1, 0.5, 0.7, -0.4, -0.2, 0.1, 1e-3
    ours = blocks.residual_kernel_2d(Dxx, Dxy, Dyy, bx, by, c, h, tau)
    theirs = pde.kernel_from_coefficients_2d(
        [[Dxx, Dxy], [Dxy, Dyy]], [bx, by], c, h, tau
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-15)


def test_conv2d_isotropic_is_five_point_laplacian():
    D, bx, by, c, h, tau = 0.2, 0.0, 0.0, 0.0, 0.5, 0.1
    q = ResidualConv2d.from_coefficients(D, bx, by, c, h, tau).kernel.numpy()
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]) * tau * D / h**2
    np.testing.assert_allclose(q, lap, atol=1e-15)
    full = ResidualConv2d.from_coefficients(0.2, 0.3, -0.1, 0.4, h, tau).kernel
    alt = ResidualConv2d.from_coefficients_2d(0.2, 0.0, 0.2, 0.3, -0.1, 0.4, h, tau)
    torch.testing.assert_close(full, alt.kernel, rtol=0, atol=0)


def test_kernel_2d_rejects_bad_steps():
    with pytest.raises(ValueError, match="h must be > 0"):
        blocks.residual_kernel_2d(1, 0, 1, 0, 0, 0, 0.0, 0.1)
    with pytest.raises(ValueError, match="tau must be > 0"):
        blocks.residual_kernel_2d(1, 0, 1, 0, 0, 0, 0.1, 0.0)


# --------------------------------------------------------------------------- stacks


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_stack_equals_block_applied_depth_times(depth):
    block = ResidualConv1d(ASYM * 0.1)
    u = torch.randn(2, 9, dtype=F64)
    expected = u
    for _ in range(depth):
        expected = block(expected)
    torch.testing.assert_close(Stack(block, depth)(u), expected, rtol=0, atol=0)
    # ... which is the (depth)-fold stencil, computed by hand.
    hand = u.numpy()
    for _ in range(depth):
        hand = stencil_1d(hand, ASYM * 0.1)
    np.testing.assert_allclose(Stack(block, depth)(u).numpy(), hand, atol=1e-13)


def test_stack_shared_and_independent_weights():
    f = nn.Linear(2, 2, dtype=F64)
    shared = Stack(ResidualBlock(f, 0.1), 4)
    assert sum(p.numel() for p in shared.parameters()) == 6
    assert all(b is shared[0] for b in shared)
    indep = Stack(ResidualBlock(f, 0.1), 4, share_weights=False)
    assert sum(p.numel() for p in indep.parameters()) == 24
    x = torch.randn(3, 2, dtype=F64)
    torch.testing.assert_close(indep(x), shared(x), rtol=0, atol=0)
    with torch.no_grad():
        indep[1].f.weight.add_(1.0)
    assert not torch.allclose(indep[0].f.weight, indep[1].f.weight)
    assert torch.equal(indep[0].f.weight, f.weight)


def test_stack_trajectory_and_indexing():
    block = ResidualBlock(nn.Tanh(), 0.5)
    stack = Stack(block, 3)
    x = torch.randn(4, 2, dtype=F64)
    path = stack.trajectory(x)
    assert path.shape == (4, 4, 2)
    torch.testing.assert_close(path[0], x)
    torch.testing.assert_close(path[-1], stack(x))
    torch.testing.assert_close(path[2], block(block(x)))
    assert len(stack) == 3 and stack[-1] is block
    with pytest.raises(IndexError):
        stack[3]


def test_make_stack_builds_independent_blocks():
    calls = []

    def factory():
        calls.append(1)
        return ResidualBlock(nn.Linear(2, 2, dtype=F64), 0.1)

    stack = make_stack(factory, 3)
    assert len(calls) == 3 and len(stack) == 3
    assert stack[0] is not stack[1]
    x = torch.randn(2, 2, dtype=F64)
    torch.testing.assert_close(stack(x), stack[2](stack[1](stack[0](x))))
    assert len(make_stack(factory, 0)) == 0


def test_stack_rejects_bad_depth():
    with pytest.raises(ValueError, match="depth must be >= 0, got -1"):
        Stack(nn.Identity(), -1)
    with pytest.raises(TypeError, match="depth must be an integer"):
        Stack(nn.Identity(), 2.0)
    with pytest.raises(TypeError, match="block must be a torch.nn.Module"):
        Stack(np.sin, 2)
    with pytest.raises(TypeError, match="factory must be callable"):
        make_stack(3, 2)


# ------------------------------------------------------------------- MLP helpers


def test_residual_mlp_stack_is_euler_for_its_mlp():
    f = blocks.mlp(3, hidden=5, seed=7)
    stack = blocks.residual_mlp_stack(3, 6, 0.2, hidden=5, seed=7)
    x = torch.randn(4, 3, dtype=F64)
    expected = x
    with torch.no_grad():
        for _ in range(6):
            expected = expected + 0.2 * f(expected)
        torch.testing.assert_close(stack(x), expected, rtol=0, atol=1e-15)
    plain = blocks.plain_mlp_stack(3, 2, hidden=5, seed=7)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), f(f(x)), rtol=0, atol=1e-15)


def test_mlp_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = blocks.mlp(2, seed=3)
    b = blocks.mlp(2, seed=3)
    c = blocks.mlp(2, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a[0].weight, b[0].weight)
    assert not torch.equal(a[0].weight, c[0].weight)
    assert a[0].weight.dtype == F64
    assert isinstance(a[1], nn.Tanh)
    assert isinstance(blocks.mlp(2, activation="relu")[1], nn.ReLU)


def test_mlp_init_scale():
    w = blocks.mlp(400, seed=0, gain=2.0)[0].weight
    assert w.std().item() == pytest.approx(2.0 / 20.0, rel=0.02)


def test_independent_mlp_stack_layers_differ():
    stack = blocks.residual_mlp_stack(2, 3, 0.1, share_weights=False, seed=1)
    w = [stack[i].f[0].weight for i in range(3)]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    assert torch.equal(w[0], blocks.mlp(2, seed=1)[0].weight)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(width=0, depth=2, tau=0.1), ValueError, "width must be >= 1"),
        (dict(width=2, depth=-1, tau=0.1), ValueError, "depth must be >= 0"),
        (dict(width=2, depth=2, tau=0.0), ValueError, "tau must be > 0"),
        (dict(width=2, depth=2, tau=0.1, activation="swish"), ValueError, "activation"),
        (dict(width=2, depth=2, tau=0.1, hidden=0), ValueError, "hidden must be"),
        (dict(width=2, depth=2, tau=0.1, gain=-1.0), ValueError, "gain must be > 0"),
    ],
)
def test_mlp_stack_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        blocks.residual_mlp_stack(**kwargs)
