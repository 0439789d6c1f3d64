r"""Kernel-free explorables: slider figures that work in the static HTML book.

An ipywidgets ``interact`` needs a running kernel to redraw its figure, so in the
rendered book its sliders do nothing. An :class:`Explorable` instead renders its
figure once for every point of a coarse grid of slider values when the chapter
is executed, and embeds all the frames in one self-contained HTML snippet: a range
input per slider, the frames as base64 PNG data, and a few lines of inline
JavaScript that swap the image as the sliders move. The snippet loads no file and
needs no kernel and no network, so it works in the book opened offline.

The grid is the product of the slider value lists, so its size grows fast: a
grid of :math:`n_1 \times n_2 \times \dots \times n_s` frames is refused above
:data:`MAX_FRAMES` frames (or the ``max_frames`` given).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.figure
import matplotlib.pyplot as plt

from ._validate import positive_int

__all__ = ["MAX_FRAMES", "Explorable", "explorable"]

#: The largest grid an explorable renders unless ``max_frames`` says otherwise.
#: A line-plot frame at 85 dpi is about 5-15 kB as a palette PNG, so 200 frames
#: add 1-3 MB to a page; each frame is drawn once when the chapter executes.
MAX_FRAMES = 200


def _format_value(value: Any) -> str:
    """The text a slider shows for one of its values."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _png_bytes(fig: matplotlib.figure.Figure, dpi: int, palette: bool) -> bytes:
    """Encode a figure as an optimised PNG (an 8-bit palette when ``palette``)."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=dpi)
    if not palette:
        return raw.getvalue()

    from PIL import Image

    raw.seek(0)
    with Image.open(raw) as image:
        rgb = image.convert("RGB")
    small = io.BytesIO()
    rgb.quantize(colors=256).save(small, format="PNG", optimize=True)
    return small.getvalue()


class Explorable:
    r"""A figure with sliders, pre-rendered on a grid and shown without a kernel.

    Parameters
    ----------
    frame_fn : callable
        ``frame_fn(**values)`` draws the figure for one combination of slider values
        and returns the :class:`matplotlib.figure.Figure`.
    sliders : dict
        Slider name (a keyword argument of ``frame_fn``) to the list of its values,
        in slider order. Every combination is rendered.
    initial : dict, optional
        Slider name to the value shown before the reader moves that slider; by
        default the first value of each list.
    dpi : int, optional
        Resolution of the frames (default 85).
    max_frames : int, optional
        Largest number of frames allowed (default :data:`MAX_FRAMES`).
    palette : bool, optional
        Store the frames as 8-bit palette PNGs (default True), about three times
        smaller than full colour and indistinguishable for line plots.
    title : str, optional
        Alternative text of the image, for screen readers.
    labels : dict, optional
        Slider name to the label shown beside that slider (and read by screen
        readers), e.g. ``{"lam": "action scale λ"}``; by default, and for sliders
        not named, the slider name itself. Labels change only what is displayed.

    Attributes
    ----------
    names : tuple of str
        The slider names, in order.
    values : tuple of tuple
        The values of each slider.
    shape : tuple of int
        The number of values of each slider.
    initial_index : tuple of int
        The value index each slider starts at.
    frames : tuple of bytes
        The PNG of every grid point, in row-major order (see Notes).
    title : str
        Alternative text of the image.
    labels : tuple of str
        The label shown for each slider, in order.

    Raises
    ------
    ValueError
        If ``sliders`` is empty, a value list is empty, a name is not a valid
        keyword, an initial value is not in its list, ``labels`` names an unknown
        slider or holds an empty or non-string label, or the grid holds more than
        ``max_frames`` frames.
    TypeError
        If ``frame_fn`` is not callable or returns something other than a Figure.

    Notes
    -----
    Frames are stored in row-major order over the sliders: the frame of value
    indices :math:`(i_1, \dots, i_s)` on lists of lengths :math:`(n_1, \dots, n_s)`
    is number :math:`(\dots((i_1 n_2 + i_2) n_3 + i_3) \dots) n_s + i_s`, the order
    of ``itertools.product``. Every figure, and any other pyplot figure that
    ``frame_fn`` opens, is closed right after it is encoded, even when
    ``frame_fn`` raises, so rendering a grid piles up no figures.

    Every frame is drawn when the notebook runs, so the grid size multiplies the
    cost of one figure (a simple line plot takes a few tenths of a second on a
    2-core machine): keep grids coarse.

    Only the grid points exist: a reader cannot pick a value between two grid
    values. Use the ipywidgets front ends of ``pathint_lib.widgets`` in a live
    notebook for that.
    """

    def __init__(
        self,
        frame_fn: Callable[..., matplotlib.figure.Figure],
        sliders: Mapping[str, Sequence[Any]],
        *,
        initial: Mapping[str, Any] | None = None,
        dpi: int = 85,
        max_frames: int = MAX_FRAMES,
        palette: bool = True,
        title: str = "Interactive figure",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if not callable(frame_fn):
            raise TypeError(f"frame_fn must be callable, got {frame_fn!r}")
        if not isinstance(sliders, Mapping) or not sliders:
            raise ValueError(
                f"sliders must be a non-empty dict of name -> values, got {sliders!r}"
            )
        dpi = positive_int(dpi, "dpi")
        max_frames = positive_int(max_frames, "max_frames")

        names = list(sliders)
        values = []
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(
                    f"slider names must be valid keyword names, got {name!r}"
                )
            options = list(sliders[name])
            if not options:
                raise ValueError(
                    f"slider {name!r} must have at least one value, got []"
                )
            values.append(options)

        shape = tuple(len(v) for v in values)
        n_frames = math.prod(shape)
        if n_frames > max_frames:
            grid = " x ".join(str(n) for n in shape)
            raise ValueError(
                f"the slider grid asks for {n_frames} frames ({grid}), more than the "
                f"maximum of {max_frames}; use fewer values per slider"
            )

        start = []
        initial = dict(initial or {})
        unknown = set(initial) - set(names)
        if unknown:
            raise ValueError(
                f"initial names {sorted(unknown)} are not sliders; sliders are {names}"
            )
        for name, options in zip(names, values, strict=True):
            if name in initial:
                if initial[name] not in options:
                    raise ValueError(
                        f"initial value of {name!r} must be one of {options}, "
                        f"got {initial[name]!r}"
                    )
                start.append(options.index(initial[name]))
            else:
                start.append(0)

        labels = dict(labels or {})
        unknown = set(labels) - set(names)
        if unknown:
            raise ValueError(
                f"label names {sorted(unknown)} are not sliders; sliders are {names}"
            )
        for name, label in labels.items():
            if not isinstance(label, str) or not label.strip():
                raise ValueError(
                    f"the label of {name!r} must be a non-empty string, got {label!r}"
                )

        self.names: tuple[str, ...] = tuple(names)
        self.labels: tuple[str, ...] = tuple(labels.get(n, n) for n in names)
        self.values: tuple[tuple[Any, ...], ...] = tuple(tuple(v) for v in values)
        self.shape: tuple[int, ...] = shape
        self.initial_index: tuple[int, ...] = tuple(start)
        self.title = str(title)
        self.frames: tuple[bytes, ...] = tuple(
            self._render(frame_fn, dict(zip(names, combo, strict=True)), dpi, palette)
            for combo in itertools.product(*values)
        )

    @staticmethod
    def _render(
        frame_fn: Callable[..., matplotlib.figure.Figure],
        kwargs: dict[str, Any],
        dpi: int,
        palette: bool,
    ) -> bytes:
        before = set(plt.get_fignums())
        fig = None
        try:
            fig = frame_fn(**kwargs)
            if not isinstance(fig, matplotlib.figure.Figure):
                raise TypeError(
                    f"frame_fn must return a matplotlib Figure, got "
                    f"{type(fig).__name__} for {kwargs}"
                )
            return _png_bytes(fig, dpi, palette)
        finally:
            if isinstance(fig, matplotlib.figure.Figure):
                plt.close(fig)
            for num in set(plt.get_fignums()) - before:
                plt.close(num)

    @property
    def n_frames(self) -> int:
        """Number of rendered frames, the product of the slider list lengths."""
        return len(self.frames)

    def frame_index(self, indices: Sequence[int]) -> int:
        """Position in :attr:`frames` of the frame with these value indices."""
        if len(indices) != len(self.shape):
            raise ValueError(
                f"indices must hold one index per slider ({len(self.shape)}), "
                f"got {list(indices)}"
            )
        flat = 0
        for name, i, n in zip(self.names, indices, self.shape, strict=True):
            if not 0 <= i < n:
                raise ValueError(f"index of {name!r} must be in 0..{n - 1}, got {i}")
            flat = flat * n + i
        return flat

    def frame(self, **values: Any) -> bytes:
        """The PNG of the frame at these slider values (unnamed sliders: initial)."""
        indices = list(self.initial_index)
        for name, value in values.items():
            if name not in self.names:
                raise ValueError(f"{name!r} is not a slider; sliders are {self.names}")
            options = self.values[self.names.index(name)]
            if value not in options:
                raise ValueError(
                    f"{name} must be one of {list(options)}, got {value!r}"
                )
            indices[self.names.index(name)] = options.index(value)
        return self.frames[self.frame_index(indices)]

    def __repr__(self) -> str:
        grid = " x ".join(str(n) for n in self.shape)
        names = list(self.names)
        return f"Explorable(sliders={names}, frames={self.n_frames} ({grid}))"

    def _repr_html_(self) -> str:
        uid = f"pathint-explorable-{uuid.uuid4().hex[:12]}"
        labels = [[_format_value(v) for v in options] for options in self.values]
        data = {
            "shape": list(self.shape),
            "labels": labels,
            "frames": [base64.b64encode(f).decode("ascii") for f in self.frames],
        }
        # Inside <script>, "</" could end the element early; JSON allows "<\/".
        blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
        first = data["frames"][self.frame_index(self.initial_index)]

        controls = []
        for k, name in enumerate(self.labels):
            i0 = self.initial_index[k]
            controls.append(
                f'<label class="pathint-explorable-slider">'
                f'<span class="pathint-explorable-name">{html.escape(name)}</span> '
                f'<input type="range" min="0" max="{self.shape[k] - 1}" step="1" '
                f'value="{i0}" data-slider="{k}" id="{uid}-{k}" '
                f'aria-label="{html.escape(name)}"> '
                f'<output for="{uid}-{k}">{html.escape(labels[k][i0])}</output>'
                f"</label>"
            )
        script = (
            "(function(){"
            f'var root=document.getElementById("{uid}");'
            "if(!root||root.getAttribute('data-ready'))return;"
            "root.setAttribute('data-ready','1');"
            "var data=JSON.parse(root.querySelector("
            "'script.pathint-explorable-data').textContent);"
            "var img=root.querySelector('img.pathint-explorable-frame');"
            "var inputs=root.querySelectorAll('input[type=range]');"
            "function update(){var flat=0;"
            "for(var s=0;s<inputs.length;s++){"
            "var i=parseInt(inputs[s].value,10);flat=flat*data.shape[s]+i;"
            "inputs[s].parentNode.querySelector('output').textContent="
            "data.labels[s][i];}"
            "img.src='data:image/png;base64,'+data.frames[flat];}"
            "for(var s=0;s<inputs.length;s++){"
            "inputs[s].addEventListener('input',update);}"
            "})();"
        )
        return (
            f'<div class="pathint-explorable" id="{uid}" '
            f'data-frames="{self.n_frames}">'
            f'<div class="pathint-explorable-controls">{"".join(controls)}</div>'
            f'<img class="pathint-explorable-frame" alt="{html.escape(self.title)}" '
            f'src="data:image/png;base64,{first}">'
            f'<script type="application/json" class="pathint-explorable-data">'
            f"{blob}</script>"
            f"<script>{script}</script>"
            f"</div>"
        )


def explorable(
    frame_fn: Callable[..., matplotlib.figure.Figure],
    sliders: Mapping[str, Sequence[Any]],
    **options: Any,
) -> Explorable:
    """Render ``frame_fn`` on the grid of ``sliders`` and return the explorable.

    The returned object displays itself in a notebook, and so in the rendered book,
    as sliders over a pre-rendered figure; see :class:`Explorable` for the
    parameters (``initial``, ``dpi``, ``max_frames``, ``palette``, ``title``,
    ``labels``) and the errors raised.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> def draw(slope):
    ...     fig, ax = plt.subplots()
    ...     ax.plot([0, 1], [0, slope])
    ...     return fig
    >>> explorable(draw, {"slope": [0.5, 1.0, 2.0]}).n_frames
    3
    """
    return Explorable(frame_fn, sliders, **options)
