r"""Torch modules: residual, plain and PDE-operator blocks, and stacks of them.

A *residual block* maps :math:`x \mapsto x + \tau f(x)`, one forward Euler step of
:math:`\dot x = f(x)` with step :math:`\tau`; a *plain block* maps
:math:`x \mapsto f(x)`. A *stack* applies :math:`L` blocks in turn, either the same
block :math:`L` times (shared weights) or :math:`L` independent blocks.

The convolution blocks are linear residual layers :math:`u \leftarrow u + k * u` on a
periodic grid, where :math:`*` is PyTorch's cross-correlation with offsets centred on
0: for a 3-tap kernel :math:`(k * u)_j = k_0 u_{j-1} + k_1 u_j + k_2 u_{j+1}`.

Every module works in ``float64`` by default and lives on the device it is given
(``device=None`` means the CPU); move it with ``.to(device)`` like any module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import as_float_array, as_real, non_negative_int, odd_kernel, positive

__all__ = [
    "PlainBlock",
    "ResidualBlock",
    "ResidualConv1d",
    "ResidualConv2d",
    "Stack",
    "make_stack",
    "mlp",
    "plain_mlp_stack",
    "residual_kernel_2d",
    "residual_mlp_stack",
]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def _require_module(f: Any, name: str = "f") -> nn.Module:
    if not isinstance(f, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module, got {type(f).__name__}; "
            "wrap a function in an nn.Module subclass"
        )
    return f


# --------------------------------------------------------------------------- blocks


class ResidualBlock(nn.Module):
    r"""The residual block :math:`x \mapsto x + \tau f(x)`.

    One forward Euler step of size :math:`\tau` for the ODE :math:`\dot x = f(x)`.

    Parameters
    ----------
    f : torch.nn.Module
        The residual branch; it must return a tensor of the shape of its input.
    tau : float
        The layer step :math:`\tau > 0`.

    Raises
    ------
    TypeError
        If ``f`` is not an ``nn.Module`` or ``tau`` is not a real number.
    ValueError
        If ``tau`` is not finite and > 0.
    """

    def __init__(self, f: nn.Module, tau: float) -> None:
        super().__init__()
        self.f = _require_module(f)
        self.tau = positive(tau, "tau")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`x + \tau f(x)`."""
        return x + self.tau * self.f(x)

    def extra_repr(self) -> str:
        return f"tau={self.tau:g}"


class PlainBlock(nn.Module):
    r"""The plain block :math:`x \mapsto f(x)`: a residual block without its skip.

    Parameters
    ----------
    f : torch.nn.Module
        The layer.

    Raises
    ------
    TypeError
        If ``f`` is not an ``nn.Module``.
    """

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = _require_module(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return :math:`f(x)`."""
        return self.f(x)


# ------------------------------------------------------------- convolution blocks


def _kernel_1d_formula(
    D: float, b: float, c: float, h: float, tau: float
) -> np.ndarray:
    # The residual kernel of one explicit step of u_t = D u_xx + b u_x + c u.
    return tau * (
        D / h**2 * np.array([1.0, -2.0, 1.0])
        + b / (2.0 * h) * np.array([-1.0, 0.0, 1.0])
        + c * np.array([0.0, 1.0, 0.0])
    )


def residual_kernel_2d(
    Dxx: float,
    Dxy: float,
    Dyy: float,
    bx: float,
    by: float,
    c: float,
    h: float,
    tau: float,
) -> np.ndarray:
    r"""The 3x3 residual kernel of one explicit step of a 2-D PDE.

    The PDE is

    .. math::

        u_t = D_{xx} u_{xx} + 2 D_{xy} u_{xy} + D_{yy} u_{yy}
              + b_x u_x + b_y u_y + c u
            = \nabla\cdot(\mathbf D \nabla u) + \mathbf b\cdot\nabla u + c u,

    with the constant symmetric diffusion matrix
    :math:`\mathbf D = \begin{pmatrix} D_{xx} & D_{xy} \\ D_{xy} & D_{yy}\end{pmatrix}`.
    Axis 0 of the kernel is :math:`x`, axis 1 is :math:`y`, and entry
    ``q[1 + k1, 1 + k2]`` multiplies :math:`u(x + k_1 h, y + k_2 h)`. With central
    differences on a grid of step :math:`h`,

    .. math::

        q = \tau\Big( \tfrac{D_{xx}}{h^2} \delta^2_x + \tfrac{D_{yy}}{h^2} \delta^2_y
            + \tfrac{2 D_{xy}}{4 h^2} \delta_x\delta_y
            + \tfrac{b_x}{2h} \delta_x + \tfrac{b_y}{2h} \delta_y + c\,e \Big),

    where :math:`\delta^2` is the stencil :math:`[1, -2, 1]`, :math:`\delta` is
    :math:`[-1, 0, 1]` along the named axis (centre row/column),
    :math:`\delta_x\delta_y` is their outer product (corners :math:`+1, -1, -1, +1`)
    and :math:`e` is 1 at the centre. Its moments
    :math:`m_{ij} = \sum q_{k_1 k_2} k_1^i k_2^j / (i!\,j!)` give back
    :math:`c = m_{00}/\tau`, :math:`b_x = h m_{10}/\tau`,
    :math:`D_{xx} = h^2 m_{20}/\tau` and :math:`2 D_{xy} = h^2 m_{11}/\tau`.

    Parameters
    ----------
    Dxx, Dxy, Dyy : float
        Entries of the diffusion matrix (any real values; no positivity is imposed).
    bx, by : float
        Drift along axis 0 (:math:`x`) and axis 1 (:math:`y`).
    c : float
        Reaction rate.
    h : float
        Grid step, > 0.
    tau : float
        Layer step, > 0.

    Returns
    -------
    numpy.ndarray
        The kernel, shape ``(3, 3)``, float64.

    Raises
    ------
    ValueError
        If ``h`` or ``tau`` is not > 0, or a coefficient is not finite.
    """
    Dxx, Dxy, Dyy = as_real(Dxx, "Dxx"), as_real(Dxy, "Dxy"), as_real(Dyy, "Dyy")
    bx, by, c = as_real(bx, "bx"), as_real(by, "by"), as_real(c, "c")
    h = positive(h, "h")
    tau = positive(tau, "tau")

    second = np.array([1.0, -2.0, 1.0])
    first = np.array([-1.0, 0.0, 1.0])
    centre = np.array([0.0, 1.0, 0.0])
    q = (
        Dxx / h**2 * np.outer(second, centre)
        + Dyy / h**2 * np.outer(centre, second)
        + 2.0 * Dxy / (4.0 * h**2) * np.outer(first, first)
        + bx / (2.0 * h) * np.outer(first, centre)
        + by / (2.0 * h) * np.outer(centre, first)
        + c * np.outer(centre, centre)
    )
    return tau * q


def _kernel_tensor(
    kernel: Any, spatial_dims: int, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    """Validate a (possibly per-channel) odd kernel and return it as a tensor."""
    arr = as_float_array(kernel, "kernel")
    if arr.ndim == spatial_dims:
        arr = odd_kernel(arr, "kernel", ndim=spatial_dims)
    elif arr.ndim == spatial_dims + 1:
        if arr.shape[0] < 1 or any(n % 2 == 0 for n in arr.shape[1:]):
            raise ValueError(
                "a per-channel kernel must have shape (channels, "
                + ", ".join(["odd"] * spatial_dims)
                + f"), got shape {tuple(arr.shape)}"
            )
    else:
        raise ValueError(
            f"kernel must have {spatial_dims} axes (shared by all channels) or "
            f"{spatial_dims + 1} (one kernel per channel), got shape {tuple(arr.shape)}"
        )
    return torch.as_tensor(arr, dtype=dtype, device=device)


def _periodic_pad(u: torch.Tensor, radii: Sequence[int]) -> torch.Tensor:
    """Pad the trailing axes periodically by ``radii`` (any grid size >= 1)."""
    for axis, r in zip(range(-len(radii), 0), radii, strict=True):
        n = u.shape[axis]
        index = torch.arange(-r, n + r, device=u.device) % n
        u = u.index_select(axis, index)
    return u


class _ResidualConv(nn.Module):
    """Shared machinery of :class:`ResidualConv1d` and :class:`ResidualConv2d`."""

    _spatial_dims = 1

    def __init__(
        self,
        kernel: Any,
        *,
        learnable: bool = False,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        tensor = _kernel_tensor(kernel, self._spatial_dims, dtype, device)
        self.learnable = bool(learnable)
        if self.learnable:
            self.kernel = nn.Parameter(tensor)
        else:
            self.register_buffer("kernel", tensor)

    @property
    def per_channel(self) -> bool:
        """True when the kernel has one slice per channel."""
        return self.kernel.dim() == self._spatial_dims + 1

    @property
    def radius(self) -> tuple[int, ...]:
        """Half-widths of the kernel along its spatial axes."""
        return tuple(n // 2 for n in self.kernel.shape[-self._spatial_dims :])

    @property
    def layer_weights(self) -> torch.Tensor:
        r"""The weights of the whole linear layer: the kernel plus 1 at its centre.

        With them the layer reads :math:`u \leftarrow w * u`; for a 3-tap kernel
        :math:`w = (k_0, 1 + k_1, k_2)`. Returned detached.
        """
        w = self.kernel.detach().clone()
        w[(...,) + self.radius] += 1.0
        return w

    def _as_batch(self, u: Any) -> tuple[torch.Tensor, torch.Size]:
        if not isinstance(u, torch.Tensor):
            k = self.kernel
            u = torch.as_tensor(as_float_array(u, "u"), dtype=k.dtype, device=k.device)
        if not u.is_floating_point():
            raise TypeError(f"u must be a floating-point tensor, got dtype {u.dtype}")
        if u.dtype != self.kernel.dtype:
            raise ValueError(
                f"u has dtype {u.dtype} but the kernel has dtype {self.kernel.dtype}; "
                "convert one of them with .to(...)"
            )
        d = self._spatial_dims
        shape = u.shape
        if u.dim() == d:
            u = u.reshape((1, 1) + tuple(shape))
        elif u.dim() == d + 1:
            u = u.unsqueeze(1)
        elif u.dim() != d + 2:
            raise ValueError(
                f"u must have {d} (grid), {d + 1} (batch, grid) or {d + 2} "
                f"(batch, channels, grid) axes, got shape {tuple(shape)}"
            )
        if any(n < 1 for n in u.shape[-d:]):
            raise ValueError(f"u must have a non-empty grid, got shape {tuple(shape)}")
        channels = u.shape[1]
        if self.per_channel and self.kernel.shape[0] not in (1, channels):
            raise ValueError(
                f"the kernel has {self.kernel.shape[0]} channels but u has {channels} "
                f"(shape {tuple(shape)}); a per-channel kernel needs input of shape "
                "(batch, channels, grid)"
            )
        return u, shape

    def _weight(self, channels: int) -> torch.Tensor:
        k = self.kernel
        if not self.per_channel:
            k = k.unsqueeze(0)
        k = k.unsqueeze(1)  # (C or 1, 1, *spatial): depthwise weights
        return k.expand((channels,) + tuple(k.shape[1:]))

    def forward(self, u: Any) -> torch.Tensor:
        """Return :math:`u + k * u` (periodic), with the shape of ``u``."""
        x, shape = self._as_batch(u)
        channels = x.shape[1]
        padded = _periodic_pad(x, self.radius)
        conv = F.conv1d if self._spatial_dims == 1 else F.conv2d
        out = x + conv(padded, self._weight(channels), groups=channels)
        return out.reshape(shape)

    def extra_repr(self) -> str:
        return f"kernel_shape={tuple(self.kernel.shape)}, learnable={self.learnable}"


class ResidualConv1d(_ResidualConv):
    r"""The linear residual layer :math:`u \leftarrow u + k * u` on a periodic 1-D grid.

    With a kernel of odd length :math:`2r + 1` and PyTorch's cross-correlation
    convention,

    .. math::

        (k * u)_j = \sum_{s=-r}^{r} k[r + s]\, u_{(j + s) \bmod n},

    so a 3-tap kernel gives :math:`k_0 u_{j-1} + k_1 u_j + k_2 u_{j+1}`. The grid is
    periodic: the padding wraps around (any grid size :math:`n \ge 1` works).

    Parameters
    ----------
    kernel : array_like
        Shape ``(K,)`` with ``K`` odd, shared by all channels (depthwise), or
        ``(C, K)``: one kernel per channel.
    learnable : bool
        Store the kernel as an ``nn.Parameter`` (trainable) instead of a buffer
        (default ``False``).
    dtype : torch.dtype
        The kernel's dtype (default ``torch.float64``).
    device : torch.device, str or None
        Where the kernel lives; ``None`` means the CPU.

    Notes
    -----
    Input shapes: ``(n,)`` (one grid function), ``(batch, n)`` or
    ``(batch, channels, n)``; the output has the input's shape. A per-channel kernel
    with more than one channel needs the 3-axis form. Non-tensor input is converted
    to the kernel's dtype and device; a tensor of another dtype is refused rather than
    silently cast.

    Raises
    ------
    ValueError
        If the kernel's length is even, it holds NaN/inf, or it has the wrong number
        of axes; in ``forward``, if the input's shape or dtype does not fit.
    """

    _spatial_dims = 1

    @classmethod
    def from_coefficients(
        cls,
        D: float,
        b: float,
        c: float,
        h: float,
        tau: float,
        *,
        learnable: bool = False,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> ResidualConv1d:
        r"""The layer of one explicit step of :math:`u_t = D u_{xx} + b u_x + c u`.

        The kernel is

        .. math::

            k = \tau\Big(\tfrac{D}{h^2}[1, -2, 1] + \tfrac{b}{2h}[-1, 0, 1]
                + c\,[0, 1, 0]\Big),

        taken from ``pathint_lib.pde.kernel_from_coefficients`` when that module
        is present (the same formula otherwise). With :math:`b > 0` content moves
        toward :math:`-x`.

        Raises
        ------
        ValueError
            If ``h`` or ``tau`` is not > 0, or a coefficient is not finite.
        """
        D, b, c = as_real(D, "D"), as_real(b, "b"), as_real(c, "c")
        h, tau = positive(h, "h"), positive(tau, "tau")
        try:
            from . import pde
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.pde":
                raise
            kernel = _kernel_1d_formula(D, b, c, h, tau)
        else:
            kernel = pde.kernel_from_coefficients(D, b, c, h, tau)
        return cls(kernel, learnable=learnable, dtype=dtype, device=device)


class ResidualConv2d(_ResidualConv):
    r"""The linear residual layer :math:`u \leftarrow u + q * u` on a periodic 2-D grid.

    With a kernel of odd shape :math:`(2r_1 + 1, 2r_2 + 1)` and PyTorch's
    cross-correlation convention,

    .. math::

        (q * u)_{ij} = \sum_{s_1=-r_1}^{r_1}\sum_{s_2=-r_2}^{r_2}
            q[r_1 + s_1, r_2 + s_2]\, u_{(i + s_1) \bmod n_1,\,(j + s_2) \bmod n_2}.

    Axis 0 is :math:`x`, axis 1 is :math:`y`.

    Parameters
    ----------
    kernel : array_like
        Shape ``(K1, K2)``, both odd, shared by all channels, or ``(C, K1, K2)``.
    learnable : bool
        Store the kernel as an ``nn.Parameter`` instead of a buffer (default
        ``False``).
    dtype : torch.dtype
        The kernel's dtype (default ``torch.float64``).
    device : torch.device, str or None
        Where the kernel lives; ``None`` means the CPU.

    Notes
    -----
    Input shapes: ``(n1, n2)``, ``(batch, n1, n2)`` or ``(batch, channels, n1, n2)``;
    a 3-axis input is read as a batch, never as channels.

    Raises
    ------
    ValueError
        As :class:`ResidualConv1d`.
    """

    _spatial_dims = 2

    @classmethod
    def from_coefficients_2d(
        cls,
        Dxx: float,
        Dxy: float,
        Dyy: float,
        bx: float,
        by: float,
        c: float,
        h: float,
        tau: float,
        *,
        learnable: bool = False,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> ResidualConv2d:
        r"""The layer of one explicit step of the 2-D PDE of :func:`residual_kernel_2d`.

        :math:`u_t = D_{xx}u_{xx} + 2D_{xy}u_{xy} + D_{yy}u_{yy} + b_x u_x + b_y u_y
        + c u`; the kernel is :func:`residual_kernel_2d`.
        """
        kernel = residual_kernel_2d(Dxx, Dxy, Dyy, bx, by, c, h, tau)
        return cls(kernel, learnable=learnable, dtype=dtype, device=device)

    @classmethod
    def from_coefficients(
        cls,
        D: float,
        bx: float,
        by: float,
        c: float,
        h: float,
        tau: float,
        *,
        learnable: bool = False,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> ResidualConv2d:
        r"""The isotropic case :math:`u_t = D\Delta u + b_x u_x + b_y u_y + c u`.

        The kernel is :math:`\tau(\tfrac{D}{h^2}\,\text{5-point Laplacian} + \dots)`,
        i.e. :func:`residual_kernel_2d` with :math:`D_{xx} = D_{yy} = D`,
        :math:`D_{xy} = 0`.
        """
        return cls.from_coefficients_2d(
            D, 0.0, D, bx, by, c, h, tau,
            learnable=learnable, dtype=dtype, device=device,
        )


# -------------------------------------------------------------------------- stacks


class Stack(nn.Module):
    r"""A depth-:math:`L` stack: :math:`x_{n+1} = B_n(x_n)`, :math:`n = 0, \dots, L-1`.

    Parameters
    ----------
    block : torch.nn.Module
        The block.
    depth : int
        :math:`L \ge 0`; depth 0 is the identity.
    share_weights : bool
        ``True`` (the default): the same block (the same parameters) is applied
        :math:`L` times. ``False``: :math:`L` independent deep copies, equal at
        construction but with parameters of their own.

    Raises
    ------
    TypeError
        If ``block`` is not an ``nn.Module`` or ``depth`` is not an integer.
    ValueError
        If ``depth < 0``.

    See Also
    --------
    make_stack : a stack of independently built blocks.
    """

    def __init__(
        self, block: nn.Module, depth: int, share_weights: bool = True
    ) -> None:
        super().__init__()
        block = _require_module(block, "block")
        self.depth = non_negative_int(depth, "depth")
        self.share_weights = bool(share_weights)
        if self.share_weights:
            self.blocks = nn.ModuleList([block])
        else:
            self.blocks = nn.ModuleList(copy.deepcopy(block) for _ in range(self.depth))

    @classmethod
    def from_blocks(cls, blocks: Sequence[nn.Module]) -> Stack:
        """A stack of the given blocks, applied in order (no weight sharing)."""
        blocks = [_require_module(b, f"blocks[{i}]") for i, b in enumerate(blocks)]
        stack = cls.__new__(cls)
        nn.Module.__init__(stack)
        stack.depth = len(blocks)
        stack.share_weights = False
        stack.blocks = nn.ModuleList(blocks)
        return stack

    def __len__(self) -> int:
        return self.depth

    def __getitem__(self, n: int) -> nn.Module:
        """The block applied as layer ``n`` (``0 <= n < depth``; negative from end)."""
        n = int(n)
        if not -self.depth <= n < self.depth:
            raise IndexError(f"layer {n} out of range for depth {self.depth}")
        n %= self.depth
        return self.blocks[0] if self.share_weights else self.blocks[n]

    def __iter__(self) -> Iterator[nn.Module]:
        return (self[n] for n in range(self.depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers in turn and return :math:`x_L`."""
        for block in self:
            x = block(x)
        return x

    def trajectory(self, x: torch.Tensor) -> torch.Tensor:
        r"""All states :math:`x_0, \dots, x_L`, stacked: ``(depth + 1, *x.shape)``."""
        states = [x]
        for block in self:
            states.append(block(states[-1]))
        return torch.stack(states)

    def extra_repr(self) -> str:
        return f"depth={self.depth}, share_weights={self.share_weights}"


def make_stack(factory: Callable[[], nn.Module], depth: int) -> Stack:
    """A stack of ``depth`` independent blocks, each built by calling ``factory()``.

    Raises
    ------
    TypeError
        If ``factory`` is not callable, returns something other than an
        ``nn.Module``, or ``depth`` is not an integer.
    ValueError
        If ``depth < 0``.
    """
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    depth = non_negative_int(depth, "depth")
    return Stack.from_blocks([factory() for _ in range(depth)])


# ------------------------------------------------------------------ MLP helpers


def _activation(activation: str | nn.Module) -> nn.Module:
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, str) and activation.lower() in _ACTIVATIONS:
        return _ACTIVATIONS[activation.lower()]()
    raise ValueError(
        f"activation must be one of {sorted(_ACTIVATIONS)} or an nn.Module, "
        f"got {activation!r}"
    )


def _seeded_linear(
    n_in: int,
    n_out: int,
    gain: float,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: Any,
) -> nn.Linear:
    # skip_init: no default initialisation, so the global random state is untouched.
    device = torch.device("cpu") if device is None else device
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out, dtype=dtype, device=device)
    std = gain / np.sqrt(n_in)
    with torch.no_grad():
        # Drawn on the CPU in float64, so the numbers do not depend on the device.
        w = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64)
        bias = torch.randn(n_out, generator=generator, dtype=torch.float64)
        layer.weight.copy_(std * w)
        layer.bias.copy_(std * bias)
    return layer


def _mlp_from_generator(
    width: int,
    hidden: int | None,
    activation: str | nn.Module,
    gain: float,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: Any,
) -> nn.Sequential:
    if hidden is None:
        return nn.Sequential(
            _seeded_linear(width, width, gain, generator, dtype, device),
            _activation(activation),
        )
    return nn.Sequential(
        _seeded_linear(width, hidden, gain, generator, dtype, device),
        _activation(activation),
        _seeded_linear(hidden, width, gain, generator, dtype, device),
    )


def _check_mlp_args(
    width: Any, hidden: Any, gain: Any, seed: Any
) -> tuple[int, int | None, float, int]:
    width = non_negative_int(width, "width")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if hidden is not None:
        hidden = non_negative_int(hidden, "hidden")
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1 or None, got {hidden}")
    gain = positive(gain, "gain")
    seed = non_negative_int(seed, "seed")
    return width, hidden, gain, seed


def mlp(
    width: int,
    hidden: int | None = None,
    activation: str | nn.Module = "tanh",
    *,
    seed: int = 0,
    gain: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    r"""A small seeded perceptron :math:`f:\mathbb R^{w}\to\mathbb R^{w}`.

    Without a hidden layer :math:`f(x) = \sigma(W x + a)`; with ``hidden`` units
    :math:`f(x) = W_2\,\sigma(W_1 x + a_1) + a_2`. Every weight and bias is drawn
    from :math:`\mathcal N(0, \text{gain}^2/\text{fan\_in})` by a generator seeded with
    ``seed`` (the global torch random state is left untouched).

    Parameters
    ----------
    width : int
        Input and output size :math:`w \ge 1`.
    hidden : int or None
        Hidden layer size, or ``None`` for the one-layer form.
    activation : str or torch.nn.Module
        ``"tanh"`` (default), ``"relu"``, ``"sigmoid"`` or ``"identity"``, or a
        module to use as is.
    seed : int
        Seed of the generator that draws the parameters (default 0).
    gain : float
        Scale of the initial parameters (default 1.0).
    dtype : torch.dtype
        The parameters' dtype (default ``torch.float64``).
    device : torch.device, str or None
        Where the parameters live; ``None`` means the CPU.

    Raises
    ------
    ValueError
        For a size < 1, a gain that is not > 0, a negative seed or an unknown
        activation.
    """
    width, hidden, gain, seed = _check_mlp_args(width, hidden, gain, seed)
    generator = torch.Generator().manual_seed(seed)
    return _mlp_from_generator(
        width, hidden, activation, gain, generator, dtype, device
    )


def _mlp_stack(
    wrap: Callable[[nn.Module], nn.Module],
    width: int,
    depth: int,
    hidden: int | None,
    activation: str | nn.Module,
    share_weights: bool,
    seed: int,
    gain: float,
    dtype: torch.dtype,
    device: Any,
) -> Stack:
    width, hidden, gain, seed = _check_mlp_args(width, hidden, gain, seed)
    depth = non_negative_int(depth, "depth")
    generator = torch.Generator().manual_seed(seed)

    def build() -> nn.Module:
        return wrap(
            _mlp_from_generator(
                width, hidden, activation, gain, generator, dtype, device
            )
        )

    if share_weights:
        return Stack(build(), depth, share_weights=True)
    return make_stack(build, depth)


def residual_mlp_stack(
    width: int,
    depth: int,
    tau: float,
    activation: str | nn.Module = "tanh",
    *,
    hidden: int | None = None,
    share_weights: bool = True,
    seed: int = 0,
    gain: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Stack:
    r"""A depth-:math:`L` stack of residual blocks :math:`x \mapsto x + \tau f(x)`.

    ``f`` is :func:`mlp` with the same ``width``, ``hidden``, ``activation``,
    ``seed`` and ``gain``; with ``share_weights=True`` the stack is forward Euler with
    :math:`L` steps of size :math:`\tau` for :math:`\dot x = f(x)`, and its ``f`` is
    exactly ``mlp(width, hidden, activation, seed=seed, gain=gain)``. With
    ``share_weights=False`` each layer draws its own ``f`` from one generator seeded
    with ``seed``.

    Raises
    ------
    ValueError
        If ``tau`` is not > 0, ``depth < 0``, or an MLP argument is invalid.
    """
    tau = positive(tau, "tau")
    return _mlp_stack(
        lambda f: ResidualBlock(f, tau),
        width, depth, hidden, activation, share_weights, seed, gain, dtype, device,
    )


def plain_mlp_stack(
    width: int,
    depth: int,
    activation: str | nn.Module = "tanh",
    *,
    hidden: int | None = None,
    share_weights: bool = True,
    seed: int = 0,
    gain: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Stack:
    r"""A depth-:math:`L` stack of plain blocks :math:`x \mapsto f(x)`.

    The same layers as :func:`residual_mlp_stack` (same seed, same ``f``) without
    the skip connection.

    Raises
    ------
    ValueError
        If ``depth < 0`` or an MLP argument is invalid.
    """
    return _mlp_stack(
        PlainBlock,
        width, depth, hidden, activation, share_weights, seed, gain, dtype, device,
    )
