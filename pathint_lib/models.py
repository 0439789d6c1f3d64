r"""Three small digit classifiers: PDE-operator, residual and plain networks.

All three share one layout (:class:`DigitClassifier`): a 3 x 3 *stem*
convolution (1 -> ``width`` channels, stride 2 by default, then ReLU), ``depth``
blocks at constant width, average pooling onto a 4 x 4 grid and a linear *head*
to 10 logits. Only the blocks differ:

``PDEOperatorNet`` (``"pde"``)
    One explicit Euler step of a learned convection-diffusion-reaction system,

    .. math::

        u \leftarrow u + \tau\,\sigma\Big( \sum_{o} C_o\,(K_o \star u) + \beta \Big),

    where the :math:`K_o` are FIXED 3 x 3 finite-difference stencils (identity,
    :math:`\partial_x, \partial_y, \partial_{xx}, \partial_{yy}, \partial_{xy}`)
    applied to every channel on its own (depthwise), and the learned
    ``width x width`` matrices :math:`C_o` mix the channels: they are the
    coefficients of the system
    :math:`u_t = D_{xx} u_{xx} + D_{yy} u_{yy} + D_{xy} u_{xy} + b_x u_x + b_y u_y
    + c\,u + \beta`, read back by :meth:`PDEOperatorNet.read_coefficients`.
``ResNet`` (``"resnet"``)
    :math:`u \leftarrow \mathrm{ReLU}(u + W_2 \star \mathrm{ReLU}(W_1 \star u))`
    with learned 3 x 3 convolutions :math:`W_1, W_2` (the block of He et al.
    2016, without batch normalisation).
``PlainCNN`` (``"plain"``)
    The same block without the skip:
    :math:`u \leftarrow \mathrm{ReLU}(W_2 \star \mathrm{ReLU}(W_1 \star u))`.

A PDE block has :math:`6 w^2 + w` parameters and a residual or plain block
:math:`18 w^2 + 2 w`. By default the residual and plain networks have width 8 and
the PDE network the width that matches their parameter count at the same depth
(:func:`default_width`: 13 at depths 4 to 12), so all three compare at equal size.

Conventions: images are ``(N, C, H, W)``; "x" is axis 0 of an image (its rows,
tensor dimension ``H``) and "y" is axis 1 (its columns, ``W``); stencils are
applied as PyTorch cross-correlations with zero padding (zero Dirichlet
boundary, the white margin of a digit); the grid step ``h`` is one pixel unless
set.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import non_negative_int, positive, positive_int
from .stencils import STANDARD_STENCILS

__all__ = [
    "ACTIVATIONS",
    "BASE_WIDTH",
    "MODEL_NAMES",
    "OPERATOR_NAMES",
    "BlockCoefficients",
    "DigitClassifier",
    "PDEBlock",
    "PDEOperatorNet",
    "PlainBlock",
    "PlainCNN",
    "ResNet",
    "ResidualBlock",
    "build_model",
    "count_parameters",
    "default_width",
    "describe_model",
    "first_layer_gradient_norm",
    "layer_gradient_norms",
    "matching_width",
    "operator_stencils",
    "parameter_count",
]

#: names accepted by :func:`build_model`.
MODEL_NAMES = ("pde", "resnet", "plain")
#: default width of the residual and plain networks; see :func:`default_width`.
BASE_WIDTH = 8
#: the fixed operators of a PDE block, in the order of their coefficients.
OPERATOR_NAMES = ("identity", "d_x", "d_y", "d_xx", "d_yy", "d_xy")
#: nonlinearities a PDE block accepts.
ACTIVATIONS = ("relu", "tanh", "identity")

_STENCIL_OF = {
    "identity": "identity",
    "d_x": "dx_central_2d",
    "d_y": "dy_central_2d",
    "d_xx": "dxx_central_2d",
    "d_yy": "dyy_central_2d",
    "d_xy": "dxy_central_2d",
}
_ORDER_OF = {"identity": 0, "d_x": 1, "d_y": 1, "d_xx": 2, "d_yy": 2, "d_xy": 2}
_COEFFICIENT_OF = {
    "identity": "c",
    "d_x": "b_x",
    "d_y": "b_y",
    "d_xx": "D_xx",
    "d_yy": "D_yy",
    "d_xy": "D_xy",
}


def operator_stencils(h: float = 1.0) -> dict[str, np.ndarray]:
    r"""The six fixed 3 x 3 finite-difference stencils of a PDE block.

    Entry ``q[k1 + 1, k2 + 1]`` multiplies :math:`u(x + k_1 h, y + k_2 h)`
    (cross-correlation; axis 0 is x). Central differences, second order:

    .. math::

        \partial_x u &\approx \frac{u_{i+1,j} - u_{i-1,j}}{2h}, \qquad
        \partial_y u \approx \frac{u_{i,j+1} - u_{i,j-1}}{2h}, \\
        \partial_{xx} u &\approx \frac{u_{i+1,j} - 2u_{i,j} + u_{i-1,j}}{h^2},
        \qquad
        \partial_{yy} u \approx \frac{u_{i,j+1} - 2u_{i,j} + u_{i,j-1}}{h^2}, \\
        \partial_{xy} u &\approx
        \frac{u_{i+1,j+1} - u_{i+1,j-1} - u_{i-1,j+1} + u_{i-1,j-1}}{4h^2},

    and the identity :math:`u_{i,j}`. In terms of the moment matrix
    :math:`m[i, j] = \sum q[k_1, k_2] k_1^i k_2^j / (i!\,j!)`, the stencil of
    :math:`\partial_x^a \partial_y^b` has :math:`m[a, b] = h^{-(a+b)}` and all
    other moments of order :math:`\le 2` zero. The kernels are those of
    :data:`pathint_lib.stencils.STANDARD_STENCILS` (``identity``,
    ``dx_central_2d``, ``dy_central_2d``, ``dxx_central_2d``, ``dyy_central_2d``,
    ``dxy_central_2d``), divided by :math:`h^{a+b}`.

    Parameters
    ----------
    h : float
        Grid step (> 0), in pixels.

    Returns
    -------
    dict
        ``{name: float64 array (3, 3)}`` for the names in :data:`OPERATOR_NAMES`.

    Raises
    ------
    ValueError
        If ``h`` is not positive.
    """
    h = positive(h, "h")
    out = {}
    for name in OPERATOR_NAMES:
        stencil = STANDARD_STENCILS[_STENCIL_OF[name]]
        kernel = np.asarray(stencil.kernel, dtype=np.float64)
        if kernel.ndim == 1:  # the 1-D identity (0, 1, 0) -> its 2-D outer square
            kernel = np.outer(kernel, kernel)
        out[name] = kernel / h ** _ORDER_OF[name]
    return out


# -------------------------------------------------------------------------- blocks


@dataclasses.dataclass(frozen=True)
class BlockCoefficients:
    r"""The learned coefficients of one PDE block.

    The block is one explicit step of length ``tau`` of

    .. math::

        \partial_t u_i = \sigma\Big(\sum_j \big[ D_{xx,ij} \partial_{xx} u_j
        + D_{yy,ij} \partial_{yy} u_j + D_{xy,ij} \partial_{xy} u_j
        + b_{x,ij} \partial_x u_j + b_{y,ij} \partial_y u_j + c_{ij} u_j \big]
        + \beta_i \Big),

    for output channel ``i`` and input channel ``j``. Each matrix field has shape
    ``(width, width)``, rows the output channels; its diagonal is the channel's
    own diffusion (``D``), drift (``b``) and reaction (``c``), the off-diagonal
    entries couple channels. ``D_xy`` multiplies :math:`u_{xy}` itself (for a
    diffusion tensor :math:`\nabla\cdot(K \nabla u)` it is :math:`2 K_{xy}`).
    Units: pixels (``h``) and layer time (``tau``).

    Attributes
    ----------
    c, b_x, b_y, D_xx, D_yy, D_xy : numpy.ndarray
        Coupling matrices, shape ``(width, width)``.
    bias : numpy.ndarray
        The source term :math:`\beta`, shape ``(width,)``.
    tau, h : float
        The step and grid step of the block.
    """

    c: np.ndarray
    b_x: np.ndarray
    b_y: np.ndarray
    D_xx: np.ndarray
    D_yy: np.ndarray
    D_xy: np.ndarray
    bias: np.ndarray
    tau: float
    h: float

    #: names of the matrix fields, in the order of :data:`OPERATOR_NAMES`.
    MATRIX_FIELDS = ("c", "b_x", "b_y", "D_xx", "D_yy", "D_xy")

    def per_channel(self) -> dict[str, np.ndarray]:
        r"""Each channel's own coefficients (the diagonals), shape ``(width,)``.

        Adds ``"D"``, the mean diffusion :math:`(D_{xx} + D_{yy})/2` of each
        channel, and ``"bias"``.
        """
        out = {name: np.diag(getattr(self, name)).copy() for name in self.MATRIX_FIELDS}
        out["D"] = 0.5 * (out["D_xx"] + out["D_yy"])
        out["bias"] = self.bias.copy()
        return out

    def as_dict(self) -> dict[str, Any]:
        """All fields as a dict (arrays copied)."""
        return {
            f.name: (
                getattr(self, f.name).copy()
                if isinstance(getattr(self, f.name), np.ndarray)
                else getattr(self, f.name)
            )
            for f in dataclasses.fields(self)
        }


def _activation(name: str):
    if name == "relu":
        return F.relu
    if name == "tanh":
        return torch.tanh
    if name == "identity":
        return lambda t: t
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


class PDEBlock(nn.Module):
    r"""One explicit PDE step, :math:`u \leftarrow u + \tau\,\sigma(r(u))`.

    .. math::

        r(u)_i = \sum_{o} \sum_j C_{o,ij}\,(K_o \star u_j) + \beta_i,

    the fixed stencils :math:`K_o` (:func:`operator_stencils`) applied to each
    channel :math:`j` on its own (:meth:`derivatives`), then mixed across channels
    by the learned matrices :math:`C_o` (one 1 x 1 convolution per operator) plus
    a learned bias :math:`\beta`: :math:`6 w^2 + w` parameters, stored as
    ``coefficients[i, j, o]`` and ``bias[i]``.

    Parameters
    ----------
    width : int
        Number of channels.
    tau : float
        Step length (> 0).
    h : float
        Grid step (> 0) of the stencils, in pixels.
    activation : str
        :math:`\sigma`: ``"relu"``, ``"tanh"`` or ``"identity"`` (then the block
        is a linear PDE step).

    Notes
    -----
    With every coefficient and the bias zero the block is exactly the identity
    (:math:`\sigma(0) = 0` for all three activations).

    The coefficients are not constrained: training may make a channel's own
    diffusion negative (a sharpening, backward-heat step, ill-posed as a PDE but
    harmless for a few explicit steps), and with ``"relu"`` the update
    :math:`\tau\,\sigma(r(u))` is never negative, so the linear PDE reading
    holds only where :math:`r(u) > 0`. ``"identity"`` gives the exact linear
    system; ``"tanh"`` is linear to first order near :math:`r = 0`.
    """

    def __init__(
        self, width: int, tau: float = 0.5, h: float = 1.0, activation: str = "relu"
    ) -> None:
        super().__init__()
        self.width = positive_int(width, "width")
        self.tau = positive(tau, "tau")
        self.h = positive(h, "h")
        self.activation = activation
        self._act = _activation(activation)
        stencils = operator_stencils(self.h)
        self.register_buffer(
            "stencils",
            torch.tensor(
                np.stack([stencils[name] for name in OPERATOR_NAMES]),
                dtype=torch.float32,
            ),
        )
        # coefficients[i, j, o]: weight of operator o applied to channel j in the
        # rate of channel i; by default drawn like a 1 x 1 convolution's weights
        # with fan-in 6 * width.
        n_ops = len(OPERATOR_NAMES)
        bound = 1.0 / math.sqrt(n_ops * self.width)
        self.coefficients = nn.Parameter(
            torch.empty(self.width, self.width, n_ops).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(self.width).uniform_(-bound, bound))

    def derivatives(self, u: torch.Tensor) -> torch.Tensor:
        r"""The six stencils applied to every channel: shape ``(N, w, 6, H, W)``.

        Entry ``[:, j, o]`` is :math:`K_o \star u_j` (operator ``o`` of
        :data:`OPERATOR_NAMES` on channel ``j``), with zero padding.
        """
        n, w, height, width = u.shape
        flat = u.reshape(n * w, 1, height, width)
        out = F.conv2d(flat, self.stencils.unsqueeze(1).to(u.dtype), padding=1)
        return out.reshape(n, w, len(OPERATOR_NAMES), height, width)

    def effective_kernel(self) -> torch.Tensor:
        r"""The 3 x 3 kernel :math:`W_{ij} = \sum_o C_{o,ij} K_o`, shape (w, w, 3, 3).

        Applying the fixed stencils channel by channel and then mixing across
        channels is the same linear map as one dense 3 x 3 convolution with this
        kernel. The block computes :math:`r(u)` that way: it is about three times
        faster on a CPU than the depthwise-then-1 x 1 route of :meth:`derivatives`.
        """
        return torch.einsum("ijo,oab->ijab", self.coefficients, self.stencils)

    def rate(self, u: torch.Tensor) -> torch.Tensor:
        r"""The right-hand side :math:`\sigma(r(u))` of the step."""
        return self._act(F.conv2d(u, self.effective_kernel(), self.bias, padding=1))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        r"""One step :math:`u + \tau\,\sigma(r(u))` of ``u``, shape (N, w, H, W)."""
        return u + self.tau * self.rate(u)

    def read_coefficients(self) -> BlockCoefficients:
        """The learned coefficients as float64 numpy arrays (a copy)."""
        weight = self.coefficients.detach().to("cpu", torch.float64).numpy()
        fields = {
            _COEFFICIENT_OF[name]: weight[:, :, k].copy()
            for k, name in enumerate(OPERATOR_NAMES)
        }
        bias = self.bias.detach().to("cpu", torch.float64).numpy().copy()
        return BlockCoefficients(**fields, bias=bias, tau=self.tau, h=self.h)

    @torch.no_grad()
    def set_coefficients(self, **fields: Any) -> None:
        r"""Overwrite some coefficients; the others keep their values.

        Parameters
        ----------
        **fields
            Any of ``c, b_x, b_y, D_xx, D_yy, D_xy`` (a ``(width, width)`` matrix,
            or a scalar that fills the diagonal and zeroes the rest, i.e. the
            same uncoupled PDE in every channel) and ``bias`` (``(width,)`` or a
            scalar).

        Raises
        ------
        ValueError
            For an unknown name or a wrong shape.
        """
        index = {v: k for k, v in enumerate(_COEFFICIENT_OF[n] for n in OPERATOR_NAMES)}
        weight = self.coefficients
        for name, value in fields.items():
            arr = np.asarray(
                value.detach().cpu() if isinstance(value, torch.Tensor) else value,
                dtype=np.float64,
            )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite, got {arr!r}")
            if name == "bias":
                arr = np.full(self.width, float(arr)) if arr.ndim == 0 else arr
                if arr.shape != (self.width,):
                    raise ValueError(
                        f"bias must have shape ({self.width},) or be a scalar, "
                        f"got shape {arr.shape}"
                    )
                self.bias.copy_(torch.as_tensor(arr, dtype=self.bias.dtype))
                continue
            if name not in index:
                raise ValueError(
                    f"unknown coefficient {name!r}; allowed: "
                    f"{', '.join(BlockCoefficients.MATRIX_FIELDS)}, bias"
                )
            if arr.ndim == 0:
                arr = float(arr) * np.eye(self.width)
            if arr.shape != (self.width, self.width):
                raise ValueError(
                    f"{name} must have shape ({self.width}, {self.width}) or be a "
                    f"scalar, got shape {arr.shape}"
                )
            weight[:, :, index[name]] = torch.as_tensor(arr, dtype=weight.dtype)

    def extra_repr(self) -> str:
        return f"width={self.width}, tau={self.tau}, h={self.h}, {self.activation}"


class ResidualBlock(nn.Module):
    r""":math:`u \leftarrow \mathrm{ReLU}(u + W_2 \star \mathrm{ReLU}(W_1 \star u))`.

    Two learned 3 x 3 convolutions with bias at constant ``width``
    (:math:`18 w^2 + 2 w` parameters).
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = positive_int(width, "width")
        self.conv1 = nn.Conv2d(self.width, self.width, 3, padding=1)
        self.conv2 = nn.Conv2d(self.width, self.width, 3, padding=1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """The block applied to feature maps ``(N, width, H, W)``."""
        return F.relu(u + self.conv2(F.relu(self.conv1(u))))


class PlainBlock(ResidualBlock):
    r""":math:`u \leftarrow \mathrm{ReLU}(W_2 \star \mathrm{ReLU}(W_1 \star u))`: the
    residual block without its skip."""

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """The block applied to feature maps ``(N, width, H, W)``."""
        return F.relu(self.conv2(F.relu(self.conv1(u))))


# -------------------------------------------------------------------------- models


class DigitClassifier(nn.Module):
    r"""Stem, ``depth`` blocks, average pooling, linear head (the shared base class).

    .. math::

        u_0 = \mathrm{ReLU}(W_{\mathrm{stem}} \star x), \qquad
        u_{n+1} = B_n(u_n), \qquad
        f(x) = A\,\mathrm{pool}(u_L) + a,

    where the stem has stride ``stride`` and ``pool`` averages each channel over
    a ``pool x pool`` grid of cells (``torch.nn.functional.adaptive_avg_pool2d``).

    Parameters
    ----------
    depth : int
        Number of blocks :math:`L \ge 0`.
    width : int
        Channels of every block.
    stride : int
        Stride of the stem (2: a 28 x 28 image becomes 14 x 14 feature maps).
    pool : int
        Side of the pooled grid feeding the head (1: global average pooling).
    in_channels, n_classes : int

    Attributes
    ----------
    stem : torch.nn.Conv2d
        The first layer (whose gradient :func:`first_layer_gradient_norm` reads).
    blocks : torch.nn.ModuleList
    head : torch.nn.Linear
    depth, width, stride, pool : int

    Notes
    -----
    Weights start from PyTorch's default initialisation (uniform with bound
    :math:`1/\sqrt{\text{fan-in}}`, variance :math:`1/(3\,\text{fan-in})`) and there
    is no normalisation layer: a plain stack then shrinks its signal and its
    gradient by a roughly constant factor per layer, which is the effect the
    depth study measures, while a residual stack keeps the identity path.
    """

    name = "base"

    def __init__(
        self, depth: int, width: int, *, stride: int = 2, pool: int = 4,
        in_channels: int = 1, n_classes: int = 10,
    ) -> None:
        super().__init__()
        self.depth = non_negative_int(depth, "depth")
        self.width = positive_int(width, "width")
        self.stride = positive_int(stride, "stride")
        self.pool = positive_int(pool, "pool")
        in_channels = positive_int(in_channels, "in_channels")
        n_classes = positive_int(n_classes, "n_classes")
        self.stem = nn.Conv2d(in_channels, self.width, 3, stride=self.stride, padding=1)
        self.blocks = nn.ModuleList(self._make_block() for _ in range(self.depth))
        self.head = nn.Linear(self.width * self.pool**2, n_classes)

    def _make_block(self) -> nn.Module:
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature maps after the last block, ``(N, width, H', W')``."""
        u = F.relu(self.stem(x))
        for block in self.blocks:
            u = block(u)
        return u

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_classes)`` for images ``(N, in_channels, H, W)``."""
        pooled = F.adaptive_avg_pool2d(self.features(x), self.pool)
        return self.head(pooled.flatten(1))

    def extra_repr(self) -> str:
        return (
            f"depth={self.depth}, width={self.width}, stride={self.stride}, "
            f"pool={self.pool}"
        )


class PDEOperatorNet(DigitClassifier):
    r"""Digit classifier whose blocks are explicit steps of a learned PDE system.

    Parameters
    ----------
    depth : int
        Number of :class:`PDEBlock` s, :math:`L \ge 0`; the blocks integrate up to
        time :math:`T = L \tau`.
    width : int
        Channels.
    tau : float
        Step of every block (> 0).
    h : float
        Grid step of the stencils (> 0), in pixels.
    activation : str
        ``"relu"``, ``"tanh"`` or ``"identity"``; see :class:`PDEBlock`.
    stride, pool, in_channels, n_classes : int
        As for :class:`DigitClassifier`.

    Warns
    -----
    UserWarning
        If ``tau > 1``: an explicit step that long is unstable already for
        moderate diffusion (the 5-point Laplacian's spectrum reaches
        :math:`-8/h^2`, so pure diffusion needs :math:`\tau D \le h^2/4`).
    """

    name = "pde"

    def __init__(
        self, depth: int, width: int = 13, *, tau: float = 0.5, h: float = 1.0,
        activation: str = "relu", stride: int = 2, pool: int = 4,
        in_channels: int = 1, n_classes: int = 10,
    ) -> None:
        self.tau = positive(tau, "tau")
        self.h = positive(h, "h")
        _activation(activation)
        self.activation = activation
        if self.tau > 1.0:
            warnings.warn(
                f"tau={self.tau} > 1: explicit PDE steps this long are unstable "
                "unless the learned diffusion stays small (tau*D <= h^2/4)",
                stacklevel=2,
            )
        super().__init__(
            depth, width, stride=stride, pool=pool, in_channels=in_channels,
            n_classes=n_classes,
        )

    def _make_block(self) -> nn.Module:
        return PDEBlock(self.width, self.tau, self.h, self.activation)

    def read_coefficients(self) -> list[BlockCoefficients]:
        """The learned coefficients of every block, first block first."""
        return [block.read_coefficients() for block in self.blocks]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, h={self.h}"


class ResNet(DigitClassifier):
    """Digit classifier with ``depth`` :class:`ResidualBlock` s (see the base class)."""

    name = "resnet"

    def __init__(self, depth: int, width: int = 8, **options: Any) -> None:
        super().__init__(depth, width, **options)

    def _make_block(self) -> nn.Module:
        return ResidualBlock(self.width)


class PlainCNN(DigitClassifier):
    """Digit classifier with ``depth`` :class:`PlainBlock` s: no skips."""

    name = "plain"

    def __init__(self, depth: int, width: int = 8, **options: Any) -> None:
        super().__init__(depth, width, **options)

    def _make_block(self) -> nn.Module:
        return PlainBlock(self.width)


_CLASSES = {"pde": PDEOperatorNet, "resnet": ResNet, "plain": PlainCNN}
_BLOCK_PARAMS = {"pde": (6, 1), "resnet": (18, 2), "plain": (18, 2)}
_COMMON_OPTIONS = {"stride", "pool", "in_channels", "n_classes"}
_PDE_OPTIONS = {"tau", "h", "activation"}


def _check_name(name: Any) -> str:
    if name not in _CLASSES:
        raise ValueError(f"model name must be one of {MODEL_NAMES}, got {name!r}")
    return name


def parameter_count(
    name: str, depth: int, width: int, *, pool: int = 4, in_channels: int = 1,
    n_classes: int = 10,
) -> int:
    r"""Number of parameters of a model, from the formula (no model is built).

    .. math::

        P = (9 c_{\mathrm{in}} + 1) w + (p^2 w + 1) n_{\mathrm{cls}}
            + L \cdot \begin{cases} 6 w^2 + w & \text{pde} \\
            18 w^2 + 2 w & \text{resnet, plain} \end{cases}

    Raises
    ------
    ValueError
        For an unknown name or a bad size.
    """
    _check_name(name)
    depth = non_negative_int(depth, "depth")
    width = positive_int(width, "width")
    pool = positive_int(pool, "pool")
    a, b = _BLOCK_PARAMS[name]
    stem = (9 * positive_int(in_channels, "in_channels") + 1) * width
    head = (pool**2 * width + 1) * positive_int(n_classes, "n_classes")
    return stem + head + depth * (a * width**2 + b * width)


def matching_width(name: str, depth: int, n_parameters: int, **sizes: Any) -> int:
    """The width of model ``name`` whose parameter count is closest to a target.

    ``sizes`` (``pool``, ``in_channels``, ``n_classes``) are passed to
    :func:`parameter_count`; ties go to the smaller width.

    Raises
    ------
    ValueError
        For an unknown name or a non-positive target.
    """
    n_parameters = positive_int(n_parameters, "n_parameters")
    best = 1
    for w in range(1, 4097):
        count = parameter_count(name, depth, w, **sizes)
        if abs(count - n_parameters) < abs(
            parameter_count(name, depth, best, **sizes) - n_parameters
        ):
            best = w
        if count > n_parameters:
            break
    return best


def default_width(name: str, depth: int, **sizes: Any) -> int:
    """The width :func:`build_model` uses when none is given.

    ``"resnet"`` and ``"plain"``: :data:`BASE_WIDTH` (8). ``"pde"``: the width
    whose parameter count is closest to that of a residual network of width 8
    at the same depth (:func:`matching_width`; 13 at depths 4 to 12), so the
    three models compare at equal size.
    """
    _check_name(name)
    if name != "pde":
        return BASE_WIDTH
    target = parameter_count("resnet", depth, BASE_WIDTH, **sizes)
    return matching_width("pde", depth, target, **sizes)


def build_model(
    name: str, depth: int, width: int | None = None, *, seed: int | None = None,
    **options: Any,
) -> DigitClassifier:
    """Build one of the three classifiers.

    Parameters
    ----------
    name : str
        ``"pde"``, ``"resnet"`` or ``"plain"``.
    depth : int
        Number of blocks (>= 0).
    width : int or None
        Channels; ``None`` takes :func:`default_width`, which keeps the three
        parameter counts close (within about 10 % at depths 2 to 16).
    seed : int or None
        Seed of the initial weights (the global torch generator is left as it
        was); ``None`` draws from the global generator.
    **options
        ``stride``, ``pool``, ``in_channels``, ``n_classes`` for every model;
        ``tau``, ``h``, ``activation`` for ``"pde"`` only.

    Returns
    -------
    DigitClassifier

    Raises
    ------
    ValueError
        For an unknown name, a negative depth, or an option the model does not take.
    """
    _check_name(name)
    pde_only = _PDE_OPTIONS & set(options)
    if name != "pde" and pde_only:
        raise ValueError(
            f"option(s) {sorted(pde_only)} apply only to model 'pde', not {name!r}"
        )
    unknown = set(options) - _COMMON_OPTIONS - _PDE_OPTIONS
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)}; allowed: "
            f"{sorted(_COMMON_OPTIONS | _PDE_OPTIONS)}"
        )
    depth = non_negative_int(depth, "depth")
    if width is None:
        sizes = {k: v for k, v in options.items() if k in _COMMON_OPTIONS - {"stride"}}
        width = default_width(name, depth, **sizes)
    if seed is None:
        return _CLASSES[name](depth, width, **options)
    seed = non_negative_int(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _CLASSES[name](depth, width, **options)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (fixed stencil buffers are not counted)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def describe_model(model: nn.Module) -> str:
    """One line, e.g. ``ResNet(depth=4, width=8): 6,042 parameters``."""
    depth = getattr(model, "depth", "?")
    width = getattr(model, "width", "?")
    return (
        f"{type(model).__name__}(depth={depth}, width={width}): "
        f"{count_parameters(model):,} parameters"
    )


# ----------------------------------------------------------------------- gradients


def _loss_and_inputs(model: nn.Module, x: Any, y: Any):
    param = next(model.parameters())
    x = torch.as_tensor(x, dtype=param.dtype, device=param.device)
    y = torch.as_tensor(y, dtype=torch.int64, device=param.device)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x must be images (N, 1, H, W) and y labels (N,), got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    return F.cross_entropy(model(x), y)


def first_layer_gradient_norm(model: DigitClassifier, x: Any, y: Any) -> float:
    r"""Norm of the gradient of the loss with respect to the stem's weights.

    .. math::

        g = \Big\| \frac{\partial \ell}{\partial W_{\mathrm{stem}}} \Big\|_2,
        \qquad \ell = \frac1N \sum_n \mathrm{CE}(f(x_n), y_n),

    the mean cross-entropy of the batch. The gradient flows back through every
    block, so at initialisation it shrinks with depth for a plain network and
    stays of order one for a residual one. The model's ``.grad`` fields are not
    touched.

    Parameters
    ----------
    model : DigitClassifier
        Any model with a ``stem`` convolution.
    x : array_like or torch.Tensor
        Images, shape ``(N, 1, H, W)`` or ``(N, H, W)``.
    y : array_like or torch.Tensor
        Integer labels, shape ``(N,)``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes of ``x`` and ``y`` do not fit.
    """
    loss = _loss_and_inputs(model, x, y)
    (grad,) = torch.autograd.grad(loss, model.stem.weight)
    return float(grad.norm())


def layer_gradient_norms(model: DigitClassifier, x: Any, y: Any) -> list[float]:
    r"""Gradient norms of the stem, of every block and of the head, in order.

    Entry 0 is the stem's weight gradient norm (as
    :func:`first_layer_gradient_norm`), entries ``1..depth`` the norm of the
    gradient with respect to all parameters of each block, the last entry the
    head's. The model's ``.grad`` fields are not touched.
    """
    loss = _loss_and_inputs(model, x, y)
    groups = [[model.stem.weight]]
    groups += [list(block.parameters()) for block in model.blocks]
    groups += [[model.head.weight]]
    flat = [p for group in groups for p in group]
    grads = torch.autograd.grad(loss, flat)
    out, k = [], 0
    for group in groups:
        squares = sum(float(g.pow(2).sum()) for g in grads[k : k + len(group)])
        out.append(squares**0.5)
        k += len(group)
    return out
