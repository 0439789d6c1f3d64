"""Tests of the chapter-3 stability explorer: the pure functions and the widget."""

import base64

import matplotlib as mpl
import matplotlib.colors as mcolors
import numpy as np
import pytest
import torch

from pathint_lib import pde
from pathint_lib.blocks import ResidualConv1d
from pathint_lib.widgets import (
    STABILITY_EXPLORER_CLIP,
    STABILITY_EXPLORER_DEFAULTS,
    stability_explorer,
    stability_explorer_data,
    stability_explorer_figure,
    stability_explorer_png,
)

RED = mcolors.to_rgba("C3")


def _data_equal(a, b):
    assert (a.r, a.beta, a.depth) == (b.r, b.beta, b.depth)
    for name in ("weights", "abs_G", "u0", "exact", "output"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.messages == b.messages


# ----------------------------------------------------------------- the pure data


def test_layer_weights_are_the_ftcs_weights_in_torch_order():
    data = stability_explorer_data(0.3, 0.2, 5)
    # w = (k[-1], 1 + k[0], k[+1]) = (r - beta/2, 1 - 2r, r + beta/2)
    np.testing.assert_allclose(data.weights, [0.2, 0.4, 0.4], atol=1e-15)


def test_output_is_the_exact_discrete_solution_of_the_stack():
    for r, beta, depth in [(0.4, 0.4, 40), (0.1, 0.4, 60), (0.6, 0.0, 60)]:
        data = stability_explorer_data(r, beta, depth)
        reference = pde.discrete_periodic_solution(data.kernel, data.u0, depth)
        scale = max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(data.output, reference, rtol=0, atol=1e-11 * scale)


def test_output_is_the_torch_layer_applied_depth_times():
    # The explorer runs the stack in numpy; it must be the library's torch layer,
    # in torch's order (k[0] multiplies u_{j-1}). The drift makes the kernel
    # asymmetric, so a left-right flip would not pass.
    for r, beta, depth in [(0.25, 0.5, 30), (0.1, -0.4, 17), (0.7, 0.3, 25)]:
        data = stability_explorer_data(r, beta, depth)
        layer = ResidualConv1d(data.kernel, dtype=torch.float64, device="cpu")
        u = torch.as_tensor(data.u0, dtype=torch.float64)
        with torch.no_grad():
            for _ in range(depth):
                u = layer(u)
        reference = u.numpy()
        scale = max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(data.output, reference, rtol=0, atol=1e-12 * scale)
        assert data.layers_applied == depth


def test_positive_drift_moves_content_toward_minus_x():
    # r = 1/4, beta = 1/2: stable and positive; the box centre (32) moves by
    # -beta * L = -10 grid points.
    data = stability_explorer_data(0.25, 0.5, 20)
    assert data.stable and data.positive
    assert abs(int(np.argmax(data.output)) - 22) <= 1
    assert abs(int(np.argmax(data.exact)) - 22) <= 1
    # FTCS at this coarse resolution is off by ~0.08; a kernel flipped left-right
    # (content moving toward +x) would be off by ~1.
    assert np.max(np.abs(data.output - data.exact)) < 0.15


def test_max_amplification_matches_the_closed_form_without_drift():
    for r in (0.0, 0.2, 0.5, 0.55, 0.8, 1.0):
        data = stability_explorer_data(r, 0.0, 3)
        assert data.max_amplification == pytest.approx(max(1.0, abs(1 - 4 * r)),
                                                       abs=1e-12)
        assert data.stable == (r <= 0.5)


def test_verdict_follows_the_stability_region():
    for r, beta in [(0.4, 0.4), (0.1, 0.4), (0.3, 0.9), (0.55, 0.0), (0.5, 1.0)]:
        data = stability_explorer_data(r, beta, 2)
        expected = bool(beta**2 <= 2 * r <= 1)
        assert data.stable == expected, (r, beta)
        assert data.messages[0].startswith("stable" if expected else "UNSTABLE")
        assert data.positive == bool(abs(beta) <= 2 * r <= 1)


def test_unstable_output_grows_at_the_predicted_rate():
    # r = 0.55, beta = 0: G(theta) = 1 - 4r sin^2(theta/2) is real, and the mode
    # theta_m = 2 pi m / N is multiplied by |G(theta_m)| per layer. (The box has no
    # content at theta = pi itself, so the test follows m = 31 and m = 29.)
    r = 0.55
    before = stability_explorer_data(r, 0.0, 140)
    after = stability_explorer_data(r, 0.0, 150)
    n = before.x.size
    for m in (31, 29):
        theta = 2 * np.pi * m / n
        per_layer = abs(1 - 4 * r * np.sin(theta / 2) ** 2)
        assert per_layer > 1.1
        ratio = abs(np.fft.fft(after.output)[m]) / abs(np.fft.fft(before.output)[m])
        assert ratio == pytest.approx(per_layer**10, rel=1e-9)
    assert after.peak / before.peak > 5.0


def test_overflow_is_stopped_never_nan():
    data = stability_explorer_data(1.0, 0.0, 1000)  # |G| = 3: 3^1000 overflows
    assert data.layers_applied < 1000
    assert np.all(np.isfinite(data.output))
    assert any("stack stopped" in m for m in data.messages)
    shown = data.display_output
    assert np.all(np.abs(shown) <= STABILITY_EXPLORER_CLIP + 1e-12)
    assert data.clipped.any()


def test_bad_input_raises():
    with pytest.raises(ValueError, match="r must be >= 0"):
        stability_explorer_data(-0.1, 0.0, 10)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        stability_explorer_data(0.3, 0.0, 0)
    with pytest.raises(ValueError, match="beta must be finite"):
        stability_explorer_data(0.3, float("nan"), 10)


# --------------------------------------------------------------------- the figure


def test_figure_draws_the_data():
    fig = stability_explorer_figure(0.4, 0.4, 40)
    data = fig.explorer_data
    ax_w, ax_g, ax_u = fig.axes[:3]
    heights = [patch.get_height() for patch in ax_w.patches]
    np.testing.assert_allclose(heights, data.weights)
    np.testing.assert_array_equal(ax_g.lines[0].get_ydata(), data.abs_G)
    plotted = {line.get_label(): line.get_ydata() for line in ax_u.lines}
    np.testing.assert_array_equal(plotted["exact PDE, $T = L\\tau$"], data.exact)
    np.testing.assert_array_equal(plotted["after 40 layers"], data.output)
    assert mcolors.to_rgba(fig._suptitle.get_color()) == mcolors.to_rgba("k")


def test_unstable_figure_warns_in_red_and_plots_only_finite_values():
    fig = stability_explorer_figure(1.0, 1.5, 200)
    data = fig.explorer_data
    assert not data.stable
    title = fig._suptitle
    assert "UNSTABLE" in title.get_text()
    assert mcolors.to_rgba(title.get_color()) == RED
    for ax in fig.axes:
        for line in ax.lines:
            assert np.all(np.isfinite(np.asarray(line.get_ydata(), dtype=float)))
    ax_u = fig.axes[2]
    low, high = ax_u.get_ylim()
    assert -STABILITY_EXPLORER_CLIP - 1e-9 <= low and high <= STABILITY_EXPLORER_CLIP
    assert any(line.get_label() == "clipped" for line in ax_u.lines)


# --------------------------------------------------------------------- the widget


def _shown_png(box):
    (out,) = box.output.outputs
    assert out["output_type"] == "display_data"
    return base64.b64decode(out["data"]["image/png"])


def test_widget_shows_the_default_figure_without_interaction():
    box = stability_explorer()
    assert {name: s.value for name, s in box.sliders.items()} == (
        STABILITY_EXPLORER_DEFAULTS
    )
    png = _shown_png(box)
    assert png.startswith(b"\x89PNG")
    assert png == box.png == stability_explorer_png(**STABILITY_EXPLORER_DEFAULTS)
    _data_equal(box.data, stability_explorer_data(**STABILITY_EXPLORER_DEFAULTS))


def test_moving_sliders_redraws_what_the_pure_function_gives():
    box = stability_explorer()
    first = _shown_png(box)
    box.sliders["r"].value = 0.6
    second = _shown_png(box)
    assert second != first
    assert not box.data.stable
    _data_equal(box.data, stability_explorer_data(0.6, 0.4, 40))
    assert second == stability_explorer_png(0.6, 0.4, 40)

    box.sliders["depth"].value = 7
    box.sliders["beta"].value = -0.2
    assert box.data.depth == 7 and box.data.beta == pytest.approx(-0.2)
    _data_equal(box.data, stability_explorer_data(0.6, box.sliders["beta"].value, 7))
    assert _shown_png(box) == stability_explorer_png(0.6, box.sliders["beta"].value, 7)


def test_widget_rejects_bad_starting_values():
    with pytest.raises(ValueError, match="unknown slider names"):
        stability_explorer(D=1.0)
    with pytest.raises(ValueError, match="r must be in the slider range"):
        stability_explorer(r=2.0)
    with pytest.raises(ValueError, match="depth must be in the slider range"):
        stability_explorer(depth=0)


def test_widget_layout_stays_fixed_under_a_constrained_layout_style():
    # The book style turns constrained layout on; the explorer's figure keeps its
    # fixed layout through every redraw, so the live image stays the pure one.
    with mpl.rc_context({"figure.constrained_layout.use": True}):
        box = stability_explorer()
        for name, value in [("r", 0.3), ("beta", 0.5), ("depth", 12), ("r", 0.55)]:
            box.sliders[name].value = value
        assert _shown_png(box) == stability_explorer_png(0.55, 0.5, 12)
        fig = stability_explorer_figure(0.55, 0.5, 12)
        fig.canvas.draw()
        fig.canvas.draw()
        positions = [ax.get_position().bounds for ax in fig.axes[:3]]
        fig.canvas.draw()
        assert [ax.get_position().bounds for ax in fig.axes[:3]] == positions
        assert type(fig.get_layout_engine()).__name__ != "ConstrainedLayoutEngine"


def test_returning_to_earlier_values_gives_the_earlier_image():
    # Artists are reused between redraws: nothing of one state may leak into the
    # next (the shading of growing modes, the clip marks, legend entries).
    box = stability_explorer()
    first = _shown_png(box)
    box.sliders["r"].value = 1.0
    box.sliders["beta"].value = 1.5
    assert box.data.clipped.any()
    box.sliders["r"].value = STABILITY_EXPLORER_DEFAULTS["r"]
    box.sliders["beta"].value = STABILITY_EXPLORER_DEFAULTS["beta"]
    assert _shown_png(box) == first


def test_text_is_legible_in_the_book_column():
    # Shown unscaled in the book's ~690 px text column: >= 10 px per text.
    fig = stability_explorer_figure(r=0.55, beta=0.9, depth=40)  # 3 verdict lines
    assert fig.get_figwidth() * fig.dpi <= 700
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
             if getattr(t, "get_text", lambda: "")() and t.get_visible()]
    assert len(texts) > 10
    assert min(t.get_fontsize() for t in texts) * fig.dpi / 72 >= 9.9
