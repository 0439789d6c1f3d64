"""Interactive explorers: thin ipywidgets front ends over pure functions.

Each explorer has two parts. A pure function takes the slider values and returns a
matplotlib figure (or the data behind it); it is unit-tested and it also renders the
frames of the kernel-free explorables in the HTML book. A front end wires sliders to
that function with ``ipywidgets``; it shows the figure at the default values at once,
so a notebook executed without interaction (and the rendered book) shows it too.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import warnings
from collections.abc import Callable
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from . import paths, pde, propagators
from ._validate import as_real, non_negative_int, positive, positive_int


def _starting_values(
    values: dict[str, Any],
    defaults: dict[str, Any],
    ranges: dict[str, tuple[float, float, float]],
    log10_sliders: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Merge a front end's starting values with its defaults and check the ranges.

    ``ranges`` maps a slider name to ``(low, high, step)`` on the slider's own
    scale; the sliders named in ``log10_sliders`` move on a log10 scale, so their
    ``low`` and ``high`` are exponents, and an error states the values
    ``10**low`` and ``10**high`` a reader can set.
    """
    unknown = set(values) - set(defaults)
    if unknown:
        raise ValueError(
            f"unknown slider names {sorted(unknown)}; allowed: {sorted(defaults)}"
        )
    start = {**defaults, **values}
    for name, (lo, hi, _) in ranges.items():
        value = start[name]
        if name in log10_sliders:
            position = math.log10(value) if value > 0 else -math.inf
            shown = f"[{10.0**lo:.4g}, {10.0**hi:.4g}]"
        else:
            position = float(value)
            shown = f"[{lo}, {hi}]"
        if not lo <= position <= hi:
            raise ValueError(
                f"{name} must be in the slider range {shown}, got {value}"
            )
    return start


def _show_png(output: Any, png: bytes, text: str) -> None:
    """Replace what an ``ipywidgets.Output`` shows by one PNG (with a text form)."""
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {
                "image/png": base64.b64encode(png).decode("ascii"),
                "text/plain": text,
            },
            "metadata": {},
        },
    )


#: Largest depth the explorers' data functions compute (far beyond their
#: sliders); deeper requests would run for minutes and are refused.
EXPLORER_MAX_DEPTH = 1000


def _explorer_depth(value: Any, instead: str) -> int:
    """A depth for an explorer's data function, refused above EXPLORER_MAX_DEPTH."""
    depth = positive_int(value, "depth")
    if depth > EXPLORER_MAX_DEPTH:
        raise ValueError(
            f"depth must be <= {EXPLORER_MAX_DEPTH} for an explorer (its sliders stop "
            f"far below), got {depth:,}; for deeper stacks {instead}"
        )
    return depth


# --- chapter 3: stability of a residual convolution block -------------------------

#: Grid points of the stability explorer's periodic grid (grid step h = 1, tau = 1).
STABILITY_EXPLORER_N = 64
#: Slider values the stability explorer starts from.
STABILITY_EXPLORER_DEFAULTS = {"r": 0.4, "beta": 0.4, "depth": 40}
#: Slider ranges of :func:`stability_explorer`: ``(min, max, step)``.
STABILITY_EXPLORER_RANGES = {
    "r": (0.0, 1.0, 0.01),
    "beta": (-1.5, 1.5, 0.05),
    "depth": (1, 200, 1),
}
#: The signal panel draws values beyond this many times ``max|u0|`` clipped.
STABILITY_EXPLORER_CLIP = 3.0
#: The layers stop when ``max|u|`` exceeds this (far below float64 overflow).
STABILITY_EXPLORER_OVERFLOW = 1e150
#: Resolution (dots per inch) of the PNG the live explorer shows. The figure's 7.6
#: inches are then about as wide as the book's text column (some 690 px in a 1280 px
#: wide browser window), so its text is not scaled down there.
STABILITY_EXPLORER_DPI = 90


@dataclasses.dataclass(frozen=True)
class StabilityExplorerData:
    r"""Everything the stability explorer draws, for one set of slider values.

    The layer is one explicit step of :math:`u_t = D u_{xx} + b u_x` with grid step
    :math:`h = 1` and layer step :math:`\tau = 1`, so :math:`D = r` and
    :math:`b = \beta` in these units and :math:`T = L`; its kernel is
    :math:`(r - \beta/2,\, -2r,\, r + \beta/2)`. The input is a box on a periodic
    grid of :data:`STABILITY_EXPLORER_N` points.

    Attributes
    ----------
    r, beta : float
        The mesh ratios :math:`D\tau/h^2` and :math:`b\tau/h`.
    depth : int
        :math:`L`, the number of layers applied.
    kernel, weights : numpy.ndarray
        Three values each: the residual kernel and the layer weights
        :math:`w = (k_0, 1 + k_1, k_2)`.
    theta, abs_G : numpy.ndarray
        Wave numbers :math:`\theta \in [-\pi, \pi]` and :math:`|G(\theta)|`.
    max_amplification : float
        :math:`\max_\theta |G(\theta)|`.
    stable, positive : bool
        Von Neumann stability and non-negativity of the layer weights.
    x : numpy.ndarray
        Integer grid index :math:`j` (position :math:`x = j h`).
    u0, exact : numpy.ndarray
        The input and the exact solution of the PDE at :math:`T = L\tau`
        (:func:`pathint_lib.pde.exact_periodic_solution`).
    output : numpy.ndarray
        The signal after the layers: the layer of
        :class:`pathint_lib.blocks.ResidualConv1d`,
        :math:`u_j \leftarrow u_j + k_0 u_{j-1} + k_1 u_j + k_2 u_{j+1}`, applied
        ``layers_applied`` times in float64 (one layer at a time, in numpy);
        finite always.
    layers_applied : int
        ``depth``, or fewer when ``max|u|`` passed
        :data:`STABILITY_EXPLORER_OVERFLOW` and the stack was stopped.
    peak : float
        :math:`\max_j |u_j|` of ``output``.
    clipped : numpy.ndarray
        Boolean mask: where ``|output|`` exceeds :data:`STABILITY_EXPLORER_CLIP` times
        :math:`\max|u_0|` (drawn at the clip level, marked).
    messages : tuple of str
        The verdict shown in the figure's title: first line stable/unstable,
        then notes (negative weights, clipping, a stopped stack).
    """

    r: float
    beta: float
    depth: int
    kernel: np.ndarray
    weights: np.ndarray
    theta: np.ndarray
    abs_G: np.ndarray
    max_amplification: float
    stable: bool
    positive: bool
    x: np.ndarray
    u0: np.ndarray
    exact: np.ndarray
    output: np.ndarray
    layers_applied: int
    peak: float
    clipped: np.ndarray
    messages: tuple[str, ...]

    @property
    def display_output(self) -> np.ndarray:
        """``output`` clipped to :math:`\\pm` the clip level, as drawn."""
        bound = STABILITY_EXPLORER_CLIP * float(np.max(np.abs(self.u0)))
        return np.clip(self.output, -bound, bound)


def _stability_input(n: int) -> np.ndarray:
    # A box: its jumps put weight on every Fourier mode, the highest included.
    u0 = np.zeros(n)
    u0[3 * n // 8 : 5 * n // 8] = 1.0
    return u0


def stability_explorer_data(r: float, beta: float, depth: int) -> StabilityExplorerData:
    r"""The data of the stability explorer: one layer, its :math:`|G|`, and L layers.

    Parameters
    ----------
    r : float
        :math:`D\tau/h^2 \ge 0`.
    beta : float
        :math:`b\tau/h`, finite.
    depth : int
        Number of layers :math:`L \ge 1`.

    Returns
    -------
    StabilityExplorerData

    Raises
    ------
    ValueError
        If ``r < 0``, ``depth < 1``, or a value is not finite.

    Notes
    -----
    An unstable layer multiplies the mode :math:`\theta` by :math:`|G(\theta)|`
    per layer; the stack is applied as it is, layer by layer (no spectral
    shortcut), and stopped once :math:`\max|u|` passes
    :data:`STABILITY_EXPLORER_OVERFLOW`, so the result never holds inf or NaN.
    The layers run in numpy: on this small grid one torch call per layer would
    cost far more than the arithmetic, and the result is the same layer (the
    tests compare it with :class:`pathint_lib.blocks.ResidualConv1d`).
    """
    r = as_real(r, "r")
    if r < 0:
        raise ValueError(f"r must be >= 0 (D >= 0), got {r}")
    beta = as_real(beta, "beta")
    depth = _explorer_depth(
        depth, "the worst mode grows like pde.max_amplification(kernel) ** depth"
    )

    with warnings.catch_warnings():
        # The figure states the verdict; the library's warning would repeat it.
        warnings.simplefilter("ignore", pde.StabilityWarning)
        kernel = pde.kernel_from_coefficients(r, beta, 0.0, 1.0, 1.0)
    theta = np.linspace(-np.pi, np.pi, 361)
    abs_g = np.abs(pde.amplification(kernel, theta))
    g_max = pde.max_amplification(kernel)
    stable = pde.is_von_neumann_stable(kernel)
    positive_weights = pde.is_positive(kernel)

    n = STABILITY_EXPLORER_N
    u0 = _stability_input(n)
    exact = pde.exact_periodic_solution(u0, 1.0, float(depth), r, beta)
    # u <- u + k*u in torch's order: k[0] acts on u_{j-1}, k[2] on u_{j+1}.
    k_left, k_mid, k_right = (float(v) for v in kernel)
    u = u0.copy()
    applied = 0
    for _ in range(depth):
        u_next = u + (k_left * np.roll(u, 1) + k_mid * u + k_right * np.roll(u, -1))
        if not float(np.max(np.abs(u_next))) <= STABILITY_EXPLORER_OVERFLOW:
            break
        u = u_next
        applied += 1
    output = u
    peak = float(np.max(np.abs(output)))
    clipped = np.abs(output) > STABILITY_EXPLORER_CLIP * float(np.max(np.abs(u0)))

    if stable:
        messages = [f"stable: max|G| = {g_max:.4f} ≤ 1"
                    + (", all layer weights ≥ 0" if positive_weights else "")]
    else:
        log_growth = depth * math.log10(g_max)
        growth = f"{10**log_growth:.3g}" if log_growth < 300 else f"1e{log_growth:.0f}"
        messages = [
            f"UNSTABLE: max|G| = {g_max:.4f} > 1: the fastest mode grows "
            f"×{g_max:.4f} per layer, ×{growth} after {depth} layers"
        ]
    if not positive_weights:
        messages.append("a layer weight is negative: no maximum principle "
                        "(over- and undershoots)")
    if applied < depth:
        messages.append(f"|u| passed {STABILITY_EXPLORER_OVERFLOW:.0e} after "
                        f"{applied} layers: stack stopped there")
    if clipped.any():
        messages.append(f"output reaches |u| = {peak:.3g}; drawn clipped at "
                        f"±{STABILITY_EXPLORER_CLIP:g} (× marks)")
    return StabilityExplorerData(
        r=r, beta=beta, depth=depth, kernel=kernel, weights=pde.layer_weights(kernel),
        theta=theta, abs_G=abs_g, max_amplification=g_max, stable=stable,
        positive=positive_weights, x=np.arange(n), u0=u0, exact=exact, output=output,
        layers_applied=applied, peak=peak, clipped=clipped, messages=tuple(messages),
    )


class _StabilityFigure:
    """The explorer's figure with its artists made once; :meth:`show` sets the data.

    The axes sit at fixed places (no layout pass; only the room above them
    follows the number of title lines) and the axis limits are set from the
    data, so a slider move costs one Agg draw and a fresh figure shown the same
    data draws the same pixels.
    """

    _SIZE = (7.6, 3.5)  # inches
    _LEFT, _GAP, _RIGHT, _BOTTOM = 0.58, 0.6, 0.1, 0.45  # inches
    _ABOVE_AXES, _TITLE_LINE = 0.34, 0.15  # inches: axes titles, one verdict line
    _FONT, _TICK_FONT, _LEGEND_FONT = 8.5, 8.0, 8.0  # points
    _WIDTHS = (0.7, 1.0, 1.4)
    _WARN = "C3"

    def __init__(self) -> None:
        # A fixed layout. Not "no engine": savefig would hand such a figure the
        # style's engine (constrained under the book style) after its first save.
        fixed = PlaceHolderLayoutEngine(adjust_compatible=True,
                                        colorbar_gridspec=True)
        fig = Figure(figsize=self._SIZE, dpi=STABILITY_EXPLORER_DPI, layout=fixed)
        FigureCanvasAgg(fig)
        width = self._SIZE[0]
        mean_axes = (width - self._LEFT - 2 * self._GAP - self._RIGHT) / 3
        ax_w, ax_g, ax_u = fig.subplots(
            1, 3, width_ratios=self._WIDTHS,
            gridspec_kw={"left": self._LEFT / width,
                         "right": 1 - self._RIGHT / width,
                         "bottom": self._BOTTOM / self._SIZE[1],
                         "wspace": self._GAP / mean_axes},
        )
        self.figure, self.axes = fig, (ax_w, ax_g, ax_u)

        # (1) the layer weights, negative ones in red
        self.bars = ax_w.bar([-1, 0, 1], [0.0, 0.0, 0.0], color="C0", width=0.6)
        ax_w.axhline(0.0, color="k", lw=0.8)
        ax_w.set_xlim(-1.6, 1.6)
        ax_w.set_xticks([-1, 0, 1])
        ax_w.set_xlabel("offset $s$")
        ax_w.set_ylabel("layer weight $w(s)$")

        # (2) the amplification factor; the shading of growing modes is remade
        theta = np.linspace(-np.pi, np.pi, 2)
        (self.g_line,) = ax_g.plot(theta, theta, color="C0", label=r"$|G(\theta)|$")
        self.one_line = ax_g.axhline(1.0, color="k", ls="--", lw=1.0, label="1")
        self.g_fill = None
        ax_g.set_xlim(-np.pi, np.pi)
        ax_g.set_xticks([-np.pi, 0, np.pi], [r"$-\pi$", "0", r"$\pi$"])
        ax_g.set_xlabel(r"wave number $\theta = \kappa h$")
        ax_g.set_ylabel(r"$|G(\theta)|$")

        # (3) the signal after L layers against the exact PDE solution
        x = np.arange(2)
        (self.u0_line,) = ax_u.plot(x, x, color="0.6", ls=":", label="input $u_0$")
        (self.exact_line,) = ax_u.plot(x, x, color="k", lw=1.5,
                                       label="exact PDE, $T = L\\tau$")
        (self.out_line,) = ax_u.plot(x, x, marker=".", ms=3, lw=1.0)
        (self.clip_line,) = ax_u.plot([], [], "x", color=self._WARN, ms=5,
                                      label="clipped")
        ax_u.set_xlabel("grid index $j$ ($x = jh$)")
        ax_u.set_ylabel("$u$")

        # Few ticks: text is what a draw spends most of its time on.
        for axis in (ax_w.yaxis, ax_g.yaxis, ax_u.yaxis):
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
        ax_u.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10],
                                                 integer=True))
        for ax in self.axes:
            ax.tick_params(labelsize=self._TICK_FONT)
            ax.xaxis.label.set_fontsize(self._FONT)
            ax.yaxis.label.set_fontsize(self._FONT)
        self.title = fig.suptitle("", fontsize=self._FONT)

    def show(self, data: StabilityExplorerData) -> None:
        """Set every artist from ``data`` (nothing is drawn until the next draw)."""
        ax_w, ax_g, ax_u = self.axes
        warn = self._WARN

        for patch, w in zip(self.bars.patches, data.weights, strict=True):
            patch.set_height(w)
            patch.set_facecolor("C0" if w >= 0 else warn)
        low = min(0.0, float(data.weights.min()))
        high = max(0.0, float(data.weights.max()))
        pad = 0.05 * (high - low) if high > low else 0.5
        ax_w.set_ylim(low - pad, high + pad)
        ax_w.set_title("layer weights" + ("" if data.positive else " (some < 0)"),
                       y=1.0, fontsize=self._FONT)

        self.g_line.set_data(data.theta, data.abs_G)
        if self.g_fill is not None:
            self.g_fill.remove()
            self.g_fill = None
        handles = [self.g_line, self.one_line]
        grows = data.abs_G > 1.0 + 1e-12
        if grows.any():
            self.g_fill = ax_g.fill_between(data.theta, 1.0, data.abs_G, where=grows,
                                            color=warn, alpha=0.3,
                                            label="growing modes")
            handles.append(self.g_fill)
        low = min(1.0, float(data.abs_G.min()))
        high = max(1.0, float(data.abs_G.max()))
        pad = 0.05 * (high - low) if high > low else 0.05
        ax_g.set_ylim(low - pad, high + pad)
        ax_g.set_title(f"max $|G|$ = {data.max_amplification:.4f}",
                       color="k" if data.stable else warn, y=1.0,
                       fontsize=self._FONT)
        ax_g.legend(handles=handles, loc="lower center", fontsize=self._LEGEND_FONT)

        shown = data.display_output
        self.u0_line.set_data(data.x, data.u0)
        self.exact_line.set_data(data.x, data.exact)
        self.out_line.set_data(data.x, shown)
        self.out_line.set_color("C1" if data.stable else warn)
        self.out_line.set_label(f"after {data.layers_applied} layers")
        self.clip_line.set_data(data.x[data.clipped], shown[data.clipped])
        handles = [self.u0_line, self.exact_line, self.out_line]
        if data.clipped.any():
            handles.append(self.clip_line)
        ax_u.set_xlim(-1.0, float(data.x.size))
        bound = STABILITY_EXPLORER_CLIP * float(np.max(np.abs(data.u0)))
        top = min(bound, max(1.2, 1.1 * float(np.max(np.abs(shown)))))
        ax_u.set_ylim(-min(bound, max(0.3, 1.1 * float(-shown.min()))), top)
        ax_u.set_title(f"$r = {data.r:.3g}$, $\\beta = {data.beta:.3g}$, "
                       f"$L = {data.depth}$", y=1.0, fontsize=self._FONT)
        ax_u.legend(handles=handles, loc="upper right", fontsize=self._LEGEND_FONT)

        color = "k" if data.stable and data.positive else warn
        if data.stable and not data.positive:
            color = "C1"
        self.title.set_text(("" if data.stable else "⚠ ") + "\n".join(data.messages))
        self.title.set_color(color)
        above = self._ABOVE_AXES + self._TITLE_LINE * len(data.messages)
        self.figure.subplots_adjust(top=1 - above / self._SIZE[1])

    def png(self) -> bytes:
        """Draw the figure once and encode it as PNG (its dpi is
        :data:`STABILITY_EXPLORER_DPI`)."""
        buffer = io.BytesIO()
        self.figure.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def stability_explorer_figure(
    r: float = 0.4, beta: float = 0.4, depth: int = 40
) -> Figure:
    r"""The stability explorer's figure for one set of slider values.

    Three panels, from :func:`stability_explorer_data`: (1) the layer weights,
    negative ones in red; (2) :math:`|G(\theta)|` over the wave numbers, the growing
    ones shaded; (3) the signal after :math:`L` layers beside the exact PDE
    solution. The title states the verdict; an unstable layer gets it in red, and
    values beyond the clip level are drawn clipped and marked.

    Parameters
    ----------
    r, beta, depth
        As in :func:`stability_explorer_data`.

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot (nothing to close), on an Agg canvas.
        Its attribute ``explorer_data`` holds the :class:`StabilityExplorerData`
        drawn.

    Raises
    ------
    ValueError
        As :func:`stability_explorer_data`.
    """
    data = stability_explorer_data(r, beta, depth)
    drawing = _StabilityFigure()
    drawing.show(data)
    fig = drawing.figure
    fig.explorer_data = data
    return fig


def stability_explorer_png(r: float = 0.4, beta: float = 0.4, depth: int = 40) -> bytes:
    """The PNG image :func:`stability_explorer` shows for these slider values."""
    drawing = _StabilityFigure()
    drawing.show(stability_explorer_data(r, beta, depth))
    return drawing.png()

def stability_explorer(**values: Any) -> Any:
    r"""Sliders for :math:`r = D\tau/h^2`, :math:`\beta = b\tau/h` and the depth.

    A thin front end over :func:`stability_explorer_data` and the figure of
    :func:`stability_explorer_figure`: the figure is made once, and moving a slider
    sets the new data into it and redraws it (as a PNG, the same image
    :func:`stability_explorer_png` gives) into an ``ipywidgets.Output``. The figure
    at the starting values is drawn at once, so the explorer shows it without any
    interaction.

    Parameters
    ----------
    **values
        Starting values (``r``, ``beta``, ``depth``); the others come from
        :data:`STABILITY_EXPLORER_DEFAULTS`.

    Returns
    -------
    ipywidgets.VBox
        The sliders above the output. Its attributes ``sliders`` (dict name ->
        slider), ``output`` (the Output widget), ``data`` (the
        :class:`StabilityExplorerData` shown) and ``png`` (the image shown) let code
        drive it as a reader would.

    Raises
    ------
    ValueError
        For an unknown name or a starting value outside the slider ranges.
    """
    import ipywidgets as widgets

    start = _starting_values(
        values, STABILITY_EXPLORER_DEFAULTS, STABILITY_EXPLORER_RANGES
    )

    common = {
        "continuous_update": False,
        "style": {"description_width": "initial"},
        "layout": widgets.Layout(width="32%"),
    }
    labels = {"r": "r = Dτ/h²", "beta": "β = bτ/h", "depth": "depth L"}
    sliders = {}
    for name, (lo, hi, step) in STABILITY_EXPLORER_RANGES.items():
        kind = widgets.IntSlider if name == "depth" else widgets.FloatSlider
        sliders[name] = kind(value=start[name], min=lo, max=hi, step=step,
                             description=labels[name], **common)
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox(list(sliders.values())), output])
    box.sliders = sliders
    box.output = output

    # One figure for the life of the explorer: a slider move sets the new data
    # into its artists and draws it once (no new figure, no layout pass).
    drawing = _StabilityFigure()

    def redraw(change: Any = None) -> None:
        current = {name: s.value for name, s in sliders.items()}
        box.data = stability_explorer_data(**current)
        drawing.show(box.data)
        box.png = drawing.png()
        _show_png(output, box.png, f"<stability explorer: {current}>")

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    return box


# --- chapter 5: the action/depth explorer ------------------------------------------

#: Grid step :math:`h` of the path explorer (fixed; the sliders move ``D`` and ``b``).
PATH_EXPLORER_H = 1.0
#: Layer step :math:`\tau` of the path explorer, so :math:`T = L\tau`.
PATH_EXPLORER_TAU = 0.25
#: Number of lattice paths the explorer samples and draws.
PATH_EXPLORER_N_PATHS = 200
#: Slider values the explorer starts from.
PATH_EXPLORER_DEFAULTS = {"depth": 16, "lam": 1.0, "D": 1.0, "b": 0.0, "endpoint": 0}
#: Labels of the path explorer's sliders (the live one and its explorable).
PATH_EXPLORER_LABELS = {
    "depth": "depth L",
    "lam": "action scale λ",
    "D": "diffusion D",
    "b": "drift b",
    "endpoint": "end point m",
}
#: Slider ranges of :func:`path_explorer`: ``(min, max, step)``; ``lam`` is
#: logarithmic (powers of ten) and the endpoint range follows the depth.
PATH_EXPLORER_RANGES = {
    "depth": (1, 64, 1),
    "lam": (-1.0, 1.0, 0.05),
    "D": (0.1, 3.0, 0.05),
    "b": (-2.0, 2.0, 0.05),
}
#: Size (width, height) of the path explorer's figure in inches. At
#: :data:`PATH_EXPLORER_DPI` it is about as wide as the book's text column (some 690 px
#: in a 1280 px wide browser window), so its text is not scaled down there.
PATH_EXPLORER_SIZE = (7.6, 3.7)
#: Resolution of the PNG the live explorer shows (and of the explorable's frames).
PATH_EXPLORER_DPI = 90


@dataclasses.dataclass(frozen=True)
class PathExplorerData:
    r"""Everything the path explorer draws, for one set of slider values.

    The layer is one explicit step of :math:`u_t = D u_{xx} + b u_x` with
    :math:`h` = :data:`PATH_EXPLORER_H` and :math:`\tau` = :data:`PATH_EXPLORER_TAU`,
    with weights :math:`w = (k_0, 1 + k_1, k_2)`. A lattice path starts at the
    output point (position 0 at layer ``depth``) and walks back through the layers
    into the input, where it ends at position ``endpoint``.

    Attributes
    ----------
    depth, lam, D, b, endpoint : float or int
        The slider values.
    h, tau : float
        Grid and layer step.
    kernel, weights : numpy.ndarray
        The residual kernel and the layer weights, shape ``(3,)``.
    offsets : numpy.ndarray
        :math:`m = -L .. L` (integers), shape ``(2 * depth + 1,)``.
    path_sum : numpy.ndarray
        :math:`P_L[m]` (:func:`pathint_lib.paths.path_sum`), shape
        ``(2 * depth + 1,)``: the network's output at the output point for a unit
        impulse at input offset :math:`m` (action scale 1).
    heat_kernel : numpy.ndarray
        The exact propagator :math:`K(0, m h, L\tau)` of the PDE, shape
        ``(2 * depth + 1,)`` (a density: compare it with ``path_sum / h``).
    fine_x, fine_heat_kernel : numpy.ndarray
        The same propagator on a fine grid of :math:`x \in [-L h, L h]`, for drawing.
    layers : numpy.ndarray
        :math:`n = 0 .. L` (0 is the input, ``depth`` the output).
    positions : numpy.ndarray
        The sampled paths, integers of shape ``(n_paths, depth + 1)``:
        ``positions[i, n]`` is path ``i`` at layer ``n``; column ``depth`` is 0,
        column 0 is ``endpoint``. No rows when no path of nonzero weight ends there.
    relative_weights : numpy.ndarray
        :math:`|e^{-S/\lambda}|` of each sampled path over that of a least-action
        path, in (0, 1].
    straight_path : numpy.ndarray
        The classical path of the continuum action: the straight line from
        ``endpoint`` (layer 0) to 0 (layer ``depth``).
    top_path : numpy.ndarray
        A lattice path of least action ending at ``endpoint`` (the representative
        of :func:`pathint_lib.paths.top_paths`), shape ``(depth + 1,)``; empty
        when ``has_paths`` is false.
    class_actions : numpy.ndarray
        :math:`\mathrm{Re}\,S` of each class of paths ending at ``endpoint``
        (paths with the same numbers of each step have the same action).
    class_probabilities, class_probabilities_1 : numpy.ndarray
        Share of each class in the ensemble :math:`\propto |e^{-S/\lambda}|`, and
        at :math:`\lambda = 1`.
    top_fraction : float or None
        Share of the ensemble carried by one path of least action (None when
        ``has_paths`` is false).
    spread : float or None
        Root-mean-square distance (in grid steps) of the sampled paths from the
        straight path, over all layers (None when ``has_paths`` is false).
    average_sign : float
        :math:`|\sum w|^L / (\sum |w|)^L`: the signed sum of all path weights over
        the sum of their moduli (1 when no weight is negative).
    max_amplification : float
        :math:`\max_\theta |G(\theta)|` of the layer.
    stable, positive : bool
        Von Neumann stability and non-negativity of the weights.
    messages : tuple of str
        Warnings the figure shows (sign problem, instability, zero weights).

    The property ``has_paths`` says whether any path of nonzero weight ends at
    ``endpoint``. When not (a step every such path needs has weight 0),
    ``positions`` and ``top_path`` are empty, ``top_fraction`` and ``spread`` are
    None, and ``messages`` says so.
    """

    depth: int
    lam: float
    D: float
    b: float
    endpoint: int
    h: float
    tau: float
    kernel: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    path_sum: np.ndarray
    heat_kernel: np.ndarray
    fine_x: np.ndarray
    fine_heat_kernel: np.ndarray
    layers: np.ndarray
    positions: np.ndarray
    relative_weights: np.ndarray
    straight_path: np.ndarray
    top_path: np.ndarray
    class_actions: np.ndarray
    class_probabilities: np.ndarray
    class_probabilities_1: np.ndarray
    top_fraction: float | None
    spread: float | None
    average_sign: float
    max_amplification: float
    stable: bool
    positive: bool
    messages: tuple[str, ...]

    @property
    def has_paths(self) -> bool:
        """Whether any path of nonzero weight ends at ``endpoint``."""
        return self.top_path.size > 0


def _class_log_probabilities(log_weights: np.ndarray, log_mult: np.ndarray,
                             lam: float) -> np.ndarray:
    """Normalised log shares of path classes in the ensemble |exp(-S/lam)|."""
    log_p = log_mult + log_weights / lam
    finite = np.isfinite(log_p)
    if not finite.any():
        return np.full(log_p.shape, -np.inf)
    top = log_p[finite].max()
    log_p = log_p - top
    return log_p - math.log(np.exp(log_p[finite]).sum())


def path_explorer_data(
    depth: int = 16,
    lam: float = 1.0,
    D: float = 1.0,
    b: float = 0.0,
    endpoint: int = 0,
    seed: int = 0,
    *,
    n_paths: int = PATH_EXPLORER_N_PATHS,
) -> PathExplorerData:
    r"""The data of the path explorer: sampled paths, actions, output and exact kernel.

    The layer is one explicit step of :math:`u_t = D u_{xx} + b u_x` (grid step
    :data:`PATH_EXPLORER_H`, layer step :data:`PATH_EXPLORER_TAU`), with weights
    :math:`w = (k_0, 1 + k_1, k_2)`. Paths of ``depth`` steps from the output point
    back to input offset ``endpoint`` are drawn from the *scaled ensemble*

    .. math:: \Pr(\text{path}) \propto |e^{-S/\lambda}| = \prod_n |w(s_n)|^{1/\lambda},

    exactly: a path's weight depends only on its numbers :math:`(n_-, n_0, n_+)` of
    each step, so a class is drawn with probability proportional to its
    multiplicity times its weight (from :func:`pathint_lib.paths.top_paths`), and
    its steps are put in a uniformly random order. At :math:`\lambda = 1` this is
    the network's own ensemble; as :math:`\lambda \to 0` it concentrates on the
    paths of least action.

    Parameters
    ----------
    depth : int
        Number of layers :math:`L \ge 1`.
    lam : float
        Action scale :math:`\lambda > 0`.
    D : float
        Diffusion, > 0.
    b : float
        Drift.
    endpoint : int
        End point :math:`m` of the paths in the input, :math:`|m| \le L`.
    seed : int
        Seed of the sampler.
    n_paths : int
        Number of sampled paths.

    Returns
    -------
    PathExplorerData

    Raises
    ------
    ValueError
        If ``depth < 1``, ``lam <= 0``, ``D <= 0``, ``|endpoint| > depth`` or
        ``n_paths < 1``.
    TypeError
        If ``depth``, ``endpoint``, ``seed`` or ``n_paths`` is not an integer.

    Notes
    -----
    Slider values that make the layer unstable or give it a negative weight are
    not refused: the data then carry a message, paths are drawn with
    :math:`|w|` (a negative weight makes the action complex, so
    :math:`e^{-S}` is no probability: the sign problem), and every array stays
    finite. A zero weight gives its paths :math:`S = +\infty` and probability 0.
    """
    depth = _explorer_depth(
        depth, "use paths.path_sum for the exact sum by end point"
    )
    lam = positive(lam, "lam")
    D = positive(D, "D")
    b = as_real(b, "b")
    if isinstance(endpoint, bool) or not isinstance(endpoint, int | np.integer):
        raise TypeError(f"endpoint must be an integer, got {endpoint!r}")
    endpoint = int(endpoint)
    if abs(endpoint) > depth:
        raise ValueError(
            f"endpoint must satisfy |endpoint| <= depth = {depth}, got {endpoint}"
        )
    seed = non_negative_int(seed, "seed")
    n_paths = positive_int(n_paths, "n_paths")
    h, tau = PATH_EXPLORER_H, PATH_EXPLORER_TAU

    with warnings.catch_warnings():
        # Instability is reported in the figure, not as a Python warning.
        warnings.simplefilter("ignore", pde.StabilityWarning)
        kernel = pde.kernel_from_coefficients(D, b, 0.0, h, tau)
    w = paths.layer_weights(kernel)
    abs_w = np.abs(w)
    amp = pde.max_amplification(kernel)
    stable = pde.is_von_neumann_stable(kernel)
    positive_w = pde.is_positive(kernel)

    offsets = np.arange(-depth, depth + 1)
    p_sum = paths.path_sum(w, depth)
    exact = propagators.heat_kernel(0.0, offsets * h, depth * tau, D, b)
    fine_x = np.linspace(-depth * h, depth * h, max(201, 8 * depth + 1))
    fine_exact = propagators.heat_kernel(0.0, fine_x, depth * tau, D, b)
    average_sign = (abs(w.sum()) / abs_w.sum()) ** depth

    # All classes (n-, n0, n+) of paths ending at the endpoint, by |weight|.
    classes = paths.top_paths(abs_w, depth, endpoint, k=depth + 1, by="class")
    log_w = np.array([c.log_abs_weight for c in classes])
    log_mult = np.array([math.log(c.multiplicity) for c in classes])
    counts = np.array(
        [(c.n_minus, c.n_zero, c.n_plus) for c in classes], dtype=np.int64
    ).reshape(-1, 3)
    log_p = _class_log_probabilities(log_w, log_mult, lam)
    log_p1 = _class_log_probabilities(log_w, log_mult, 1.0)
    with np.errstate(divide="ignore"):
        actions = np.where(np.isfinite(log_w), -log_w, np.inf)
    reachable = np.isfinite(log_p)

    layers = np.arange(depth + 1)
    straight = endpoint * (depth - layers) / depth

    messages = []
    if not reachable.any():
        # No path of nonzero weight: no sample, no least-action path, no shares.
        positions = np.zeros((0, depth + 1), dtype=np.int64)
        rel = np.zeros(0)
        probs = np.zeros(len(classes))
        top_path = np.zeros(0, dtype=np.int64)
        top_fraction = None
        spread = None
        messages.append(
            f"no path of nonzero weight ends at m = {endpoint}: a step it needs "
            "has weight 0"
        )
    else:
        best = paths.top_paths(abs_w, depth, endpoint, k=1, by="path")[0]
        top_path = np.concatenate([[0], np.cumsum(best.steps, dtype=np.int64)])[::-1]
        probs = np.where(reachable, np.exp(log_p), 0.0)
        probs /= probs.sum()
        best_log_w = log_w[reachable].max()
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(classes), size=n_paths, p=probs)
        templates = np.array(
            [np.repeat([-1, 0, 1], n) for n in counts], dtype=np.int64
        )
        steps = rng.permuted(templates[picks], axis=1)
        back = np.concatenate(
            [np.zeros((n_paths, 1), dtype=np.int64), np.cumsum(steps, axis=1)], axis=1
        )
        positions = back[:, ::-1]
        rel = np.exp((log_w[picks] - best_log_w) / lam)
        spread = float(np.sqrt(np.mean((positions - straight) ** 2)))
        i_best = int(np.flatnonzero(reachable & (log_w == best_log_w))[0])
        top_fraction = float(np.exp(log_p[i_best] - log_mult[i_best]))

    if not positive_w:
        names = ("w(-1)", "w(0)", "w(+1)")
        neg = ", ".join(
            f"{n} = {v:.3g}" for n, v in zip(names, w, strict=True) if v < 0
        )
        if neg:
            messages.append(
                f"{neg} < 0: complex action (sign problem), paths drawn with |w|; "
                f"average sign {average_sign:.2g}"
            )
    if np.any(w == 0.0):
        messages.append("a weight is 0: paths taking that step have S = +inf")
    if not stable:
        messages.append(
            f"unstable layer: max|G| = {amp:.4g} > 1, the output grows like "
            f"{amp:.3g}^L"
        )

    return PathExplorerData(
        depth=depth, lam=lam, D=D, b=b, endpoint=endpoint, h=h, tau=tau,
        kernel=kernel, weights=w, offsets=offsets, path_sum=p_sum,
        heat_kernel=np.asarray(exact, dtype=float), fine_x=fine_x,
        fine_heat_kernel=np.asarray(fine_exact, dtype=float), layers=layers,
        positions=positions, relative_weights=rel, straight_path=straight,
        top_path=top_path, class_actions=actions,
        class_probabilities=probs,
        class_probabilities_1=np.where(reachable, np.exp(log_p1), 0.0),
        top_fraction=top_fraction, spread=spread, average_sign=float(average_sign),
        max_amplification=float(amp), stable=bool(stable), positive=bool(positive_w),
        messages=tuple(messages),
    )


def _short_tick(value: float, _position: Any = None) -> str:
    """A tick label with three significant digits and a short exponent: 8e17."""
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return "0" if text == "-0" else text


class _PathExplorerPlot:
    """The path explorer's figure, built once and updated in place.

    Creating axes, ticks and legends costs far more than moving the data of
    existing artists, so a live explorer keeps one of these and calls
    :meth:`update` on every slider move; :func:`path_explorer_figure` builds a
    fresh one. Every limit is set explicitly, so an updated figure and a fresh one
    at the same values render the same image.

    The figure is :data:`PATH_EXPLORER_SIZE` inches, about the width of the
    book's text column at :data:`PATH_EXPLORER_DPI`, so its text is shown at
    (close to) its own size rather than scaled down; the axes sit at fixed places
    in inches (no layout pass), and only the room above them follows the number
    of warning lines.
    """

    _LEFT, _GAP, _RIGHT, _BOTTOM = 0.52, 0.6, 0.08, 0.45  # inches
    _ABOVE_AXES, _TITLE_LINE = 0.58, 0.16  # inches: panel titles, one line above
    _FONT, _TICK_FONT, _HEAD_FONT = 8.5, 8.0, 9.0  # points
    _WARN = "C3"

    def __init__(self, dpi: int = PATH_EXPLORER_DPI) -> None:
        # A fixed layout. The book style turns on constrained layout, which would
        # ignore subplots_adjust and add a layout pass to every draw; and a figure
        # without an engine gets the style's one back from savefig, so it holds a
        # do-nothing engine instead.
        width, height = PATH_EXPLORER_SIZE
        fig = Figure(figsize=PATH_EXPLORER_SIZE, dpi=dpi)
        fig.set_layout_engine(
            PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=True)
        )
        FigureCanvasAgg(fig)
        self.fig = fig
        ratios = (1.2, 1.0, 1.0)
        mean_axes = (width - self._LEFT - 2 * self._GAP - self._RIGHT) / 3
        ax_paths, ax_action, ax_out = fig.subplots(
            1, 3, width_ratios=ratios,
            gridspec_kw={"left": self._LEFT / width,
                         "right": 1 - self._RIGHT / width,
                         "bottom": self._BOTTOM / height,
                         "wspace": self._GAP / mean_axes},
        )
        self.axes = (ax_paths, ax_action, ax_out)
        font, warn = self._FONT, self._WARN
        # Titles that change with the sliders carry plain text, not mathtext:
        # parsing new mathtext on every slider move costs more than drawing the
        # figure. Fixed labels may use mathtext (it is parsed once and cached).
        self.ensemble = LineCollection([], linewidths=1.2)
        ax_paths.add_collection(self.ensemble)
        (self.top,) = ax_paths.plot([], [], color=warn, lw=2.2, label="least action")
        (self.straight,) = ax_paths.plot([], [], color="k", ls="--", lw=1.2,
                                         label="straight path")
        ax_paths.set_xlabel("layer $n$ (0: input, $L$: output)", fontsize=font)
        ax_paths.set_ylabel("position $x/h$", fontsize=font)
        self.paths_legend = ax_paths.legend(loc="upper left", fontsize=font - 0.5,
                                            handlelength=1.5, borderaxespad=0.3)
        self.no_path = ax_paths.text(0.5, 0.5, "", transform=ax_paths.transAxes,
                                     ha="center", va="center", color=warn,
                                     fontsize=font)

        self.scaled = ax_action.stairs([0.0], [0.0, 1.0], fill=True, color="C0",
                                       alpha=0.7)
        self.plain = ax_action.stairs([0.0], [0.0, 1.0], color="k", lw=1.2)
        self.least = ax_action.axvline(0.0, color=warn, lw=1.5)
        self.least_note = ax_action.text(
            0.97, 0.96, "", transform=ax_action.transAxes, ha="right", va="top",
            color=warn, fontsize=font - 0.5,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8,
                  "pad": 1.0},
        )
        ax_action.set_xlabel("action Re $S$", fontsize=font)
        ax_action.set_ylabel("share of the paths", fontsize=font)

        (self.kernel,) = ax_out.plot([], [], color="k", lw=1.2)
        (self.output,) = ax_out.plot([], [], "o", ms=3, color="C1")
        ax_out.set_xlabel("input offset $x = mh$", fontsize=font)
        ax_out.set_ylabel("output for a unit impulse", fontsize=font)
        ax_out.set_title("dots: network, $P_L[m]/h$\nline: PDE, $K(0, x, T)$",
                         fontsize=font, y=1.0)
        # Text is most of the cost of a redraw: keep the tick labels few. Short
        # "%g" labels and no offset text (an unstable layer's 1e17 would sit on
        # the title).
        plain = FuncFormatter(_short_tick)
        for ax in self.axes:
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=ax is not ax_action))
            ax.yaxis.set_major_locator(MaxNLocator(4, integer=ax is ax_paths))
            ax.yaxis.set_major_formatter(plain)
            ax.xaxis.set_major_formatter(plain)
            ax.tick_params(labelsize=self._TICK_FONT)
        self.head = fig.suptitle("", fontsize=self._HEAD_FONT)
        self.color = np.array(mpl.colors.to_rgb("C0"))

    def update(self, data: PathExplorerData) -> Figure:
        """Show ``data``; return the figure."""
        ax_paths, ax_action, ax_out = self.axes
        L, m = data.depth, data.endpoint
        font = self._FONT
        height = PATH_EXPLORER_SIZE[1]
        above = self._ABOVE_AXES + self._TITLE_LINE * (1 + len(data.messages))
        self.fig.subplots_adjust(top=1 - above / height)

        # (1) the ensemble in the (layer, position) plane, opacity by weight
        segments = np.stack(
            [np.broadcast_to(data.layers, data.positions.shape), data.positions],
            axis=-1,
        ).astype(float)
        colors = np.empty((len(segments), 4))
        colors[:, :3] = self.color
        colors[:, 3] = 0.04 + 0.5 * data.relative_weights
        self.ensemble.set_segments(list(segments))
        self.ensemble.set_color(colors)
        span = max(3, abs(m), int(np.abs(data.positions).max(initial=0)))
        ax_paths.set_xlim(-0.02 * L, 1.02 * L)
        ax_paths.set_ylim(-span - 0.5, span + 0.5)
        if data.has_paths:
            self.top.set_data(data.layers, data.top_path)
            self.straight.set_data(data.layers, data.straight_path)
            # The paths start at m (layer 0): the legend goes in the free corner.
            self.paths_legend.set_loc("lower left" if m > 0 else "upper left")
            self.paths_legend.set_visible(True)
            self.no_path.set_text("")
            ax_paths.set_title(
                f"{len(data.positions)} paths to m = {m}, λ = {data.lam:.3g}\n"
                "drawn ∝ |exp(−S/λ)|", fontsize=font, y=1.0,
            )
        else:
            self.top.set_data([], [])
            self.straight.set_data([], [])
            self.paths_legend.set_visible(False)
            self.no_path.set_text(f"no path of nonzero\nweight ends at m = {m}")
            ax_paths.set_title(f"no path to m = {m}\n", fontsize=font, y=1.0)

        # (2) the distribution of the action over the endpoint ensemble
        finite = np.isfinite(data.class_actions)
        s = data.class_actions[finite]
        if data.has_paths and s.size:
            lo, hi = float(s.min()), float(s.max())
            if hi - lo < 1.0:
                lo, hi = lo - 0.5, hi + 0.5
            edges = np.linspace(lo, hi, 26)
            scaled, _ = np.histogram(s, edges,
                                     weights=data.class_probabilities[finite])
            plain, _ = np.histogram(s, edges,
                                    weights=data.class_probabilities_1[finite])
            least = float(s.min())
            share = f"{data.top_fraction:.2g}"
            self.least_note.set_text(f"least action (red);\none path holds {share}")
            self.least.set_visible(True)
        else:
            edges, scaled, plain, least = np.array([0.0, 1.0]), [0.0], [0.0], 0.0
            self.least_note.set_text("no path")
            self.least.set_visible(False)
        self.scaled.set_data(scaled, edges)
        self.plain.set_data(plain, edges)
        self.least.set_xdata([least, least])
        pad = 0.02 * (edges[-1] - edges[0])
        ax_action.set_xlim(edges[0] - pad, edges[-1] + pad)
        # Head room for the note in the upper right corner.
        top = max(float(np.max(scaled)), float(np.max(plain)))
        ax_action.set_ylim(0.0, 1.4 * top if top > 0 else 1.0)
        ax_action.set_title(
            f"action of the paths to m = {m}\nfilled: λ = {data.lam:.3g}; "
            "line: λ = 1", fontsize=font, y=1.0,
        )

        # (3) the network's output beside the exact PDE solution
        x = data.offsets * data.h
        density = data.path_sum / data.h
        self.kernel.set_data(data.fine_x, data.fine_heat_kernel)
        self.output.set_data(x, density)
        lo = min(0.0, float(density.min()))
        hi = max(float(density.max()), float(data.fine_heat_kernel.max()))
        pad = 0.06 * (hi - lo) if hi > lo else 1.0
        ax_out.set_xlim(x[0] - 0.5 * data.h, x[-1] + 0.5 * data.h)
        ax_out.set_ylim(lo - pad, hi + pad)

        w = data.weights
        head = (f"L = {L}, T = Lτ = {L * data.tau:.3g}, D = {data.D:.3g}, "
                f"b = {data.b:.3g}: layer weights "
                f"w = ({w[0]:.3g}, {w[1]:.3g}, {w[2]:.3g})")
        if data.messages:
            self.head.set_text(head + "\n⚠ " + "\n⚠ ".join(data.messages))
            self.head.set_color(self._WARN)
        else:
            self.head.set_text(head)
            self.head.set_color("k")
        return self.fig


def path_explorer_figure(
    depth: int = 16,
    lam: float = 1.0,
    D: float = 1.0,
    b: float = 0.0,
    endpoint: int = 0,
    seed: int = 0,
) -> Figure:
    r"""The path explorer's figure for one set of slider values.

    Three panels, from :func:`path_explorer_data`: (1) lattice paths from the output
    point back to input offset ``endpoint``, drawn from the ensemble
    :math:`\propto |e^{-S/\lambda}|` with opacity by weight, the least-action
    lattice path and the straight (classical) path highlighted; (2) the
    distribution of the action over that ensemble, at :math:`\lambda` and at 1;
    (3) the network's response to a unit impulse, :math:`P_L[m]/h`, beside the
    heat kernel. Unstable or non-positive layers get a warning in the title.

    Parameters
    ----------
    depth, lam, D, b, endpoint, seed
        As in :func:`path_explorer_data`.

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot (nothing to close).

    Raises
    ------
    ValueError
        As :func:`path_explorer_data`.
    """
    data = path_explorer_data(depth, lam, D, b, endpoint, seed)
    return _PathExplorerPlot().update(data)


def path_explorer_frames(dpi: int = PATH_EXPLORER_DPI) -> Callable[..., Figure]:
    r"""A frame function for :func:`pathint_lib.explorable.explorable`.

    The returned ``frame(**values)`` draws the path explorer at ``values`` (the
    arguments of :func:`path_explorer_figure`) into one figure that it keeps and
    redraws on every call, which renders a grid of frames faster than building a
    new figure per frame.

    Parameters
    ----------
    dpi : int, optional
        Resolution of the figure; pass the same ``dpi`` to ``explorable`` so that
        encoding a frame needs no second layout at another resolution.

    Returns
    -------
    callable
        ``frame(depth=16, lam=1.0, D=1.0, b=0.0, endpoint=0, seed=0) -> Figure``.

    Notes
    -----
    Each call returns the *same* figure object, redrawn: encode it (as
    ``explorable`` does) before the next call.

    Examples
    --------
    >>> frame = path_explorer_frames()
    >>> frame(depth=4) is frame(depth=8)
    True
    """
    plot = _PathExplorerPlot(positive_int(dpi, "dpi"))

    def frame(
        depth: int = 16,
        lam: float = 1.0,
        D: float = 1.0,
        b: float = 0.0,
        endpoint: int = 0,
        seed: int = 0,
    ) -> Figure:
        return plot.update(path_explorer_data(depth, lam, D, b, endpoint, seed))

    return frame


#: Text settings of the live explorers' PNGs: FreeType's hinter reruns for every
#: glyph drawn, a fifth of a redraw, and at these sizes unhinted glyphs look as good.
_LIVE_TEXT = {"text.hinting": "no_hinting"}


def _figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at its own resolution (no second layout pass)."""
    buffer = io.BytesIO()
    # Light compression: encoding at the default level takes a third of an update.
    with mpl.rc_context(_LIVE_TEXT):
        fig.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def path_explorer(**values: Any) -> Any:
    r"""Sliders for depth, action scale, diffusion, drift and end point over the paths.

    A thin front end over :func:`path_explorer_figure`: moving a slider redraws the
    figure into an ``ipywidgets.Output``. The figure at the starting values is drawn
    at once, so the explorer shows it without any interaction.

    Parameters
    ----------
    **values
        Starting values (``depth``, ``lam``, ``D``, ``b``, ``endpoint``); the
        others come from :data:`PATH_EXPLORER_DEFAULTS`.

    Returns
    -------
    ipywidgets.VBox
        The sliders above the output. Its attributes ``sliders`` (dict name ->
        slider), ``output`` (the Output widget), ``data`` (the
        :class:`PathExplorerData` shown) and ``png`` (the image shown) let code
        drive it as a reader would.

    Raises
    ------
    ValueError
        For an unknown name or a starting value outside the slider ranges.
    """
    import ipywidgets as widgets

    start = _starting_values(
        values,
        PATH_EXPLORER_DEFAULTS,
        PATH_EXPLORER_RANGES,
        log10_sliders=("lam",),
    )
    if abs(start["endpoint"]) > start["depth"]:
        raise ValueError(
            f"endpoint must satisfy |endpoint| <= depth, got {start['endpoint']}"
        )

    style = {"description_width": "initial"}
    layout = widgets.Layout(width="32%")
    common = {"continuous_update": False, "style": style, "layout": layout}
    lo, hi, step = PATH_EXPLORER_RANGES["depth"]
    sliders = {
        "depth": widgets.IntSlider(value=start["depth"], min=lo, max=hi, step=step,
                                   description=PATH_EXPLORER_LABELS["depth"],
                                   **common),
        "lam": widgets.FloatLogSlider(value=start["lam"], base=10,
                                      min=PATH_EXPLORER_RANGES["lam"][0],
                                      max=PATH_EXPLORER_RANGES["lam"][1],
                                      step=PATH_EXPLORER_RANGES["lam"][2],
                                      description=PATH_EXPLORER_LABELS["lam"],
                                      **common),
    }
    for name in ("D", "b"):
        lo, hi, step = PATH_EXPLORER_RANGES[name]
        sliders[name] = widgets.FloatSlider(
            value=start[name], min=lo, max=hi, step=step,
            description=PATH_EXPLORER_LABELS[name], **common,
        )
    sliders["endpoint"] = widgets.IntSlider(
        value=start["endpoint"], min=-start["depth"], max=start["depth"],
        description=PATH_EXPLORER_LABELS["endpoint"], **common,
    )
    output = widgets.Output()
    plot = _PathExplorerPlot()
    box = widgets.VBox([widgets.HBox(list(sliders.values())[:3]),
                        widgets.HBox(list(sliders.values())[3:]), output])
    box.sliders = sliders
    box.output = output

    def redraw(change: Any = None) -> None:
        current = {name: s.value for name, s in sliders.items()}
        data = path_explorer_data(**current)
        png = _figure_png(plot.update(data))
        box.data = data
        box.png = png
        _show_png(output, png, f"<path explorer: {current}>")

    def follow_depth(change: Any) -> None:
        # Keep |m| <= L. Narrowing the range may move the end point, whose own
        # observer then redraws (the depth is already set); else redraw here.
        depth = change["new"]
        end = sliders["endpoint"]
        before = end.value
        end.min = -depth
        end.max = depth
        if end.value == before:
            redraw()

    for name, slider in sliders.items():
        slider.observe(follow_depth if name == "depth" else redraw, names="value")
    redraw()
    return box


# --- chapter 6: path lengths and gradients -----------------------------------------

#: slider ranges of :func:`gradient_explorer` (and the grid of its explorable).
GRADIENT_EXPLORER_DEPTHS = (1, 64)
GRADIENT_EXPLORER_GAINS = (0.05, 2.0, 0.05)
#: Resolution (dots per inch) of the figure and of the PNG the live explorer shows. With
#: it the figure's 7.6 inches are about as wide as the book's text column (some 690 px
#: in a 1280 px wide browser window), so its text is not scaled down there.
GRADIENT_EXPLORER_DPI = 90


def gradient_explorer_data(
    depth: int, gain: float, dim: int = 32, seed: int = 0
) -> dict:
    r"""The numbers behind :func:`gradient_explorer_figure`.

    A residual branch with gain :math:`g` multiplies the expected squared norm of
    a vector by :math:`g`: its blocks :math:`A_i` have iid
    :math:`\mathcal N(0, g/d)` entries, so :math:`\mathbb E\|A v\|^2 = g\|v\|^2`.
    Then, for :math:`L` blocks,

    .. math::

        \mathbb E\,\Big\|\prod_{i=L}^{1}(I + A_i)\,v\Big\|^2
        = \sum_{k=0}^{L} \binom{L}{k} g^k \|v\|^2 = (1 + g)^L \|v\|^2,
        \qquad
        \mathbb E\,\Big\|\prod_{i=L}^{1} A_i\,v\Big\|^2 = g^L \|v\|^2,

    and paths of length :math:`k` hold the share
    :math:`\binom{L}{k} g^k/(1+g)^L` of the residual total
    (:func:`pathint_lib.paths.path_length_distribution`); the plain stack is the
    single path of length :math:`L`.

    Parameters
    ----------
    depth : int
        Number of blocks :math:`L \ge 1`.
    gain : float
        :math:`g > 0`.
    dim : int, optional
        Size of the blocks of the one random draw (default 32).
    seed : int, optional
        Seed of that draw (:func:`pathint_lib.gradients.random_blocks`; default 0).

    Returns
    -------
    dict
        ``lengths`` (0..L), ``share`` (the path-length shares), ``mean_length``,
        ``layers`` (0..L), ``log10_expected_residual`` and
        ``log10_expected_plain`` (:math:`\log_{10}` of the root mean square
        :math:`\sqrt{\mathbb E\|P_l v\|^2}` after :math:`l` blocks, with
        :math:`\|v\| = 1`), ``log10_sample_residual`` and ``log10_sample_plain``
        (:math:`\log_{10}\|P_l v\|` for one seeded draw of the blocks, accumulated
        in log space so that no depth overflows), ``depth``, ``gain``.

    Raises
    ------
    ValueError
        If ``depth < 1`` or ``gain <= 0``.
    """
    import numpy as np
    import torch

    from . import gradients, paths
    from ._validate import positive

    depth = _explorer_depth(
        depth,
        "the mean squared norms are (1 + gain) ** depth (residual) and "
        "gain ** depth (plain), and paths.path_length_distribution gives the shares",
    )
    gain = positive(gain, "gain")
    dist = paths.path_length_distribution(depth, gain)
    layers = np.arange(depth + 1)
    As = gradients.random_blocks(depth, dim, sigma=float(np.sqrt(gain)), seed=seed)
    log_res, log_plain = [0.0], [0.0]
    v_res = torch.zeros(dim, dtype=torch.float64)
    v_res[0] = 1.0
    v_plain = v_res.clone()
    for A in As:
        v_res = v_res + A @ v_res
        v_plain = A @ v_plain
        n_res, n_plain = float(v_res.norm()), float(v_plain.norm())
        # renormalise each step: only the logarithm of the norm is kept
        log_res.append(log_res[-1] + np.log10(n_res))
        log_plain.append(log_plain[-1] + np.log10(n_plain))
        v_res, v_plain = v_res / n_res, v_plain / n_plain
    return {
        "depth": depth,
        "gain": gain,
        "lengths": dist.lengths,
        "share": dist.probabilities,
        "mean_length": dist.mean,
        "layers": layers,
        "log10_expected_residual": 0.5 * layers * np.log10(1.0 + gain),
        "log10_expected_plain": 0.5 * layers * np.log10(gain),
        "log10_sample_residual": np.array(log_res),
        "log10_sample_plain": np.array(log_plain),
    }


class _GradientFigure:
    """The gradient explorer's figure with its artists made once.

    :meth:`show` sets the data of one set of slider values into the artists; the
    axes sit at fixed places (no layout pass) and every limit follows the data, so
    a figure updated in place and a fresh one shown the same data draw the same
    pixels. The bars are made once for every length up to the largest depth of
    the slider (more are made for a deeper figure); those beyond :math:`L` are
    hidden. At length :math:`L` the residual bar and the plain stack's bar stand
    side by side, and the share axis leaves room above 1 for the legend.
    """

    _SIZE = (7.6, 3.4)  # inches
    _FONT, _TICK_FONT, _TITLE_FONT = 8.5, 8.0, 9.0  # points
    _SHARE_TOP = 1.4  # the share axis ends here; the legend sits above 1

    def __init__(self) -> None:
        # A fixed layout. Not "no engine": savefig would hand such a figure the
        # style's engine (constrained under the book style) after its first save.
        fixed = PlaceHolderLayoutEngine(adjust_compatible=True,
                                        colorbar_gridspec=True)
        fig = Figure(figsize=self._SIZE, dpi=GRADIENT_EXPLORER_DPI, layout=fixed)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.085, right=0.985, bottom=0.14, top=0.91,
                            wspace=0.27)
        ax_len, ax_norm = fig.subplots(1, 2)
        font = self._FONT
        self.figure, self.axes = fig, (ax_len, ax_norm)
        self.share_bars: Any = None
        self.plain_bar: Any = None

        # (1) path-length shares: one bar per length up to the slider's largest
        # depth (show() hides those beyond L), then the plain stack's bar
        self._make_bars(GRADIENT_EXPLORER_DEPTHS[1])
        # The mean line stops at share 1, below the legend.
        self.mean_line = ax_len.axvline(0.0, ymax=1.0 / self._SHARE_TOP, color="k",
                                        lw=1, ls="--")
        self.len_legend = ax_len.legend(
            [self.mean_line, self.share_bars, self.plain_bar],
            ["residual mean", r"residual: $\binom{L}{k} g^k / (1+g)^L$",
             "plain: the one path of length $L$"],
            loc="upper center", fontsize=font - 0.5, borderaxespad=0.3,
        )
        ax_len.set_xlabel("path length $k$ (blocks passed through)", fontsize=font)
        ax_len.set_ylabel(r"share of $E\,\|(\partial u_L/\partial u_0)\, v\|^2$",
                          fontsize=font)
        ax_len.set_ylim(0, self._SHARE_TOP)

        # (2) log10 of the gradient norm after l blocks
        empty: list[float] = []
        (self.res_expected,) = ax_norm.plot(empty, empty, color="C0",
                                            label="residual, expected")
        (self.res_sample,) = ax_norm.plot(empty, empty, "o", ms=3, color="C0",
                                          alpha=0.6, label="residual, one draw")
        (self.plain_expected,) = ax_norm.plot(empty, empty, color="C3",
                                              label="plain, expected")
        (self.plain_sample,) = ax_norm.plot(empty, empty, "s", ms=3, color="C3",
                                            alpha=0.6, label="plain, one draw")
        ax_norm.axhline(0.0, color="k", lw=0.8)
        ax_norm.set_xlabel("block $l$", fontsize=font)
        ax_norm.set_ylabel(r"$\log_{10}\|(\partial u_l/\partial u_0)\, v\|$",
                           fontsize=font)
        # A fixed title position: placing a title automatically measures the
        # tick labels on every draw.
        ax_norm.set_title("Gradient norm through the stack", y=1.0,
                          fontsize=self._TITLE_FONT)
        ax_norm.legend(loc="best", fontsize=font - 0.5)

        # Few ticks: text is what a draw spends most of its time on.
        for axis in (ax_len.xaxis, ax_norm.xaxis):
            axis.set_major_locator(MaxNLocator(6, steps=[1, 2, 5, 10], integer=True))
        # Shares lie in [0, 1]: no ticks in the legend's room above 1.
        ax_len.yaxis.set_major_locator(FixedLocator([0.0, 0.25, 0.5, 0.75, 1.0]))
        ax_norm.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 5, 10]))
        for ax in (ax_len, ax_norm):
            ax.tick_params(labelsize=self._TICK_FONT)

    def _make_bars(self, max_depth: int) -> None:
        """(Re)make the bars for depths up to ``max_depth``: shares, then plain."""
        ax_len = self.axes[0]
        if self.share_bars is not None:
            self.share_bars.remove()
            self.plain_bar.remove()
        self.share_bars = ax_len.bar(np.arange(max_depth + 1),
                                     np.zeros(max_depth + 1), width=0.8, color="C0")
        self.plain_bar = ax_len.bar([max_depth], [1.0], width=0.4, align="edge",
                                    color="C3", alpha=0.6)

    def show(self, data: dict) -> None:
        """Set every artist from ``data`` (nothing is drawn until the next draw)."""
        ax_len, ax_norm = self.axes
        depth, gain = data["depth"], data["gain"]

        if depth >= len(self.share_bars):
            self._make_bars(depth)
        for k, (bar, share) in enumerate(
            zip(self.share_bars.patches, data["share"], strict=False)
        ):
            bar.set_height(share)
            bar.set_x(k - 0.4)
            bar.set_width(0.8)
            bar.set_visible(True)
        for bar in self.share_bars.patches[depth + 1:]:
            bar.set_height(0.0)
            bar.set_visible(False)
        # Length L: the residual bar (left half) beside the plain one (right half).
        self.share_bars.patches[depth].set_width(0.4)
        self.plain_bar.patches[0].set_x(depth)
        self.plain_bar.patches[0].set_width(0.4)
        self.mean_line.set_xdata([data["mean_length"]] * 2)
        self.len_legend.texts[0].set_text(f"residual mean {data['mean_length']:.2f}")
        ax_len.set_title(f"Which paths carry the gradient (L={depth}, g={gain:g})",
                         y=1.0, fontsize=self._TITLE_FONT)
        ax_len.set_xlim(-0.6, depth + 0.6)

        layers = data["layers"]
        self.res_expected.set_data(layers, data["log10_expected_residual"])
        self.res_sample.set_data(layers, data["log10_sample_residual"])
        self.plain_expected.set_data(layers, data["log10_expected_plain"])
        self.plain_sample.set_data(layers, data["log10_sample_plain"])
        ax_norm.relim()
        ax_norm.autoscale_view()

    def png(self) -> bytes:
        """Draw the figure once and encode it as PNG (its dpi is
        :data:`GRADIENT_EXPLORER_DPI`)."""
        return _figure_png(self.figure)


def gradient_explorer_figure(depth: int = 20, gain: float = 0.1) -> Figure:
    r"""Path lengths and gradient norms of random linear stacks, residual and plain.

    Left: the share of the expected squared gradient carried by paths of each
    length :math:`k` through :math:`L` residual blocks of gain :math:`g`
    (binomial, mean :math:`Lg/(1+g)`), with the plain stack's single path of
    length :math:`L`. Right: :math:`\log_{10}` of the gradient norm after
    :math:`l` blocks, expected (lines) and for one seeded draw (dots). See
    :func:`gradient_explorer_data` for the formulas.

    Parameters
    ----------
    depth, gain
        As in :func:`gradient_explorer_data`.

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot (nothing to close), on an Agg canvas,
        at :data:`GRADIENT_EXPLORER_DPI`; display it, or save it with
        ``fig.savefig``.

    Raises
    ------
    ValueError
        If ``depth < 1`` or ``gain <= 0``.
    """
    drawing = _GradientFigure()
    drawing.show(gradient_explorer_data(depth, gain))
    return drawing.figure


def gradient_explorer_png(depth: int = 20, gain: float = 0.1) -> bytes:
    """:func:`gradient_explorer_figure` encoded as PNG: what the explorer shows."""
    drawing = _GradientFigure()
    drawing.show(gradient_explorer_data(depth, gain))
    return drawing.png()


def gradient_explorer(depth: int = 20, gain: float = 0.1):
    r"""Sliders for depth and per-block gain over :func:`gradient_explorer_figure`.

    A thin front end over :func:`gradient_explorer_data` and the figure of
    :func:`gradient_explorer_figure`: the figure is made once, and moving a slider
    sets the new data into it and redraws it (as a PNG, the same image
    :func:`gradient_explorer_png` gives) into an ``ipywidgets.Output``. The figure
    for the starting values is drawn at once, so the explorer shows it without
    any interaction.

    Parameters
    ----------
    depth : int, optional
        Starting depth, in 1..64 (default 20).
    gain : float, optional
        Starting per-block gain, in [0.05, 2] (slider step 0.05; default 0.1).

    Returns
    -------
    ipywidgets.VBox
        The sliders above the output. Its attributes ``sliders`` (dict
        ``"depth"``/``"gain"`` -> slider), ``output`` (the Output widget),
        ``data`` (the :func:`gradient_explorer_data` shown) and ``png`` (the image
        shown) let code drive it as a reader would.

    Raises
    ------
    ValueError
        If a starting value lies outside the slider ranges.
    """

    import ipywidgets as widgets

    from ._validate import positive, positive_int

    lo, hi = GRADIENT_EXPLORER_DEPTHS
    g_lo, g_hi, g_step = GRADIENT_EXPLORER_GAINS
    depth = positive_int(depth, "depth")
    gain = positive(gain, "gain")
    if not lo <= depth <= hi:
        raise ValueError(f"depth must be in {lo}..{hi}, got {depth}")
    if not g_lo <= gain <= g_hi:
        raise ValueError(f"gain must be in [{g_lo}, {g_hi}], got {gain}")
    common = {"continuous_update": False, "style": {"description_width": "initial"}}
    sliders = {
        "depth": widgets.IntSlider(value=depth, min=lo, max=hi,
                                   description="depth L", **common),
        "gain": widgets.FloatSlider(value=gain, min=g_lo, max=g_hi, step=g_step,
                                    description="gain g", readout_format=".2f",
                                    **common),
    }
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox(list(sliders.values())), output])
    box.sliders = sliders
    box.output = output

    # One figure for the life of the explorer: a slider move sets the new data
    # into its artists and draws it once (no new figure, no layout pass).
    drawing = _GradientFigure()

    def redraw(_change=None) -> None:
        depth_now, gain_now = sliders["depth"].value, sliders["gain"].value
        box.data = gradient_explorer_data(depth_now, gain_now)
        drawing.show(box.data)
        png = box.png = drawing.png()
        _show_png(output, png, f"<gradient explorer: L={depth_now}, g={gain_now:g}>")

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    return box
