r"""ODE flows and the residual networks that approximate them.

A residual stack with shared weights, :math:`x_{n+1} = x_n + \tau f(x_n)`, is forward
Euler for :math:`\dot x = f(x)`. This module holds the accurate reference solver the
stack is measured against (classic fourth-order Runge-Kutta), the slope of a
log-log error plot, and the pure data function (and its figure) behind the depth
widget of chapter 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ._validate import as_float_array, positive, positive_int
from .blocks import ResidualBlock, Stack

__all__ = [
    "FlowComparison",
    "flow_comparison",
    "loglog_slope",
    "plot_flow_comparison",
    "rk4_solve",
]


def _as_state(x0: Any) -> torch.Tensor:
    if isinstance(x0, torch.Tensor):
        if not x0.is_floating_point():
            raise TypeError(f"x0 must be a floating-point tensor, got dtype {x0.dtype}")
        return x0
    return torch.as_tensor(as_float_array(x0, "x0"), dtype=torch.float64)


def rk4_solve(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: Any,
    T: float,
    steps: int,
    *,
    return_path: bool = False,
) -> torch.Tensor:
    r"""Solve :math:`\dot x = f(x)`, :math:`x(0) = x_0`, up to time :math:`T` by RK4.

    With :math:`\Delta = T/\text{steps}` each step is

    .. math::

        k_1 = f(x),\; k_2 = f(x + \tfrac{\Delta}{2} k_1),\;
        k_3 = f(x + \tfrac{\Delta}{2} k_2),\; k_4 = f(x + \Delta k_3),\quad
        x \leftarrow x + \tfrac{\Delta}{6}(k_1 + 2k_2 + 2k_3 + k_4),

    whose global error is :math:`O(\Delta^4)` for smooth :math:`f`.

    Parameters
    ----------
    f : callable
        The autonomous vector field, applied to a tensor of states (any batch
        shape that ``f`` accepts).
    x0 : array_like or torch.Tensor
        Initial state(s); a non-tensor is converted to a float64 CPU tensor.
    T : float
        Final time, > 0.
    steps : int
        Number of steps, >= 1.
    return_path : bool
        Return all states, shape ``(steps + 1, *x0.shape)``, instead of
        :math:`x(T)` (default ``False``).

    Returns
    -------
    torch.Tensor
        :math:`x(T)` (or the path), computed without building an autograd graph.

    Raises
    ------
    ValueError
        If ``T`` is not > 0 or ``steps`` is not an integer >= 1.
    TypeError
        If ``f`` is not callable or ``x0`` is not real.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = _as_state(x0)
    T = positive(T, "T")
    steps = positive_int(steps, "steps")
    dt = T / steps

    path = [x] if return_path else None
    with torch.no_grad():
        for _ in range(steps):
            k1 = f(x)
            k2 = f(x + 0.5 * dt * k1)
            k3 = f(x + 0.5 * dt * k2)
            k4 = f(x + dt * k3)
            x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            if path is not None:
                path.append(x)
    return torch.stack(path) if path is not None else x


def loglog_slope(x: Any, y: Any) -> float:
    r"""The least-squares slope :math:`p` of :math:`\log y = p \log x + a`.

    For errors :math:`y` measured at step sizes :math:`x`, :math:`p` is the observed
    order of convergence.

    Raises
    ------
    ValueError
        If the inputs are not 1-D of the same length >= 2, or hold values <= 0,
        or all ``x`` are equal.
    """
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", ndim=1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(
            f"x and y must have the same length >= 2, got {x.size} and {y.size}"
        )
    for name, v in (("x", x), ("y", y)):
        if np.any(v <= 0):
            raise ValueError(f"{name} must be > 0 everywhere, got {v!r}")
    lx = np.log(x)
    if np.ptp(lx) == 0:
        raise ValueError(f"x must hold at least two different values, got {x!r}")
    slope, _ = np.polyfit(lx, np.log(y), 1)
    return float(slope)


@dataclasses.dataclass(frozen=True)
class FlowComparison:
    """A residual network's trajectories next to the exact flow (numpy arrays).

    Attributes
    ----------
    depth : int
        The depth :math:`L`.
    T : float
        The final time.
    tau : float
        The layer step :math:`T/L`.
    network : numpy.ndarray
        Shape ``(depth + 1, n_starts, 2)``: the states after each layer.
    exact : numpy.ndarray
        Shape ``(reference_steps + 1, n_starts, 2)``: the RK4 reference path.
    grid_x, grid_y : numpy.ndarray
        Shape ``(g, g)``: where the field is sampled (axis 0 is :math:`x_1`).
    field_u, field_v : numpy.ndarray
        Shape ``(g, g)``: the two components of ``f`` there.
    end_error : float
        The largest Euclidean distance between network output and exact flow
        at time :math:`T`, over the starts.
    """

    depth: int
    T: float
    tau: float
    network: np.ndarray
    exact: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    field_u: np.ndarray
    field_v: np.ndarray
    end_error: float


def flow_comparison(
    f: nn.Module,
    starts: Any,
    T: float,
    depth: int,
    *,
    reference_steps: int = 400,
    grid_size: int = 17,
    margin: float = 0.3,
) -> FlowComparison:
    r"""Trajectories of the depth-:math:`L` residual network and the exact flow.

    The network is ``Stack(ResidualBlock(f, T / depth), depth)``: :math:`L` Euler
    steps of size :math:`\tau = T/L` for :math:`\dot x = f(x)` in the plane. The
    reference is :func:`rk4_solve` with ``reference_steps`` steps. The field is
    sampled on a ``grid_size`` x ``grid_size`` grid covering all paths plus a
    ``margin`` on every side.

    Parameters
    ----------
    f : torch.nn.Module
        A vector field on :math:`\mathbb R^2`, applied to a batch of shape ``(n, 2)``.
    starts : array_like
        Starting points, shape ``(n, 2)``; converted to the dtype and device of
        ``f``'s parameters (float64 on the CPU if it has none).
    T : float
        Final time, > 0.
    depth : int
        :math:`L \ge 1`.

    Returns
    -------
    FlowComparison

    Raises
    ------
    ValueError
        For ``depth < 1``, ``T <= 0``, starts not of shape ``(n, 2)``, or a grid
        size < 2.
    """
    depth = positive_int(depth, "depth")
    T = positive(T, "T")
    reference_steps = positive_int(reference_steps, "reference_steps")
    grid_size = positive_int(grid_size, "grid_size")
    if grid_size < 2:
        raise ValueError(f"grid_size must be >= 2, got {grid_size}")
    margin = float(margin)
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    starts_np = as_float_array(starts, "starts", ndim=2)
    if starts_np.shape[1] != 2 or starts_np.shape[0] < 1:
        raise ValueError(f"starts must have shape (n, 2), got {starts_np.shape}")

    param = next(iter(f.parameters()), None)
    dtype = param.dtype if param is not None else torch.float64
    device = param.device if param is not None else torch.device("cpu")
    x0 = torch.as_tensor(starts_np, dtype=dtype, device=device)

    with torch.no_grad():
        network = Stack(ResidualBlock(f, T / depth), depth).trajectory(x0)
        exact = rk4_solve(f, x0, T, reference_steps, return_path=True)

        pts = torch.cat([network.reshape(-1, 2), exact.reshape(-1, 2)])
        lo = pts.min(dim=0).values.cpu().numpy() - margin
        hi = pts.max(dim=0).values.cpu().numpy() + margin
        gx, gy = np.meshgrid(
            np.linspace(lo[0], hi[0], grid_size),
            np.linspace(lo[1], hi[1], grid_size),
            indexing="ij",
        )
        grid = torch.as_tensor(
            np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=dtype, device=device
        )
        field = f(grid).cpu().numpy().reshape(grid_size, grid_size, 2)
        end_error = torch.linalg.vector_norm(network[-1] - exact[-1], dim=-1).max()

    return FlowComparison(
        depth=depth,
        T=T,
        tau=T / depth,
        network=network.cpu().numpy(),
        exact=exact.cpu().numpy(),
        grid_x=gx,
        grid_y=gy,
        field_u=field[..., 0],
        field_v=field[..., 1],
        end_error=float(end_error),
    )


def plot_flow_comparison(
    data: FlowComparison,
    ax: Any = None,
    *,
    title: str | None = None,
    legend: bool = True,
) -> Any:
    """Draw a :class:`FlowComparison`: field arrows, exact paths, network states.

    Parameters
    ----------
    data : FlowComparison
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    title : str, optional
        Defaults to one naming the depth, the step and the end error.
    legend : bool
        Draw a legend to the right of the axes (default ``True``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (the caller shows and closes it).
    """
    import matplotlib.pyplot as plt

    if not isinstance(data, FlowComparison):
        raise TypeError(f"data must be a FlowComparison, got {type(data).__name__}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
    else:
        fig = ax.figure

    ax.quiver(
        data.grid_x, data.grid_y, data.field_u, data.field_v,
        color="0.75", angles="xy", width=0.004,
    )
    n_starts = data.exact.shape[1]
    for i in range(n_starts):
        ax.plot(
            data.exact[:, i, 0], data.exact[:, i, 1], color="black", lw=1.6,
            label="exact flow" if i == 0 else None,
        )
        ax.plot(
            data.network[:, i, 0], data.network[:, i, 1], "o-", color="C3", lw=1.0,
            ms=3.5, label=f"residual net, $L={data.depth}$" if i == 0 else None,
        )
    ax.plot(
        data.exact[0, :, 0], data.exact[0, :, 1], "s", color="C0", ms=5,
        label="start $x_0$",
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal", adjustable="box")
    if title is None:
        title = (
            f"$L={data.depth}$, $\\tau={data.tau:.3g}$: "
            f"error at $T$ = {data.end_error:.2g}"
        )
    ax.set_title(title)
    if legend:  # outside the axes, so it never hides a path
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig
