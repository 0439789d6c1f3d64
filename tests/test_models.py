"""Tests of pathint_lib.models: the three classifiers, PDE blocks, gradient norms."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pathint_lib import models as M

NAMES = M.MODEL_NAMES


@pytest.fixture(autouse=True)
def one_thread():
    """Small convolutions run fastest, and steadiest on a busy CPU, on one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _moments(q):
    """m[i, j] = sum q[k1, k2] k1^i k2^j / (i! j!) of a 3x3 kernel (test's own)."""
    k = np.array([-1.0, 0.0, 1.0])
    m = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            weights = np.outer(k**i, k**j) / (math.factorial(i) * math.factorial(j))
            m[i, j] = float(np.sum(np.asarray(q) * weights))
    return m


# ------------------------------------------------------------------------ stencils


def test_operator_stencils_on_quadratics():
    """Central differences are exact on quadratics: compare with the derivatives."""
    h = 0.5
    n = 9
    x = torch.arange(n, dtype=torch.float64)[:, None] * h  # axis 0
    y = torch.arange(n, dtype=torch.float64)[None, :] * h  # axis 1
    a, b, c, d, e, f = 0.7, -1.3, 0.4, 2.0, -0.6, 0.9
    u = a * x**2 + b * x * y + c * y**2 + d * x + e * y + f
    exact = {
        "identity": u,
        "d_x": 2 * a * x + b * y + d,
        "d_y": b * x + 2 * c * y + e,
        "d_xx": 2 * a + 0 * u,
        "d_yy": 2 * c + 0 * u,
        "d_xy": b + 0 * u,
    }
    block = M.PDEBlock(1, h=h).double()
    derivs = block.derivatives(u[None, None])[0, 0]  # (6, n, n)
    for o, name in enumerate(M.OPERATOR_NAMES):
        torch.testing.assert_close(
            derivs[o, 1:-1, 1:-1], exact[name][1:-1, 1:-1], rtol=0, atol=1e-12,
            msg=f"stencil {name}",
        )


def test_stencil_moments():
    """Stencil of d^a/dx^a d^b/dy^b: moment m[a, b] = h^-(a+b), the other moments
    of order <= 2 zero."""
    h = 2.0
    orders = {"identity": (0, 0), "d_x": (1, 0), "d_y": (0, 1), "d_xx": (2, 0),
              "d_yy": (0, 2), "d_xy": (1, 1)}
    low_order = np.add.outer(np.arange(3), np.arange(3)) <= 2
    for name, q in M.operator_stencils(h).items():
        expected = np.zeros((3, 3))
        expected[orders[name]] = h ** -sum(orders[name])
        np.testing.assert_allclose(_moments(q)[low_order], expected[low_order],
                                   atol=1e-15, err_msg=name)


def test_stencil_bad_h():
    with pytest.raises(ValueError, match="h must be > 0, got 0.0"):
        M.operator_stencils(0.0)


# -------------------------------------------------------------------------- blocks


def test_zero_coefficients_give_identity():
    torch.manual_seed(0)
    block = M.PDEBlock(5, tau=0.7)
    zeros = np.zeros((5, 5))
    block.set_coefficients(c=zeros, b_x=zeros, b_y=zeros, D_xx=zeros, D_yy=zeros,
                           D_xy=zeros, bias=0.0)
    u = torch.randn(3, 5, 10, 12)
    assert torch.equal(block(u), u)


def test_zero_blocks_leave_the_stem_output():
    net = M.build_model("pde", 3, seed=0)
    for block in net.blocks:
        block.set_coefficients(**{k: 0.0 for k in M.BlockCoefficients.MATRIX_FIELDS},
                               bias=0.0)
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(net.features(x), F.relu(net.stem(x)), rtol=0, atol=0)


def test_read_back_what_was_set():
    rng = np.random.default_rng(3)
    block = M.PDEBlock(4, tau=0.25, h=0.5)
    values = {k: rng.normal(size=(4, 4)) for k in M.BlockCoefficients.MATRIX_FIELDS}
    values["bias"] = rng.normal(size=4)
    block.set_coefficients(**values)
    got = block.read_coefficients()
    for name, value in values.items():
        np.testing.assert_allclose(getattr(got, name), value, rtol=1e-6, atol=1e-7,
                                   err_msg=name)
    assert got.tau == 0.25 and got.h == 0.5
    per = got.per_channel()
    np.testing.assert_allclose(per["D"], 0.5 * (np.diag(values["D_xx"])
                                                + np.diag(values["D_yy"])), rtol=1e-6)
    np.testing.assert_allclose(per["b_y"], np.diag(values["b_y"]), rtol=1e-6)


def test_scalar_coefficient_fills_the_diagonal():
    block = M.PDEBlock(3)
    block.set_coefficients(D_xx=0.2, bias=[1.0, 2.0, 3.0])
    got = block.read_coefficients()
    np.testing.assert_allclose(got.D_xx, 0.2 * np.eye(3), rtol=1e-6)
    np.testing.assert_allclose(got.bias, [1.0, 2.0, 3.0])


def test_effective_kernel_moments_are_the_coefficients():
    """The block's kernel W_ij has moments c, b/h, D/h^2 (the book's convention)."""
    h = 0.5
    torch.manual_seed(1)
    block = M.PDEBlock(3, h=h).double()
    coef = block.read_coefficients()
    kernel = block.effective_kernel().detach().numpy()
    for i in range(3):
        for j in range(3):
            m = _moments(kernel[i, j])
            np.testing.assert_allclose(
                [m[0, 0], m[1, 0], m[0, 1], m[2, 0], m[0, 2], m[1, 1]],
                [coef.c[i, j], coef.b_x[i, j] / h, coef.b_y[i, j] / h,
                 coef.D_xx[i, j] / h**2, coef.D_yy[i, j] / h**2,
                 coef.D_xy[i, j] / h**2],
                rtol=1e-12, atol=1e-14,
            )


def test_rate_is_stencils_then_channel_mixing():
    """One dense conv equals depthwise stencils followed by per-operator mixing."""
    torch.manual_seed(2)
    block = M.PDEBlock(4, activation="tanh").double()
    u = torch.randn(2, 4, 9, 7, dtype=torch.float64)
    derivs = block.derivatives(u)  # (N, j, o, H, W)
    mixed = torch.einsum("ijo,njohw->nihw", block.coefficients, derivs)
    expected = torch.tanh(mixed + block.bias[None, :, None, None])
    torch.testing.assert_close(block.rate(u), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(block(u), u + block.tau * expected)


def test_linear_diffusion_step_against_numpy():
    """activation 'identity': u + tau*(D u_xx + b u_y + c u), computed by hand."""
    tau, D, b, c = 0.2, 0.3, -0.4, 0.1
    block = M.PDEBlock(1, tau=tau, activation="identity").double()
    zeros = {k: 0.0 for k in M.BlockCoefficients.MATRIX_FIELDS}
    block.set_coefficients(**{**zeros, "D_xx": D, "b_y": b, "c": c}, bias=0.0)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(8, 8))
    p = np.pad(u, 1)  # zero boundary
    u_xx = p[2:, 1:-1] - 2 * u + p[:-2, 1:-1]
    u_y = (p[1:-1, 2:] - p[1:-1, :-2]) / 2
    expected = u + tau * (D * u_xx + b * u_y + c * u)
    got = block(torch.tensor(u)[None, None])[0, 0].detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_set_coefficients_errors():
    block = M.PDEBlock(3)
    with pytest.raises(ValueError, match="unknown coefficient 'D'"):
        block.set_coefficients(D=1.0)
    with pytest.raises(ValueError, match=r"D_xx must have shape \(3, 3\)"):
        block.set_coefficients(D_xx=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        block.set_coefficients(bias=np.zeros(2))
    with pytest.raises(ValueError, match="c must be finite"):
        block.set_coefficients(c=float("nan"))
    with pytest.raises(ValueError, match="activation must be one of"):
        M.PDEBlock(3, activation="gelu")


def test_residual_and_plain_blocks():
    torch.manual_seed(0)
    res = M.ResidualBlock(4)
    plain = M.PlainBlock(4)
    plain.load_state_dict(res.state_dict())
    u = torch.randn(2, 4, 6, 6)
    branch = res.conv2(F.relu(res.conv1(u)))
    torch.testing.assert_close(res(u), F.relu(u + branch))
    torch.testing.assert_close(plain(u), F.relu(branch))


# -------------------------------------------------------------------------- models


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("side", [28, 8])
def test_output_shapes(name, side):
    model = M.build_model(name, 2, seed=0)
    out = model(torch.rand(5, 1, side, side))
    assert out.shape == (5, 10)
    assert model.features(torch.rand(5, 1, side, side)).shape[:2] == (5, model.width)


@pytest.mark.parametrize("depth", [1, 2, 4, 8, 16])
def test_parameter_counts_similar(depth):
    counts = {n: M.count_parameters(M.build_model(n, depth)) for n in NAMES}
    assert max(counts.values()) / min(counts.values()) < 1.1, counts
    for n in NAMES:
        width = M.default_width(n, depth)
        assert counts[n] == M.parameter_count(n, depth, width)


def test_parameter_count_formula_matches_modules():
    for name in NAMES:
        for kwargs in ({}, {"pool": 1}, {"pool": 2, "n_classes": 3}):
            model = M.build_model(name, 3, 5, **kwargs)
            assert M.count_parameters(model) == M.parameter_count(name, 3, 5, **kwargs)
    block = M.PDEBlock(7)
    assert M.count_parameters(block) == 6 * 49 + 7  # stencils are not parameters
    assert M.count_parameters(M.ResidualBlock(7)) == 18 * 49 + 14


def test_matching_width():
    target = M.parameter_count("resnet", 4, 8)
    w = M.matching_width("pde", 4, target)
    for other in (w - 1, w + 1):
        assert abs(M.parameter_count("pde", 4, w) - target) <= abs(
            M.parameter_count("pde", 4, other) - target
        )
    assert M.default_width("pde", 4) == w
    assert M.default_width("resnet", 4) == M.BASE_WIDTH


def test_describe_model():
    text = M.describe_model(M.build_model("resnet", 4))
    assert text == "ResNet(depth=4, width=8): 6,042 parameters"


def test_pde_net_reads_coefficients_per_block():
    net = M.build_model("pde", 3, 5, seed=0, tau=0.3)
    coefs = net.read_coefficients()
    assert len(coefs) == 3
    assert all(c.tau == 0.3 and c.c.shape == (5, 5) for c in coefs)
    assert not np.allclose(coefs[0].D_xx, coefs[1].D_xx)


def test_seed_reproducible_and_global_generator_untouched():
    state = torch.random.get_rng_state()
    a = M.build_model("pde", 2, seed=7)
    b = M.build_model("pde", 2, seed=7)
    c = M.build_model("pde", 2, seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.stem.weight, c.stem.weight)


def test_build_model_errors():
    with pytest.raises(ValueError, match="model name must be one of"):
        M.build_model("vgg", 4)
    with pytest.raises(ValueError, match="depth must be >= 0, got -1"):
        M.build_model("resnet", -1)
    with pytest.raises(ValueError, match=r"\['tau'\] apply only to model 'pde'"):
        M.build_model("plain", 2, tau=0.1)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['dropout'\]"):
        M.build_model("pde", 2, dropout=0.5)
    with pytest.raises(ValueError, match="tau must be > 0"):
        M.build_model("pde", 2, tau=0.0)
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        M.build_model("resnet", 2, 0)
    with pytest.warns(UserWarning, match="tau=2.0 > 1"):
        M.build_model("pde", 1, tau=2.0)


def test_depth_zero_is_stem_and_head():
    model = M.build_model("plain", 0, seed=0)
    x = torch.rand(3, 1, 28, 28)
    expected = model.head(F.adaptive_avg_pool2d(F.relu(model.stem(x)), 4).flatten(1))
    torch.testing.assert_close(model(x), expected)


# ----------------------------------------------------------------------- gradients


@pytest.fixture(scope="module")
def batch():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 28, 28, generator=gen)
    y = torch.arange(32) % 10
    return x, y


def test_first_layer_gradient_matches_backward(batch):
    x, y = batch
    model = M.build_model("resnet", 3, seed=0)
    g = M.first_layer_gradient_norm(model, x, y)
    assert model.stem.weight.grad is None  # .grad untouched
    F.cross_entropy(model(x), y).backward()
    assert g == pytest.approx(float(model.stem.weight.grad.norm()), rel=1e-6)
    norms = M.layer_gradient_norms(model, x.numpy(), y.tolist())
    assert len(norms) == 3 + 2
    assert norms[0] == pytest.approx(g, rel=1e-6)
    head = float(model.head.weight.grad.norm())
    assert norms[-1] == pytest.approx(head, rel=1e-6)


def test_plain_first_layer_gradient_vanishes_with_depth(batch):
    """At initialisation the plain stack loses its first-layer gradient; the
    residual and PDE stacks keep it (median over three seeds)."""
    x, y = batch

    def median_norm(name, depth):
        return float(np.median([
            M.first_layer_gradient_norm(M.build_model(name, depth, seed=s), x, y)
            for s in range(3)
        ]))

    plain = [median_norm("plain", d) for d in (1, 4, 8)]
    assert plain[0] > plain[1] > plain[2]
    assert plain[2] < 1e-4 * plain[0]
    for name in ("resnet", "pde"):
        shallow, deep = median_norm(name, 1), median_norm(name, 8)
        assert 0.2 < deep / shallow < 20, (name, shallow, deep)


def test_gradient_norm_bad_shapes(batch):
    x, y = batch
    model = M.build_model("plain", 1)
    with pytest.raises(ValueError, match="x must be images"):
        M.first_layer_gradient_norm(model, x, y[:5])
