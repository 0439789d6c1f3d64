"""Tests of pathint_lib.paths: lattice path sums, enumeration, action, sampling."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pathint_lib import paths as P

weight = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
weights3 = st.tuples(weight, weight, weight)


def layer_loop(kernel, u0, depth):
    """Hand-written periodic residual layers u <- u + k * u (cross-correlation)."""
    u = np.array(u0, dtype=float)
    for _ in range(depth):
        # np.roll(u, 1)[j] = u[j-1], np.roll(u, -1)[j] = u[j+1]
        u = u + kernel[0] * np.roll(u, 1, -1) + kernel[1] * u + kernel[2] * np.roll(
            u, -1, -1
        )
    return u


def brute_sum(w, depth):
    steps, weights = P.enumerate_paths(w, depth)
    return np.bincount(
        steps.sum(axis=1, dtype=np.int64) + depth, weights=weights,
        minlength=2 * depth + 1,
    )


# ------------------------------------------------------------------ path_counts


def test_path_counts_small():
    assert list(P.path_counts(0)) == [1]
    assert list(P.path_counts(1)) == [1, 1, 1]
    assert list(P.path_counts(3)) == [1, 3, 6, 7, 6, 3, 1]


@pytest.mark.parametrize("depth", [0, 1, 2, 5, 9])
def test_path_counts_match_enumeration(depth):
    steps, _ = P.enumerate_paths([1, 1, 1], depth)
    hist = np.bincount(steps.sum(axis=1, dtype=np.int64) + depth,
                       minlength=2 * depth + 1)
    assert list(hist) == list(P.path_counts(depth))


@pytest.mark.parametrize("depth", [10, 40, 120])
def test_path_counts_exact_formula(depth):
    counts = P.path_counts(depth)
    assert sum(counts) == 3**depth
    for m in (-depth, -3, 0, 1, depth // 2, depth):
        # choose n_plus = n_minus + m steps up, n_minus down, the rest flat
        expected = sum(
            math.factorial(depth)
            // (math.factorial(k) * math.factorial(k + abs(m))
                * math.factorial(depth - 2 * k - abs(m)))
            for k in range(0, (depth - abs(m)) // 2 + 1)
        )
        assert counts[m + depth] == expected


def test_path_counts_bad_input():
    with pytest.raises(ValueError, match="depth must be >= 0, got -1"):
        P.path_counts(-1)
    with pytest.raises(TypeError, match="depth"):
        P.path_counts(2.5)


# ------------------------------------------------------------------ path_sum


@settings(max_examples=60, deadline=None)
@given(weights3, st.integers(0, 7))
def test_enumeration_equals_transfer_sum(w, depth):
    scale = max(1.0, sum(abs(v) for v in w)) ** depth
    np.testing.assert_allclose(P.path_sum(w, depth), brute_sum(w, depth),
                               rtol=0, atol=1e-13 * scale)


def test_path_sum_direction():
    # Only steps +1 have weight: all mass at m = +depth (the right neighbour).
    p = P.path_sum([0.0, 0.0, 2.0], 4)
    assert p[-1] == 16.0 and np.all(p[:-1] == 0)
    p = P.path_sum([3.0, 0.0, 0.0], 3)
    assert p[0] == 27.0 and np.all(p[1:] == 0)
    p = P.path_sum([0.0, 0.0, 3.0], 100)  # rescaled on the way, restored exactly
    assert p[-1] == 3.0**100
    assert list(P.path_sum([0.0, 1.0, 0.0], 5)) == [0] * 5 + [1] + [0] * 5


def test_path_sum_depth_zero_and_all_zero():
    assert list(P.path_sum([0.3, 0.2, 0.1], 0)) == [1.0]
    assert list(P.path_sum([0.0, 0.0, 0.0], 0)) == [1.0]
    assert not np.any(P.path_sum([0.0, 0.0, 0.0], 3))


def test_path_sum_tails_relative_accuracy():
    # (z^-1/4 + 1/2 + z/4)^L = ((z^-1/2 + z^1/2)/2)^(2L): P[m] = C(2L, L+m)/4^L.
    depth = 300
    p = P.path_sum([0.25, 0.5, 0.25], depth)
    for m in (-depth, -depth + 1, -200, 0, 150, depth):
        exact = math.comb(2 * depth, depth + m) / 4**depth
        assert p[m + depth] == pytest.approx(exact, rel=1e-12)
    assert p[0] < 1e-170 * p.max()  # far below the maximum, still accurate


def test_path_sum_total_weight():
    w = np.array([0.2, 0.7, 0.45])
    for depth in (1, 10, 200):
        assert P.path_sum(w, depth).sum() == pytest.approx(w.sum() ** depth, rel=1e-12)
    # Mixed signs cancel: the error is rounding relative to (sum |w|)^L.
    w = np.array([0.2, -0.7, 0.45])
    for depth in (1, 10, 200):
        err = abs(P.path_sum(w, depth).sum() - w.sum() ** depth)
        assert err <= depth * 1e-15 * np.abs(w).sum() ** depth


def test_path_sum_overflow_warns():
    with pytest.warns(RuntimeWarning, match="overflows"):
        p = P.path_sum([1.0, 1.0, 1.0], 700)
    assert np.isinf(p).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P.path_sum([0.3, 0.4, 0.3], 5000)


def test_path_sum_depth_10000():
    # Its speed is measured by bench/bench_paths.py, not here.
    p = P.path_sum([0.3, 0.45, 0.25], 10_000)
    assert p.shape == (20_001,)
    assert p.sum() == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([0.1, 0.2], "exactly 3 values"),
        ([0.1, 0.2, 0.3, 0.4], "exactly 3 values"),
        ([0.1, float("nan"), 0.3], "finite"),
        ([0.1, float("inf"), 0.3], "finite"),
    ],
)
def test_path_sum_bad_weights(bad, match):
    with pytest.raises(ValueError, match=match):
        P.path_sum(bad, 3)


def test_path_sum_bad_depth():
    with pytest.raises(ValueError, match="depth must be >= 0"):
        P.path_sum([0.1, 0.2, 0.3], -2)
    with pytest.raises(TypeError):
        P.path_sum([0.1, 0.2, 0.3], 2.0)


def test_path_sum_accepts_tensor_and_list():
    a = P.path_sum(torch.tensor([0.1, 0.7, 0.2], dtype=torch.float64), 4)
    b = P.path_sum(np.array([0.1, 0.7, 0.2]), 4)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------- relation to the network


def test_layer_weights():
    np.testing.assert_array_equal(P.layer_weights([0.1, -0.3, 0.2]), [0.1, 0.7, 0.2])


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(*[st.floats(-0.6, 0.6, allow_nan=False)] * 3),
    st.integers(0, 25),
    st.integers(1, 40),
)
def test_network_output_equals_layer_loop(kernel, depth, n):
    rng = np.random.default_rng(n + depth)
    u0 = rng.normal(size=(2, n))
    got = P.network_output_from_paths(P.layer_weights(kernel), u0, depth)
    want = layer_loop(kernel, u0, depth)
    scale = max(1.0, sum(abs(w) for w in P.layer_weights(kernel))) ** depth
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale)


def test_network_output_direction_not_flipped():
    # An asymmetric kernel: flipping it left-right must change the output.
    kernel = np.array([0.05, -0.3, 0.25])
    u0 = np.zeros(21)
    u0[10] = 1.0
    out = P.network_output_from_paths(P.layer_weights(kernel), u0, 1)
    # u1[j] = k0 u0[j-1] + (1+k1) u0[j] + k2 u0[j+1]: the delta at 10 is read by
    # j = 11 through k0 and by j = 9 through k2.
    assert out[11] == pytest.approx(0.05)
    assert out[9] == pytest.approx(0.25)
    assert out[10] == pytest.approx(0.7)


@settings(max_examples=10, deadline=None)
@given(
    st.tuples(*[st.floats(-0.6, 0.6, allow_nan=False)] * 3),
    st.integers(0, 30),
    st.integers(3, 40),
)
def test_network_output_equals_torch_blocks(kernel, depth, n):
    blocks = pytest.importorskip("pathint_lib.blocks")
    u0 = np.random.default_rng(depth * 100 + n).normal(size=(3, n))
    with torch.no_grad():
        layer = blocks.ResidualConv1d(np.array(kernel))
        out = blocks.Stack(layer, depth)(torch.as_tensor(u0)).numpy()
    got = P.network_output_from_paths(P.layer_weights(kernel), u0, depth)
    scale = max(1.0, sum(abs(w) for w in P.layer_weights(kernel))) ** depth
    np.testing.assert_allclose(got, out, rtol=0, atol=1e-12 * scale)


def test_network_output_bad_input():
    with pytest.raises(ValueError, match="u0"):
        P.network_output_from_paths([0.1, 0.8, 0.1], np.zeros(0), 2)
    with pytest.raises(ValueError, match="finite"):
        P.network_output_from_paths([0.1, 0.8, 0.1], [0.0, np.nan], 2)


# ------------------------------------------------------------------ enumeration


def test_enumerate_paths_order_and_weights():
    steps, w = P.enumerate_paths([2.0, 3.0, 5.0], 2)
    assert steps.shape == (9, 2)
    assert steps.tolist() == [[a, b] for a in (-1, 0, 1) for b in (-1, 0, 1)]
    np.testing.assert_array_equal(w, [4, 6, 10, 6, 9, 15, 10, 15, 25])
    steps0, w0 = P.enumerate_paths([2.0, 3.0, 5.0], 0)
    assert steps0.shape == (1, 0) and list(w0) == [1.0]


def test_enumerate_paths_refuses_large_depth():
    with pytest.raises(ValueError, match="path_sum.*sample_lattice_paths"):
        P.enumerate_paths([0.1, 0.8, 0.1], P.MAX_ENUMERATION_DEPTH + 1)


# ------------------------------------------------------------------ action


@settings(max_examples=40, deadline=None)
@given(weights3, st.integers(1, 6))
def test_exp_minus_action_is_weight(w, depth):
    steps, weights = P.enumerate_paths(w, depth)
    s = P.lattice_action(steps, w)
    np.testing.assert_allclose(np.exp(-s), weights, rtol=1e-12, atol=1e-300)
    assert not np.isnan(s).any()
    assert np.iscomplexobj(s) == any(v < 0 for v in w)


def test_action_zero_weight_is_inf_never_nan():
    s = P.lattice_action([[1, 1], [0, 0], [-1, 0]], [0.5, 0.5, 0.0])
    assert s[0] == np.inf and np.isfinite(s[1]) and np.isfinite(s[2])
    s = P.lattice_action([[1, -1], [0, 0]], [-0.5, 0.5, 0.0])  # complex case
    assert np.iscomplexobj(s)
    assert s[0].real == np.inf and not np.isnan(s[0].imag)
    assert s[1] == pytest.approx(-2 * math.log(0.5))


def test_action_negative_weight_imaginary_part():
    s = P.lattice_action([[-1, -1, 0]], [-0.5, 0.25, 0.3])
    assert s[0].imag == pytest.approx(-2 * math.pi)
    assert s[0].real == pytest.approx(-2 * math.log(0.5) - math.log(0.25))


def test_action_bad_steps():
    with pytest.raises(ValueError, match="steps must be in"):
        P.lattice_action([[0, 2]], [0.1, 0.8, 0.1])
    with pytest.raises(ValueError, match="integers"):
        P.lattice_action([[0.5, 1.0]], [0.1, 0.8, 0.1])


# ------------------------------------------------------- path length distribution


def test_path_length_distribution_counts_and_mean():
    dist = P.path_length_distribution(10, gain=0.5)
    assert list(dist.counts) == [math.comb(10, k) for k in range(11)]
    assert sum(dist.counts) == 2**10
    np.testing.assert_allclose(dist.weights, [math.comb(10, k) * 0.5**k
                                              for k in range(11)])
    assert dist.probabilities.sum() == pytest.approx(1.0)
    assert dist.mean == pytest.approx(10 * 0.5 / 1.5)
    assert dist.std == pytest.approx(math.sqrt(10 * 0.5) / 1.5)


def test_path_length_distribution_large_and_zero_gain():
    dist = P.path_length_distribution(1200, gain=1.0)
    assert np.all(np.isfinite(dist.probabilities))
    assert dist.probabilities.sum() == pytest.approx(1.0)
    assert dist.mean == pytest.approx(600.0)
    zero = P.path_length_distribution(4, gain=0.0)
    assert list(zero.probabilities) == [1.0, 0, 0, 0, 0]


def test_path_length_distribution_bad_input():
    with pytest.raises(ValueError, match="gain must be >= 0"):
        P.path_length_distribution(3, gain=-0.5)
    with pytest.raises(ValueError, match="n_blocks must be >= 0"):
        P.path_length_distribution(-3)


# ------------------------------------------------------------------ top paths


@pytest.mark.parametrize("w", [[0.2, 0.5, 0.3], [-0.3, 0.6, 0.2], [0.4, 0.1, 0.4]])
@pytest.mark.parametrize("endpoint", [-2, 0, 3])
def test_top_paths_against_enumeration(w, endpoint):
    depth = 8
    steps, weights = P.enumerate_paths(w, depth)
    ends = steps.sum(axis=1, dtype=np.int64) == endpoint
    best = P.top_paths(w, depth, endpoint, k=20)
    assert best[0].log_abs_weight == pytest.approx(np.log(np.abs(weights[ends]).max()))
    assert sum(c.multiplicity for c in best) == int(ends.sum())
    total = sum(c.multiplicity * c.weight for c in best)
    assert total == pytest.approx(P.path_sum(w, depth)[endpoint + depth], abs=1e-15)
    for c in best:
        assert c.steps.sum() == endpoint and len(c.steps) == depth
        counts = [int((c.steps == v).sum()) for v in (-1, 0, 1)]
        assert counts == [c.n_minus, c.n_zero, c.n_plus]
        assert np.exp(-c.action) == pytest.approx(c.weight)
    logs = [c.log_abs_weight for c in best]
    assert logs == sorted(logs, reverse=True)


def test_top_paths_by_class():
    best = P.top_paths([0.25, 0.5, 0.25], 20, 0, k=3, by="class")
    tot = [c.class_weight for c in best]
    assert tot == sorted(tot, reverse=True)
    assert best[0].class_weight > 0


def test_top_paths_deep_classes_add_up():
    # Depth 1500: single path weights underflow, class weights do not.
    w, depth, m = [0.25, 0.5, 0.25], 1500, 40
    classes = P.top_paths(w, depth, m, k=depth, by="class")
    assert classes[0].weight == 0.0 and classes[0].class_weight > 0
    total = math.fsum(c.class_weight for c in classes)
    assert total == pytest.approx(P.path_sum(w, depth)[m + depth], rel=1e-10)
    neg = P.top_paths([-0.25, 0.5, 0.25], depth, m, k=2)
    assert {c.sign for c in neg} == {1.0, -1.0}


def test_top_paths_bad_input():
    with pytest.raises(ValueError, match="endpoint"):
        P.top_paths([0.2, 0.5, 0.3], 3, 4)
    with pytest.raises(ValueError, match="by must be"):
        P.top_paths([0.2, 0.5, 0.3], 3, 1, by="nope")


def test_classical_path():
    t, x = P.classical_path(0.5, 2.5, 2.0, 5)
    np.testing.assert_allclose(t, [0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(x, [0.5, 1.0, 1.5, 2.0, 2.5])
    with pytest.raises(ValueError, match="t must be > 0"):
        P.classical_path(0.0, 1.0, 0.0)


# ------------------------------------------------------------------ Monte Carlo


def test_sample_lattice_paths_estimates_path_sum():
    w, depth = [0.2, 0.5, 0.4], 12
    sample = P.sample_lattice_paths(w, depth, 200_000, seed=1, device="cpu")
    assert sample.steps.shape == (200_000, depth)
    assert torch.equal(sample.endpoints, sample.steps.sum(1, dtype=torch.int64))
    est, se = sample.path_sum_estimate()
    exact = P.path_sum(w, depth)
    mask = exact / exact.sum() * sample.n_paths >= 100
    assert np.all(np.abs(est[mask] - exact[mask]) <= 4 * se[mask])
    assert sample.log_weight_correction == pytest.approx(depth * math.log(1.1))


def test_sample_lattice_paths_seeded_and_checked():
    a = P.sample_lattice_paths([1, 1, 1], 5, 100, seed=3, device="cpu")
    b = P.sample_lattice_paths([1, 1, 1], 5, 100, seed=3, device="cpu")
    assert torch.equal(a.steps, b.steps)
    with pytest.raises(ValueError, match="sign problem"):
        P.sample_lattice_paths([-0.1, 1, 1], 5, 100, device="cpu")
    with pytest.raises(ValueError, match="positive sum"):
        P.sample_lattice_paths([0, 0, 0], 5, 100, device="cpu")
    with pytest.raises(ValueError, match="unknown device"):
        P.sample_lattice_paths([1, 1, 1], 5, 100, device="tpu")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_continuum_paths_moments(dtype):
    x0, T, D, b = 0.3, 2.0, 0.4, -0.5
    out = P.sample_continuum_paths(x0, T, 50, 100_000, D, b, seed=2, device="cpu",
                                   dtype=dtype)
    assert out.paths.shape == (100_000, 51) and out.paths.dtype == dtype
    assert torch.all(out.paths[:, 0] == torch.tensor(x0, dtype=dtype))
    end = out.endpoints.double()
    var = 2 * D * T
    assert abs(end.mean().item() - (x0 + b * T)) < 4 * math.sqrt(var / 100_000)
    assert abs(end.var().item() / var - 1) < 4 * math.sqrt(2 / 100_000)
    # the increments are independent: the midpoint has half the variance
    mid = out.paths[:, 25].double()
    assert abs(mid.var().item() / (var / 2) - 1) < 4 * math.sqrt(2 / 100_000)


def test_continuum_paths_drift_function_is_euler_maruyama():
    theta, x0, T, n, n_paths = 1.5, 1.0, 1.0, 10, 50_000
    out = P.sample_continuum_paths(x0, T, n, n_paths, 0.5, drift=lambda x: -theta * x,
                                   seed=4, device="cpu", dtype=torch.float64)
    # For a linear drift the Euler-Maruyama mean is exactly x0 (1 - theta dt)^n,
    # which differs from the exact x0 exp(-theta T) by more than 4 standard errors.
    mean = x0 * (1 - theta * T / n) ** n
    se = out.endpoints.std().item() / math.sqrt(n_paths)
    assert abs(mean - x0 * math.exp(-theta * T)) > 4 * se
    assert abs(out.endpoints.mean().item() - mean) < 4 * se


def test_continuum_paths_bad_input():
    with pytest.raises(ValueError, match="T must be > 0"):
        P.sample_continuum_paths(0.0, 0.0, 10, 10, 1.0, device="cpu")
    with pytest.raises(ValueError, match="D must be > 0"):
        P.sample_continuum_paths(0.0, 1.0, 10, 10, -1.0, device="cpu")
    with pytest.raises(ValueError, match="dtype"):
        P.sample_continuum_paths(0.0, 1.0, 10, 10, 1.0, device="cpu",
                                 dtype=torch.int32)


# ------------------------------------------------------- requests too large


def test_enumerate_paths_message_for_a_huge_depth():
    # 3**depth is far beyond float range: the message must still be formed.
    with pytest.raises(ValueError, match=r"10\*\*477121\.3 paths\); use path_sum"):
        P.enumerate_paths([0.25, 0.5, 0.25], 10**6)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: P.path_sum([0.25, 0.5, 0.25], d),
        lambda d: P.path_counts(d),
        lambda d: P.path_length_distribution(d, 0.5),
    ],
    ids=["path_sum", "path_counts", "path_length_distribution"],
)
def test_exact_sums_refuse_depths_they_cannot_finish(call):
    with pytest.raises(ValueError, match=r"must be <= 100,000 .*got 1,000,000; for"):
        call(10**6)
    call(50)  # a small depth still works


def test_path_length_counts_are_binomial_coefficients():
    dist = P.path_length_distribution(37, 0.3)
    assert list(dist.counts) == [math.comb(37, k) for k in range(38)]


def test_samplers_refuse_requests_that_do_not_fit_in_memory():
    with pytest.raises(ValueError, match=r"lattice paths .*GiB.*fewer paths"):
        P.sample_lattice_paths([0.25, 0.5, 0.25], 10**6, 10**6, device="cpu")
    with pytest.raises(ValueError, match=r"continuum paths .*GiB.*fewer paths"):
        P.sample_continuum_paths(0.0, 1.0, 10**6, 10**6, 1.0, device="cpu")


def test_top_paths_leaves_out_zero_weight_classes():
    # w(0) = 0: a path of L steps ends at an even point iff L is even.
    assert P.top_paths([0.5, 0.0, 0.5], 4, -1, k=3) == []
    best = P.top_paths([0.5, 0.0, 0.5], 4, 0, k=5)
    steps, weights = P.enumerate_paths([0.5, 0.0, 0.5], 4)
    live = (steps.sum(axis=1) == 0) & (weights != 0)
    assert [c.weight for c in best] == [0.5**4]
    assert sum(c.multiplicity for c in best) == int(live.sum())
