"""Tests of the chapter-5 path explorer: its pure data, its figure and its front end."""

from __future__ import annotations

import base64
import itertools
import math

import numpy as np
import pytest
import torch

from pathint_lib import blocks, paths, pde, propagators, widgets
from pathint_lib.widgets import (
    PATH_EXPLORER_DEFAULTS,
    PATH_EXPLORER_RANGES,
    path_explorer,
    path_explorer_data,
    path_explorer_figure,
)


def shown_png(ui) -> bytes:
    """The PNG the explorer's Output widget displays."""
    (entry,) = ui.output.outputs
    assert entry["output_type"] == "display_data"
    return base64.b64decode(entry["data"]["image/png"])


def current_values(ui) -> dict:
    return {name: slider.value for name, slider in ui.sliders.items()}


# --------------------------------------------------------------------------- data


def test_network_panel_is_the_path_sum_and_the_torch_stack():
    d = path_explorer_data(depth=12, lam=0.7, D=0.8, b=0.6, endpoint=2)
    kernel = pde.kernel_from_coefficients(0.8, 0.6, 0.0, d.h, d.tau)
    np.testing.assert_allclose(d.kernel, kernel, rtol=0, atol=1e-15)
    w = paths.layer_weights(kernel)
    np.testing.assert_array_equal(d.path_sum, paths.path_sum(w, 12))

    # A unit impulse at input point c reaches output point j with weight P[c - j].
    n, c = 41, 20
    u0 = torch.zeros(n, dtype=torch.float64)
    u0[c] = 1.0
    stack = blocks.Stack(blocks.ResidualConv1d(kernel), 12)
    out = stack(u0).numpy()
    from_stack = np.array([out[c - m] for m in d.offsets])
    np.testing.assert_allclose(d.path_sum, from_stack, rtol=0, atol=1e-14)
    # A drift makes the kernel asymmetric: a left-right flip would not match.
    assert np.abs(d.path_sum - d.path_sum[::-1]).max() > 1e-3


def test_exact_panel_is_the_heat_kernel_and_the_lattice_converges_to_it():
    d16 = path_explorer_data(depth=16, D=1.0, b=0.0)
    d64 = path_explorer_data(depth=64, D=1.0, b=0.0)
    for d in (d16, d64, path_explorer_data(depth=20, D=0.7, b=-0.9)):
        x = d.offsets * d.h
        expected = propagators.heat_kernel(0.0, x, d.depth * d.tau, d.D, d.b)
        np.testing.assert_allclose(d.heat_kernel, expected, rtol=1e-14, atol=0)

    # Without drift a lattice step has the variance 2 D tau / h^2 of the
    # continuum step; the remaining error comes from the fourth cumulant and
    # falls like 1/L relative to the peak: 16 -> 64 layers shrink it fourfold.
    def rel_error(d):
        return np.abs(d.path_sum / d.h - d.heat_kernel).max() / d.heat_kernel.max()

    assert rel_error(d64) < 0.01
    assert 3.5 < rel_error(d16) / rel_error(d64) < 4.5


def test_path_sum_moments_are_those_of_the_lattice_walk():
    # One step has mean w(+1) - w(-1) = b tau / h and variance
    # w(-1) + w(+1) - (b tau / h)^2 = 2 D tau / h^2 - (b tau / h)^2: at fixed h and
    # tau the walk is narrower than the PDE's (D - b^2 tau / 2 instead of D), a
    # known property of the explicit central scheme, and drifts toward +m for b > 0.
    d = path_explorer_data(depth=30, D=0.8, b=0.6)
    r, beta = d.D * d.tau / d.h**2, d.b * d.tau / d.h
    total = d.path_sum.sum()
    mean = (d.offsets * d.path_sum).sum() / total
    var = ((d.offsets - mean) ** 2 * d.path_sum).sum() / total
    assert total == pytest.approx(1.0, abs=1e-13)
    assert mean == pytest.approx(30 * beta, abs=1e-12)
    assert var == pytest.approx(30 * (2 * r - beta**2), abs=1e-11)


def test_paths_run_from_the_output_point_to_the_endpoint():
    d = path_explorer_data(depth=10, lam=1.0, D=1.0, b=0.3, endpoint=-3, seed=4)
    assert d.positions.shape == (widgets.PATH_EXPLORER_N_PATHS, 11)
    assert np.all(d.positions[:, -1] == 0)  # the output point, layer L
    assert np.all(d.positions[:, 0] == -3)  # the input point, layer 0
    assert set(np.unique(np.diff(d.positions, axis=1))) <= {-1, 0, 1}
    assert d.straight_path[0] == -3 and d.straight_path[-1] == 0
    np.testing.assert_allclose(np.diff(d.straight_path), 0.3)
    assert d.top_path[0] == -3 and d.top_path[-1] == 0

    # The highlighted lattice path has the least action of all paths to m = -3.
    steps = -np.diff(d.top_path)[::-1]  # steps taken walking back from layer L
    action = float(paths.lattice_action(steps, d.weights))
    assert action == pytest.approx(d.class_actions.min(), abs=1e-12)
    np.testing.assert_allclose(d.class_probabilities.sum(), 1.0, atol=1e-12)


def test_sampled_paths_follow_the_scaled_weights():
    # The share of each class (n-, n0, n+) among many sampled paths must match
    # multiplicity * |w|^(n/lam), normalised: the ensemble exp(-S/lam).
    depth, m, lam = 8, 1, 0.6
    d = path_explorer_data(depth=depth, lam=lam, D=1.2, b=0.4, endpoint=m,
                           n_paths=40_000)
    n_minus = np.sum(np.diff(d.positions, axis=1) == 1, axis=1)  # -1 steps
    w = np.abs(d.weights)
    expected = []
    for k in range(depth + 1):
        n_plus, n_zero = k + m, depth - 2 * k - m
        if n_zero < 0:
            break
        mult = math.factorial(depth) // (
            math.factorial(k) * math.factorial(n_zero) * math.factorial(n_plus)
        )
        weight = w[0] ** k * w[1] ** n_zero * w[2] ** n_plus
        expected.append(mult * weight ** (1 / lam))
    expected = np.array(expected) / np.sum(expected)
    observed = np.bincount(n_minus, minlength=len(expected)) / len(n_minus)
    se = np.sqrt(expected * (1 - expected) / len(n_minus))
    assert np.all(np.abs(observed - expected) <= 5 * se + 1e-12)
    np.testing.assert_allclose(np.sort(d.class_probabilities)[::-1],
                               np.sort(expected)[::-1], rtol=1e-10)


def test_small_action_scale_concentrates_on_the_classical_path():
    fractions, spreads = [], []
    for lam in (4.0, 1.0, 0.25, 0.05):
        d = path_explorer_data(depth=16, lam=lam, D=1.0, b=0.0, endpoint=0)
        fractions.append(d.top_fraction)
        spreads.append(d.spread)
    assert np.all(np.diff(fractions) > 0)
    assert fractions[-1] > 0.99 and fractions[1] < 1e-3
    assert spreads[1] > 0.5 and spreads[-1] == 0.0
    # With b = 0 and endpoint 0 the least-action path is the straight one.
    d = path_explorer_data(depth=16, lam=0.05, endpoint=0)
    np.testing.assert_array_equal(d.top_path, np.zeros(17))


def test_average_sign_is_that_of_the_enumerated_paths():
    # D = 0.3, b = 1.6: w(-1) = r - beta/2 < 0, a sign problem.
    d = path_explorer_data(depth=6, D=0.3, b=1.6)
    assert d.weights[0] < 0 and not d.positive
    _, weights = paths.enumerate_paths(d.weights, 6)
    enumerated = abs(weights.sum()) / np.abs(weights).sum()
    assert d.average_sign == pytest.approx(enumerated, rel=1e-12)
    assert d.average_sign < 0.5
    assert any("sign problem" in msg for msg in d.messages)


# ---------------------------------------------------------- unstable, never NaN


def test_unstable_values_give_a_warning_in_the_figure_not_nan():
    d = path_explorer_data(depth=40, D=3.0, b=0.0)  # r = 0.75 > 1/2
    assert not d.stable and d.max_amplification == pytest.approx(2.0)
    assert any("unstable" in msg for msg in d.messages)
    for arr in (d.path_sum, d.heat_kernel, d.positions, d.relative_weights):
        assert np.all(np.isfinite(arr))
    fig = path_explorer_figure(depth=40, D=3.0, b=0.0)
    title = fig._suptitle.get_text()
    assert "unstable" in title and "sign problem" in title
    for ax in fig.axes:
        assert np.all(np.isfinite(ax.get_ylim()))


def test_unreachable_endpoint_is_reported_not_a_crash():
    # D = 0.5, b = 1: w(-1) = r - beta/2 = 0, so no path reaches m < 0.
    d = path_explorer_data(depth=8, D=0.5, b=1.0, endpoint=-2)
    assert d.weights[0] == 0.0
    assert d.positions.shape == (0, 9)
    assert any("no path" in msg for msg in d.messages)
    assert np.all(np.isfinite(d.path_sum))
    path_explorer_figure(depth=8, D=0.5, b=1.0, endpoint=-2)  # draws


@pytest.mark.parametrize("depth,lam,D,b", list(itertools.product(
    (1, 64), (0.1, 10.0), (0.1, 3.0), (-2.0, 2.0))))
def test_every_slider_corner_gives_finite_data(depth, lam, D, b):
    for endpoint in (-depth, 0, depth):
        d = path_explorer_data(depth, lam, D, b, endpoint)
        for arr in (d.path_sum, d.heat_kernel, d.fine_heat_kernel, d.positions,
                    d.relative_weights, d.class_probabilities):
            assert np.all(np.isfinite(arr))
        if not (d.stable and d.positive):
            assert d.messages


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="endpoint"):
        path_explorer_data(depth=4, endpoint=5)
    with pytest.raises(ValueError, match="lam must be > 0"):
        path_explorer_data(lam=0.0)
    with pytest.raises(ValueError, match="D must be > 0"):
        path_explorer_data(D=-1.0)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        path_explorer_data(depth=0)
    with pytest.raises(ValueError, match="unknown slider"):
        path_explorer(alpha=1.0)
    with pytest.raises(ValueError, match="slider range"):
        path_explorer(D=10.0)


# ----------------------------------------------------------------- the front end


def test_explorer_shows_the_default_figure_without_interaction():
    ui = path_explorer()
    assert current_values(ui) == PATH_EXPLORER_DEFAULTS
    assert shown_png(ui) == widgets._figure_png(path_explorer_figure())
    assert ui.png == shown_png(ui)


def test_moving_sliders_redraws_the_pure_function_result():
    ui = path_explorer()
    before = shown_png(ui)
    ui.sliders["lam"].value = 0.2
    after_lam = shown_png(ui)
    assert after_lam != before
    ui.sliders["b"].value = 0.5
    ui.sliders["D"].value = 0.75
    ui.sliders["endpoint"].value = 3
    assert shown_png(ui) != after_lam

    values = current_values(ui)
    assert values["endpoint"] == 3 and values["lam"] == pytest.approx(0.2)
    expected = path_explorer_data(**values)
    np.testing.assert_array_equal(ui.data.positions, expected.positions)
    np.testing.assert_array_equal(ui.data.path_sum, expected.path_sum)
    assert ui.data.lam == pytest.approx(0.2) and ui.data.endpoint == 3
    # The figure updated in place renders exactly what a fresh one does.
    assert shown_png(ui) == widgets._figure_png(path_explorer_figure(**values))


def test_depth_slider_keeps_the_endpoint_reachable():
    ui = path_explorer(depth=16, endpoint=10)
    ui.sliders["depth"].value = 4
    assert ui.sliders["endpoint"].value == 4
    assert (ui.sliders["endpoint"].min, ui.sliders["endpoint"].max) == (-4, 4)
    assert ui.data.depth == 4 and ui.data.endpoint == 4
    ui.sliders["depth"].value = 30
    assert ui.sliders["endpoint"].max == 30 and ui.data.depth == 30


def test_slider_ranges_stay_inside_what_the_data_accept():
    lo, hi, _ = PATH_EXPLORER_RANGES["depth"]
    assert lo >= 1
    assert PATH_EXPLORER_RANGES["D"][0] > 0
    ui = path_explorer()
    assert ui.sliders["lam"].min == PATH_EXPLORER_RANGES["lam"][0]
    assert ui.sliders["depth"].max == hi


def test_frames_for_the_kernel_free_explorable_match_the_figure():
    from pathint_lib.explorable import explorable

    frame = widgets.path_explorer_frames()
    first = widgets._figure_png(frame(depth=8, lam=0.5))
    assert first == widgets._figure_png(path_explorer_figure(depth=8, lam=0.5))
    assert widgets._figure_png(frame(depth=4, D=0.5, b=1.5)) == widgets._figure_png(
        path_explorer_figure(depth=4, D=0.5, b=1.5)
    )
    exp = explorable(widgets.path_explorer_frames(), {"depth": [4, 8]}, palette=False)
    assert exp.n_frames == 2 and exp.frames[0] != exp.frames[1]


# ------------------------------------------------- log slider, no path, legibility


def test_log_slider_error_states_the_values_not_the_exponents():
    lo, hi, _ = PATH_EXPLORER_RANGES["lam"]  # exponents of ten
    with pytest.raises(ValueError, match=r"lam must be in .*\[0\.1, 10\], got 20"):
        path_explorer(lam=20)
    with pytest.raises(ValueError, match=r"\[0\.1, 10\], got 0\.05"):
        path_explorer(lam=0.05)
    # the ends themselves are allowed
    assert path_explorer(lam=10.0**lo).sliders["lam"].value == pytest.approx(0.1)
    assert path_explorer(lam=10.0**hi).sliders["lam"].value == pytest.approx(10.0)


def _plotted_arrays(fig):
    """Every array of coordinates drawn in the figure's axes."""
    for ax in fig.axes:
        for line in ax.get_lines():
            yield np.asarray(line.get_xydata(), dtype=float)
        for coll in ax.collections:
            for seg in getattr(coll, "get_segments", list)():
                yield np.asarray(seg, dtype=float)
        for patch in ax.patches:
            yield np.asarray(patch.get_path().vertices, dtype=float)


def _no_nan_text(fig):
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return not any("nan" in t.lower() for t in texts)


def test_no_path_to_the_endpoint_draws_no_path_and_says_so():
    # D = 2, tau = 0.25, h = 1: w(0) = 1 - 2 D tau / h^2 = 0, so every step moves
    # and a path of 64 steps can only end at an even offset.
    values = dict(depth=64, lam=0.1, D=2.0, b=0.0, endpoint=-1)
    d = path_explorer_data(**values)
    assert d.weights[1] == 0.0 and not d.has_paths
    assert d.positions.shape == (0, 65) and d.top_path.size == 0
    assert d.top_fraction is None and d.spread is None
    assert any("no path" in msg for msg in d.messages)
    # ... while the even neighbour is reached, by the same layer
    even = path_explorer_data(**{**values, "endpoint": -2})
    assert even.has_paths and even.top_path.shape == (65,)
    assert 0.0 < even.top_fraction <= 1.0 and even.spread >= 0.0

    fig = path_explorer_figure(**values)
    ax_paths, ax_action, _ = fig.axes
    top = [ln for ln in ax_paths.get_lines() if ln.get_label() == "least action"]
    assert len(top) == 1 and len(top[0].get_xdata()) == 0  # no zigzag drawn
    assert not ax_paths.get_legend().get_visible()
    shown = " ".join(t.get_text() for t in ax_paths.texts if t.get_visible())
    assert "no path" in shown
    assert not any(ln.get_visible() and ln.get_color() == "C3"
                   for ln in ax_action.get_lines())
    for arr in _plotted_arrays(fig):
        assert np.all(np.isfinite(arr))
    assert _no_nan_text(fig)
    assert "no path" in fig._suptitle.get_text()


def test_data_do_not_rely_on_zero_weight_classes(monkeypatch):
    # top_paths may leave out the classes of weight 0 (and return no class at
    # all): the data must be the same where paths exist, and say "no path" else.
    full = paths.top_paths

    def nonzero_only(*args, **kwargs):
        return [c for c in full(*args, **kwargs) if c.weight != 0]

    reachable = dict(depth=8, D=0.5, b=1.0, endpoint=2, lam=0.7)  # w(-1) = 0
    before = path_explorer_data(**reachable)
    monkeypatch.setattr(widgets.paths, "top_paths", nonzero_only)
    after = path_explorer_data(**reachable)
    np.testing.assert_array_equal(after.positions, before.positions)
    np.testing.assert_array_equal(after.top_path, before.top_path)
    assert after.top_fraction == pytest.approx(before.top_fraction, rel=1e-12)
    for values in (dict(depth=8, D=0.5, b=1.0, endpoint=-2),
                   dict(depth=64, lam=0.1, D=2.0, b=0.0, endpoint=-1)):
        assert nonzero_only(np.abs(path_explorer_data(**values).weights),
                            values["depth"], values["endpoint"], k=9) == []
        d = path_explorer_data(**values)
        assert not d.has_paths and d.top_path.size == 0
        fig = path_explorer_figure(**values)
        for arr in _plotted_arrays(fig):
            assert np.all(np.isfinite(arr))


def test_huge_outputs_get_no_offset_label_over_the_title():
    fig = path_explorer_figure(depth=64, lam=0.1, D=3.0, b=2.0, endpoint=64)
    fig.canvas.draw()
    ax_out = fig.axes[2]
    assert ax_out.get_ylim()[1] > 1e16  # the unstable layer's output
    for ax in fig.axes:
        assert ax.yaxis.get_offset_text().get_text() == ""
        assert ax.xaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax_out.get_yticklabels()]
    assert any(lab.endswith("e17") for lab in labels), labels
    assert "$P_L[m]/h$" in ax_out.get_title()


def test_text_is_legible_in_the_book_column():
    # The book's text column is about 690 px wide in a 1280 px window: a figure
    # at most that wide is shown unscaled, so a text of s points at d dpi is
    # s * d / 72 px high; it must be at least 10 px.
    fig = path_explorer_figure(depth=16, D=0.5, b=1.5)  # with a warning line
    fig.canvas.draw()
    width_px = fig.get_figwidth() * fig.dpi
    assert width_px <= 700
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
             if getattr(t, "get_text", lambda: "")() and t.get_visible()]
    assert len(texts) > 20
    smallest = min(t.get_fontsize() for t in texts) * fig.dpi / 72
    assert smallest >= 9.9


def test_live_and_kernel_free_explorers_share_labels():
    ui = path_explorer()
    for name, slider in ui.sliders.items():
        assert slider.description == widgets.PATH_EXPLORER_LABELS[name]
