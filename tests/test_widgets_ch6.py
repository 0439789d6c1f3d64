"""Tests of the chapter-6 gradient explorer: the pure functions and the sliders."""

import base64
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pathint_lib import widgets as W  # noqa: E402


def _png_shown(box):
    (out,) = box.output.outputs
    return base64.b64decode(out["data"]["image/png"])


def test_data_shares_are_the_binomial_law():
    data = W.gradient_explorer_data(10, 0.25)
    p = 0.25 / 1.25
    expected = [math.comb(10, k) * p**k * (1 - p) ** (10 - k) for k in range(11)]
    np.testing.assert_allclose(data["share"], expected, rtol=1e-12, atol=0)
    assert data["mean_length"] == pytest.approx(10 * p, rel=1e-12)


def test_data_expected_norms():
    data = W.gradient_explorer_data(12, 0.5)
    layers = np.arange(13)
    np.testing.assert_allclose(
        data["log10_expected_residual"], 0.5 * layers * np.log10(1.5), rtol=1e-14
    )
    np.testing.assert_allclose(
        data["log10_expected_plain"], 0.5 * layers * np.log10(0.5), rtol=1e-14
    )
    assert data["log10_sample_residual"][0] == 0.0
    assert data["log10_sample_plain"].shape == (13,)


def test_sampled_norms_average_to_the_expected_law():
    # mean of ||P v||^2 over independent draws -> (1 + g)^L and g^L
    L, g = 4, 0.5
    res, plain = [], []
    for seed in range(300):
        data = W.gradient_explorer_data(L, g, dim=16, seed=seed)
        res.append(10 ** (2 * data["log10_sample_residual"][-1]))
        plain.append(10 ** (2 * data["log10_sample_plain"][-1]))
    for values, exact in ((res, (1 + g) ** L), (plain, g**L)):
        values = np.asarray(values)
        stderr = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean() - exact) < 4 * stderr
    # and they would not match a branch of scale g instead of sqrt(g)
    assert abs(np.mean(res) - (1 + g**2) ** L) > 4 * np.std(res) / np.sqrt(300)


def test_deep_plain_stack_does_not_underflow():
    data = W.gradient_explorer_data(64, 0.05)
    assert np.all(np.isfinite(data["log10_sample_plain"]))
    assert data["log10_sample_plain"][-1] < -30


def test_figure_has_two_panels_with_the_shares():
    fig = W.gradient_explorer_figure(8, 0.5)
    assert isinstance(fig, Figure)
    ax_len, ax_norm = fig.axes
    assert "L=8" in ax_len.get_title() and "g=0.5" in ax_len.get_title()
    # the bars drawn: one per path length 0..L, then the plain stack's
    shown = [patch for patch in ax_len.patches if patch.get_visible()]
    assert len(shown) == 8 + 2
    heights = [patch.get_height() for patch in shown]
    np.testing.assert_allclose(heights[:9], W.gradient_explorer_data(8, 0.5)["share"])
    centres = [patch.get_x() + patch.get_width() / 2 for patch in shown]
    # at length L the residual bar and the plain one stand side by side
    np.testing.assert_allclose(centres, [*range(8), 7.8, 8.2])
    assert heights[9] == 1.0  # the plain stack's single path
    assert ax_norm.get_xlabel() and ax_norm.get_ylabel()
    assert not plt.get_fignums()  # not registered with pyplot: nothing piles up


@pytest.mark.parametrize(
    "bad, match",
    [(dict(depth=0), "depth"), (dict(gain=0.0), "gain"), (dict(depth=65), "depth"),
     (dict(gain=2.5), "gain")],
)
def test_front_end_refuses_out_of_range_start(bad, match):
    with pytest.raises(ValueError, match=match):
        W.gradient_explorer(**bad)


def test_front_end_driven_as_a_reader_would():
    box = W.gradient_explorer()
    first = _png_shown(box)
    assert first == W.gradient_explorer_png(20, 0.1)  # shown without interaction

    box.sliders["depth"].value = 40
    second = _png_shown(box)
    assert second != first
    assert second == W.gradient_explorer_png(40, 0.1)
    assert box.data["depth"] == 40

    box.sliders["gain"].value = 0.5
    third = _png_shown(box)
    assert third != second
    assert third == W.gradient_explorer_png(40, 0.5)
    np.testing.assert_array_equal(
        box.data["share"], W.gradient_explorer_data(40, 0.5)["share"]
    )
    assert not plt.get_fignums()


def test_updated_figure_draws_what_a_fresh_one_draws():
    # the live figure keeps its bars between moves: a deep then a shallow stack
    # must leave no trace of the deep one
    box = W.gradient_explorer(depth=64, gain=1.0)
    box.sliders["depth"].value = 3
    assert _png_shown(box) == W.gradient_explorer_png(3, 1.0)
    assert box.png == _png_shown(box)


def test_figure_deeper_than_the_slider():
    fig = W.gradient_explorer_figure(70, 0.3)
    shown = [patch for patch in fig.axes[0].patches if patch.get_visible()]
    assert len(shown) == 70 + 2
    np.testing.assert_allclose(
        [patch.get_height() for patch in shown[:-1]],
        W.gradient_explorer_data(70, 0.3)["share"],
    )
    assert shown[-1].get_x() + shown[-1].get_width() / 2 == pytest.approx(70.2)


def test_depth_one_shows_both_bars_and_the_legend_hides_no_data():
    fig = W.gradient_explorer_figure(1, 0.5)
    fig.canvas.draw()
    ax_len = fig.axes[0]
    shown = [p for p in ax_len.patches if p.get_visible() and p.get_height() > 0]
    residual_L, plain = shown[1], shown[2]
    assert plain.get_height() == 1.0
    assert residual_L.get_height() == pytest.approx(0.5 / 1.5)
    # side by side at length L = 1: no overlap, both reach the figure
    assert residual_L.get_x() + residual_L.get_width() <= plain.get_x() + 1e-12
    legend = ax_len.get_legend().get_window_extent()
    for patch in shown:
        box = patch.get_window_extent()
        assert not box.overlaps(legend), patch
    # the mean line ends below the legend
    mean_top = ax_len.lines[0].get_window_extent().y1
    assert mean_top <= legend.y0 + 1e-6


def test_text_is_legible_in_the_book_column():
    # Shown unscaled in the book's ~690 px text column: >= 10 px per text.
    fig = W.gradient_explorer_figure(20, 0.1)
    assert fig.get_figwidth() * fig.dpi <= 700
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
             if getattr(t, "get_text", lambda: "")() and t.get_visible()]
    assert len(texts) > 10
    assert min(t.get_fontsize() for t in texts) * fig.dpi / 72 >= 9.9


def test_explorer_data_refuse_depths_far_beyond_their_sliders():
    from pathint_lib import widgets as W

    calls = {
        "gradient": lambda d: W.gradient_explorer_data(d, 0.1),
        "stability": lambda d: W.stability_explorer_data(0.4, 0.0, d),
        "path": lambda d: W.path_explorer_data(d, 1.0, 1.0, 0.0, 0),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=r"depth must be <= 1000 .*got 1,000,000"):
            call(10**6)
        call(W.EXPLORER_MAX_DEPTH if name != "gradient" else 64)  # still computes
