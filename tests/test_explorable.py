"""Tests of pathint_lib.explorable: pre-rendered slider figures for the static book."""

import base64
import io
import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from pathint_lib.explorable import MAX_FRAMES, Explorable, explorable  # noqa: E402

RED = [0.0, 0.5, 1.0]
GREEN = [0.25, 0.75]


def solid(red, green):
    """A small figure filled with one colour that encodes the slider values."""
    fig = plt.figure(figsize=(0.4, 0.3))
    fig.patch.set_facecolor((red, green, 0.0))
    return fig


def centre_colour(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=float) / 255
    return rgb[rgb.shape[0] // 2, rgb.shape[1] // 2]


@pytest.fixture(autouse=True)
def no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def grid():
    return explorable(solid, {"red": RED, "green": GREEN}, dpi=50)


def test_one_frame_per_grid_point(grid):
    assert grid.n_frames == len(RED) * len(GREEN) == 6
    assert grid.shape == (3, 2)
    assert all(f.startswith(b"\x89PNG\r\n\x1a\n") for f in grid.frames)


def test_frames_are_in_row_major_order(grid):
    # Frame number i*len(GREEN)+j must be the figure drawn with RED[i], GREEN[j].
    for i, red in enumerate(RED):
        for j, green in enumerate(GREEN):
            colour = centre_colour(grid.frames[i * len(GREEN) + j])
            np.testing.assert_allclose(colour, [red, green, 0.0], atol=2 / 255)
            assert (
                grid.frame(red=red, green=green)
                == grid.frames[grid.frame_index((i, j))]
            )


def test_html_has_one_image_and_one_input_per_slider(grid):
    page = grid._repr_html_()
    assert page.count("<img") == 1
    assert len(re.findall(r'<input type="range"', page)) == 2
    assert 'class="pathint-explorable"' in page
    # Self-contained: no URL other than data: URIs.
    assert "http" not in page and 'src="data:image/png;base64,' in page


def test_html_embeds_every_frame_and_starts_at_initial_value():
    ex = explorable(
        solid, {"red": RED, "green": GREEN}, initial={"green": 0.75}, dpi=50
    )
    page = ex._repr_html_()
    blob = re.search(
        r'<script type="application/json" class="pathint-explorable-data">'
        r"(.*?)</script>",
        page,
        re.S,
    ).group(1)
    data = json.loads(blob)
    assert data["shape"] == [3, 2]
    assert data["labels"] == [["0", "0.5", "1"], ["0.25", "0.75"]]
    assert [base64.b64decode(f) for f in data["frames"]] == list(ex.frames)
    shown = re.search(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(shown) == ex.frame(red=0.0, green=0.75)
    assert 'value="1" data-slider="1"' in page


def test_ids_are_unique_per_instance(grid):
    ids = {
        re.search(r'id="(pathint-explorable-[0-9a-f]+)"', grid._repr_html_()).group(1)
        for _ in range(3)
    }
    other = explorable(lambda red: solid(red, 0.0), {"red": [0.0]}, dpi=50)
    ids.add(
        re.search(r'id="(pathint-explorable-[0-9a-f]+)"', other._repr_html_()).group(1)
    )
    assert len(ids) == 4


def test_oversize_grid_is_refused_before_rendering():
    calls = []

    def counting(a, b):
        calls.append((a, b))
        return solid(0.0, 0.0)

    expected = r"asks for 210 frames \(21 x 10\).*maximum of 200"
    with pytest.raises(ValueError, match=expected):
        explorable(counting, {"a": list(range(21)), "b": list(range(10))})
    assert MAX_FRAMES == 200
    assert calls == []
    with pytest.raises(ValueError, match="asks for 6 frames"):
        explorable(counting, {"a": [1, 2, 3], "b": [1, 2]}, max_frames=5)


def test_every_figure_is_closed():
    extra = []

    def two_figures(red):
        extra.append(plt.figure())  # a stray figure frame_fn forgets to close
        return solid(red, 0.5)

    explorable(two_figures, {"red": RED}, dpi=50)
    assert plt.get_fignums() == []


def test_figures_are_closed_when_frame_fn_fails():
    def broken(red):
        solid(red, 0.0)
        raise RuntimeError("drawing failed")

    with pytest.raises(RuntimeError, match="drawing failed"):
        explorable(broken, {"red": RED}, dpi=50)
    assert plt.get_fignums() == []


def test_frame_fn_must_return_a_figure():
    def axes_not_figure(red):
        return solid(red, 0.0).axes

    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        explorable(axes_not_figure, {"red": RED}, dpi=50)
    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    ("sliders", "kwargs", "message"),
    [
        ({}, {}, "sliders must be a non-empty dict"),
        ({"red": []}, {}, "slider 'red' must have at least one value"),
        ({"not a name": [1]}, {}, "valid keyword names"),
        ({"red": RED}, {"initial": {"red": 0.3}}, "initial value of 'red' must be"),
        ({"red": RED}, {"initial": {"blue": 0.0}}, "are not sliders"),
        ({"red": RED}, {"dpi": 0}, "dpi must be >= 1"),
        ({"red": RED}, {"labels": {"blue": "blue"}}, "label names .* not sliders"),
        ({"red": RED}, {"labels": {"red": " "}}, "label of 'red' must be a non-empty"),
    ],
)
def test_bad_input(sliders, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Explorable(solid, sliders, **kwargs)


def test_palette_frames_are_smaller_than_full_colour():
    def curve(phase):
        fig, ax = plt.subplots(figsize=(4, 3))
        x = np.linspace(0, 6, 200)
        ax.plot(x, np.sin(x + phase), label="sin")
        ax.legend()
        return fig

    small = explorable(curve, {"phase": [0.0]}, dpi=80)
    full = explorable(curve, {"phase": [0.0]}, dpi=80, palette=False)
    assert len(small.frames[0]) < len(full.frames[0])
    with Image.open(io.BytesIO(small.frames[0])) as image:
        assert image.size == (320, 240)


def test_labels_change_only_the_displayed_names(grid):
    plain = grid._repr_html_()
    assert grid.labels == ("red", "green")
    assert '<span class="pathint-explorable-name">red</span>' in plain
    named = explorable(
        solid, {"red": RED, "green": GREEN}, dpi=50, labels={"red": "red <R> λ"}
    )
    page = named._repr_html_()
    assert named.names == ("red", "green") and named.labels == ("red <R> λ", "green")
    assert named.frames == grid.frames  # same frames, same order
    assert '<span class="pathint-explorable-name">red &lt;R&gt; λ</span>' in page
    assert 'aria-label="red &lt;R&gt; λ"' in page
    assert '<span class="pathint-explorable-name">green</span>' in page
    assert named.frame(red=1.0, green=0.25) == grid.frame(red=1.0, green=0.25)
