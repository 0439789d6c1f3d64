r"""Gradients of residual and plain stacks, and how they split over paths.

A linear residual stack :math:`u_i = u_{i-1} + A_i u_{i-1}`, :math:`i = 1, \dots, n`,
has the Jacobian (its *propagator*)

.. math::

    P = \frac{\partial u_n}{\partial u_0} = (I + A_n)(I + A_{n-1}) \cdots (I + A_1),

while the plain stack :math:`u_i = A_i u_{i-1}` has :math:`A_n \cdots A_1`.
Multiplying out the residual product gives :math:`2^n` ordered products, one for
each subset of blocks (the *unravelled view*); grouping them by the number
:math:`k` of blocks a term passes through gives the path-length split

.. math::

    P = \sum_{k=0}^{n} P_k, \qquad
    \prod_{i=n}^{1} (I + z A_i) = \sum_{k=0}^{n} z^k P_k,

and :math:`P_k` is computed by multiplying polynomials in :math:`z` (dynamic
programming, :math:`O(n^2)` matrix products), never by enumerating subsets.

A ReLU network is linear at a fixed input: with the activation pattern
:math:`D_i = \operatorname{diag}(\mathbf 1[W_i h_{i-1} + a_i > 0])` of that input the
residual block :math:`h_i = h_{i-1} + g\,\operatorname{relu}(W_i h_{i-1} + a_i)` has
the Jacobian :math:`I + g D_i W_i`, so the same split applies to a trained ReLU
residual network, exactly, one input at a time (:class:`ReLUMLP`,
:func:`path_length_gradients`).

Conventions: matrices act on column vectors; block 1 acts first, so it stands
rightmost in every product. Everything is computed in the dtype of the input
(float64 for lists and numpy arrays) on the device of the input.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import as_float_array, non_negative_int, positive, positive_int
from .blocks import PlainBlock, ResidualBlock, Stack

__all__ = [
    "MAX_UNRAVELLED_BLOCKS",
    "MonteCarloEstimate",
    "ReLUMLP",
    "input_gradient_norm",
    "linear_stack",
    "norm_growth_monte_carlo",
    "path_length_gradients",
    "path_length_jacobians",
    "path_length_vjp",
    "plain_propagator",
    "propagator",
    "random_blocks",
    "unravelled_sum",
]

#: the most blocks :func:`unravelled_sum` enumerates (:math:`2^{16}` products).
MAX_UNRAVELLED_BLOCKS = 16
# the most numbers the products of :func:`unravelled_sum` may hold at once.
_MAX_UNRAVELLED_ENTRIES = 2**25


# ------------------------------------------------------------------ linear blocks


def _as_blocks(As: Any, name: str = "As") -> torch.Tensor:
    """A stack of square matrices as a tensor of shape ``(n, d, d)``.

    Tensors keep their device and floating dtype; everything else becomes float64
    on the CPU.
    """
    if isinstance(As, torch.Tensor):
        t = As.detach()
        if not t.is_floating_point():
            t = t.to(torch.float64)
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must contain only finite values")
    elif isinstance(As, (list, tuple)) and As and isinstance(As[0], torch.Tensor):
        t = torch.stack([torch.as_tensor(a).detach() for a in As])
        return _as_blocks(t, name)
    else:
        t = torch.from_numpy(as_float_array(As, name))
    if t.dim() != 3 or t.shape[1] != t.shape[2] or t.shape[1] < 1:
        raise ValueError(
            f"{name} must be a stack of square matrices, shape (n_blocks, d, d) with "
            f"d >= 1, got shape {tuple(t.shape)}"
        )
    return t


def _identity_like(As: torch.Tensor) -> torch.Tensor:
    return torch.eye(As.shape[-1], dtype=As.dtype, device=As.device)


def propagator(As: Any) -> torch.Tensor:
    r"""The Jacobian of a linear residual stack: :math:`\prod_{i=n}^{1}(I + A_i)`.

    The stack is :math:`u_i = u_{i-1} + A_i u_{i-1}`, :math:`i = 1..n`, so

    .. math:: P = \frac{\partial u_n}{\partial u_0} = (I + A_n) \cdots (I + A_1).

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. The residual branches :math:`A_1, \dots, A_n`
        (block 1 acts first). ``n = 0`` gives the identity.

    Returns
    -------
    torch.Tensor
        Shape ``(d, d)``.

    Raises
    ------
    ValueError
        If ``As`` is not a finite stack of square matrices.
    """
    As = _as_blocks(As)
    P = _identity_like(As)
    for A in As:
        P = P + A @ P
    return P


def plain_propagator(As: Any) -> torch.Tensor:
    r"""The Jacobian of a linear plain stack: :math:`A_n A_{n-1} \cdots A_1`.

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. The layers (block 1 acts first); ``n = 0`` gives
        the identity.

    Returns
    -------
    torch.Tensor
        Shape ``(d, d)``.

    Raises
    ------
    ValueError
        If ``As`` is not a finite stack of square matrices.
    """
    As = _as_blocks(As)
    P = _identity_like(As)
    for A in As:
        P = A @ P
    return P


def linear_stack(As: Any, residual: bool = True) -> Stack:
    r"""The linear stack of the blocks ``As`` as a torch module.

    Block :math:`i` maps :math:`u \mapsto u + A_i u` (``residual=True``, a
    :class:`pathint_lib.blocks.ResidualBlock` with :math:`\tau = 1` around a
    bias-free ``nn.Linear``) or :math:`u \mapsto A_i u` (a
    :class:`pathint_lib.blocks.PlainBlock`). Its Jacobian is :func:`propagator`
    or :func:`plain_propagator`; the module lets autograd confirm that.

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. Block 1 first.
    residual : bool, optional
        Default ``True``.

    Returns
    -------
    pathint_lib.blocks.Stack
        In the dtype and on the device of ``As`` (float64 on the CPU for lists
        and numpy arrays); it acts on vectors ``(d,)`` or batches ``(N, d)``.

    Raises
    ------
    ValueError
        If ``As`` is not a finite stack of square matrices.
    """
    As = _as_blocks(As)
    d = As.shape[-1]
    layers = []
    for A in As:
        f = nn.Linear(d, d, bias=False, dtype=As.dtype, device=As.device)
        with torch.no_grad():
            f.weight.copy_(A)
        layers.append(ResidualBlock(f, tau=1.0) if residual else PlainBlock(f))
    return Stack.from_blocks(layers)


def unravelled_sum(As: Any, by_length: bool = False) -> torch.Tensor:
    r"""The sum of all :math:`2^n` ordered subset products (the unravelled view).

    .. math::

        \sum_{S \subseteq \{1..n\}} A_{s_k} \cdots A_{s_1}
        \quad (s_1 < \dots < s_k), \qquad \text{which equals }
        \prod_{i=n}^{1} (I + A_i).

    Every product is formed explicitly: the products of the subsets whose last
    block is :math:`j` are :math:`A_j` times the products of the subsets of
    :math:`\{1..j-1\}`, so the :math:`2^n` terms take :math:`n` batched matrix
    products. The empty subset contributes :math:`I`. This is the brute-force
    reference; :func:`path_length_jacobians` gets the same sums by length in
    polynomial time.

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. The residual branches, block 1 first.
    by_length : bool, optional
        Return the sums grouped by the number :math:`k` of blocks in the subset
        (shape ``(n + 1, d, d)``, entry ``k`` sums the :math:`\binom{n}{k}` terms of
        length :math:`k`) instead of the total.
        Default ``False``.

    Returns
    -------
    torch.Tensor
        Shape ``(d, d)``, or ``(n + 1, d, d)`` with ``by_length=True``.

    Raises
    ------
    ValueError
        If ``n > MAX_UNRAVELLED_BLOCKS`` (16) or the :math:`2^n` products would not
        fit in memory: use :func:`path_length_jacobians`, which needs no
        enumeration. Also if ``As`` is not a finite stack of square matrices.
    """
    As = _as_blocks(As)
    n, d = As.shape[0], As.shape[-1]
    if n > MAX_UNRAVELLED_BLOCKS:
        raise ValueError(
            f"unravelled_sum enumerates all 2^n subset products; n = {n} blocks is "
            f"more than {MAX_UNRAVELLED_BLOCKS} (2^{n} terms). Use "
            "path_length_jacobians(As), which gives the same sums grouped by path "
            "length without enumerating"
        )
    if 2**n * d * d > _MAX_UNRAVELLED_ENTRIES:
        raise ValueError(
            f"unravelled_sum would hold 2^{n} products of {d}x{d} matrices "
            f"({2**n * d * d:,} numbers, more than {_MAX_UNRAVELLED_ENTRIES:,}); use "
            "path_length_jacobians(As) instead"
        )
    # products[m] is the ordered product of the subset whose bit mask is m.
    products = _identity_like(As).unsqueeze(0)
    for A in As:
        products = torch.cat([products, A @ products])
    if not by_length:
        return products.sum(dim=0)
    masks = torch.arange(2**n, device=As.device)
    lengths = torch.zeros_like(masks)
    for j in range(n):
        lengths += (masks >> j) & 1
    out = torch.zeros((n + 1, d, d), dtype=As.dtype, device=As.device)
    return out.index_add_(0, lengths, products)


def path_length_jacobians(As: Any) -> torch.Tensor:
    r"""The Jacobian of a residual stack split by path length.

    :math:`P_k` is the coefficient of :math:`z^k` in

    .. math:: \prod_{i=n}^{1} (I + z A_i) = \sum_{k=0}^{n} z^k P_k,

    the sum of the :math:`\binom{n}{k}` ordered products of :math:`k` of the blocks.
    The polynomial is multiplied out one block at a time,
    :math:`P_k \leftarrow P_k + A_i P_{k-1}`, which costs :math:`O(n^2)` matrix
    products instead of the :math:`2^n` of :func:`unravelled_sum`. The parts add
    up to :func:`propagator`.

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. The residual branches, block 1 first. For a ReLU
        residual network at a fixed input they are :math:`g D_i W_i` (see
        :meth:`ReLUMLP.block_jacobians`).

    Returns
    -------
    torch.Tensor
        Shape ``(n + 1, d, d)``. Entry ``k`` is :math:`P_k`; entry 0 is the
        identity (the path through no block).

    Raises
    ------
    ValueError
        If ``As`` is not a finite stack of square matrices.
    """
    As = _as_blocks(As)
    n = As.shape[0]
    P = torch.zeros((n + 1,) + tuple(As.shape[1:]), dtype=As.dtype, device=As.device)
    P[0] = _identity_like(As)
    for i, A in enumerate(As):
        # only lengths 1..i+1 change; use the old P_{k-1} (computed on the right)
        P[1 : i + 2] = P[1 : i + 2] + A @ P[0 : i + 1]
    return P


def path_length_vjp(As: Any, g: Any, skip: bool = True) -> torch.Tensor:
    r"""A vector-Jacobian product :math:`g^\top P` split by path length.

    Returns the row vectors :math:`g^\top P_k`, :math:`k = 0..n`, of
    :func:`path_length_jacobians`, computed from the output side,
    :math:`c_k \leftarrow c_k + c_{k-1} A_i` for :math:`i = n, \dots, 1`, at the
    cost of :math:`O(n^2)` vector-matrix products. With ``skip=False`` the stack is
    plain: only :math:`c_n = g^\top A_n \cdots A_1` is non-zero.

    Parameters
    ----------
    As : array_like
        Shape ``(n, d, d)``. The blocks, block 1 first.
    g : array_like
        Shape ``(d,)``. The gradient at the output (e.g.
        :math:`\partial \ell / \partial u_n`).
    skip : bool, optional
        Residual (``True``) or plain (``False``) blocks.
        Default ``True``.

    Returns
    -------
    torch.Tensor
        Shape ``(n + 1, d)``.

    Raises
    ------
    ValueError
        If the shapes do not fit or a value is not finite.
    """
    As = _as_blocks(As)
    if isinstance(g, torch.Tensor):
        g = g.detach().to(dtype=As.dtype, device=As.device)
    else:
        g = torch.as_tensor(as_float_array(g, "g"), dtype=As.dtype, device=As.device)
    if g.shape != (As.shape[-1],):
        raise ValueError(
            f"g must have shape ({As.shape[-1]},) to match the blocks, "
            f"got {tuple(g.shape)}"
        )
    n = As.shape[0]
    c = torch.zeros((n + 1, As.shape[-1]), dtype=As.dtype, device=As.device)
    c[0] = g
    for A in torch.flip(As, dims=(0,)):
        shifted = torch.zeros_like(c)
        shifted[1:] = c[:-1] @ A
        c = c + shifted if skip else shifted
    return c


def random_blocks(
    n_blocks: int,
    dim: int,
    sigma: float = 1.0,
    seed: int = 0,
    *,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Random blocks with iid :math:`\mathcal N(0, \sigma^2/d)` entries.

    With them :math:`\mathbb E\,\|(I + A)v\|^2 = (1 + \sigma^2)\|v\|^2` and
    :math:`\mathbb E\,\|A v\|^2 = \sigma^2 \|v\|^2` for every fixed :math:`v`.

    Parameters
    ----------
    n_blocks : int
        Number of blocks :math:`n \ge 0`.
    dim : int
        Size :math:`d \ge 1` of each square block.
    sigma : float, optional
        Scale :math:`\sigma > 0`.
        Default ``1.0``.
    seed : int, optional
        Seed of a private generator (the global random state is left alone); the
        numbers are drawn on the CPU, so they do not depend on the device.
        Default ``0``.
    device : torch.device, str or None
        Where the result lives (``None``: the CPU).

    Returns
    -------
    torch.Tensor
        Shape ``(n_blocks, dim, dim)``, float64.

    Raises
    ------
    ValueError
        If a size or the seed is negative, ``dim < 1`` or ``sigma <= 0``.
    """
    n_blocks = non_negative_int(n_blocks, "n_blocks")
    dim = positive_int(dim, "dim")
    sigma = positive(sigma, "sigma")
    seed = non_negative_int(seed, "seed")
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn((n_blocks, dim, dim), generator=gen, dtype=torch.float64)
    return (sigma / np.sqrt(dim) * A).to(device if device is not None else "cpu")


@dataclasses.dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo mean with its standard error.

    Attributes
    ----------
    mean : float
        The sample mean.
    stderr : float
        The standard error of the mean, sample standard deviation / sqrt(n).
    n_samples : int
        Number of independent samples.
    """

    mean: float
    stderr: float
    n_samples: int

    def z_score(self, expected: float) -> float:
        """``(mean - expected) / stderr``: how many standard errors off ``expected``."""
        return (self.mean - float(expected)) / self.stderr


def norm_growth_monte_carlo(
    depth: int,
    dim: int,
    sigma: float = 1.0,
    n_samples: int = 20_000,
    seed: int = 0,
    *,
    residual: bool = True,
    device: torch.device | str | None = None,
) -> MonteCarloEstimate:
    r"""Estimate :math:`\mathbb E\,\|P v\|^2 / \|v\|^2` over random blocks.

    Each sample draws fresh blocks :math:`A_1..A_L` with iid
    :math:`\mathcal N(0, \sigma^2/d)` entries and a fixed unit vector
    :math:`v = e_1`, and records :math:`\|P v\|^2` with
    :math:`P = \prod (I + A_i)` (``residual=True``) or :math:`\prod A_i`.
    The exact values are :math:`(1 + \sigma^2)^L` and :math:`\sigma^{2L}`.

    Parameters
    ----------
    depth : int
        :math:`L \ge 0`.
    dim : int
        :math:`d \ge 1`.
    sigma : float, optional
        Default ``1.0``.
    n_samples : int, optional
        Number of independent stacks, >= 2.
        Default ``20000``.
    seed : int, optional
        Default ``0``.
    residual : bool, optional
        Default ``True``.
    device : torch.device, str or None
        Where the sampling runs (``None``: the CPU); float64 throughout.

    Returns
    -------
    MonteCarloEstimate

    Raises
    ------
    ValueError
        If ``n_samples < 2`` or another argument is out of range.

    Notes
    -----
    :math:`\|Pv\|^2` is heavy-tailed for large :math:`L\sigma^2/d`; the standard
    error is then itself noisy. Keep :math:`L \sigma^2` moderate.
    """
    depth = non_negative_int(depth, "depth")
    dim = positive_int(dim, "dim")
    sigma = positive(sigma, "sigma")
    n_samples = positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(
            f"n_samples must be >= 2 for a standard error, got {n_samples}"
        )
    seed = non_negative_int(seed, "seed")
    device = torch.device(device if device is not None else "cpu")
    gen = torch.Generator(device=device).manual_seed(seed)
    v = torch.zeros((n_samples, dim, 1), dtype=torch.float64, device=device)
    v[:, 0] = 1.0
    scale = sigma / np.sqrt(dim)
    for _ in range(depth):
        A = torch.randn(
            (n_samples, dim, dim), generator=gen, dtype=torch.float64, device=device
        )
        Av = scale * (A @ v)
        v = v + Av if residual else Av
    sq = (v**2).sum(dim=(1, 2))
    return MonteCarloEstimate(
        mean=float(sq.mean()),
        stderr=float(sq.std(unbiased=True)) / float(np.sqrt(n_samples)),
        n_samples=n_samples,
    )


# ------------------------------------------------------------ ReLU residual MLP


class ReLUMLP(nn.Module):
    r"""A small ReLU multilayer perceptron for digit images, residual or plain.

    .. math::

        h_0 &= E\,x + e, \\
        h_i &= h_{i-1} + g\,\operatorname{relu}(W_i h_{i-1} + a_i)
            \quad\text{(residual)}, \qquad
        h_i = \operatorname{relu}(W_i h_{i-1} + a_i) \quad\text{(plain)}, \\
        \text{logits} &= C\,h_L + c,

    for :math:`i = 1..L`, where :math:`x` is the image average-pooled by ``pool``
    and flattened (a 28 x 28 digit with ``pool=2`` gives 196 inputs). At a fixed
    input the block Jacobians are :math:`I + g D_i W_i` (residual) and
    :math:`D_i W_i` (plain), with :math:`D_i` the diagonal 0/1 activation pattern.

    Parameters
    ----------
    depth : int
        Number of blocks :math:`L \ge 0`.
    width : int, optional
        Hidden size :math:`w`.
        Default ``64``.
    gain : float, optional
        Residual-branch gain :math:`g > 0` (ignored by a plain network).
        Default ``1.0``.
    residual : bool, optional
        Default ``True``.
    weight_std : float, optional
        :math:`W_i` starts with iid :math:`\mathcal N(0, \sigma_W^2/w)` entries; the
        default is He's initialisation, under which a ReLU layer keeps the mean
        square of its input. Biases start at 0.
        Default ``sqrt(2)``.
    image_size : int, optional
        Default ``28``.
    pool : int, optional
        Average-pooling factor; must divide ``image_size``.
        Default ``2``.
    n_classes : int, optional
        Default ``10``.
    seed : int, optional
        Seed of a private generator for the initial weights.
        Default ``0``.
    dtype : torch.dtype, optional
        Default ``torch.float32``.

    Raises
    ------
    ValueError
        If a size is out of range or ``pool`` does not divide ``image_size``.
    """

    def __init__(
        self,
        depth: int,
        width: int = 64,
        gain: float = 1.0,
        residual: bool = True,
        *,
        weight_std: float = float(np.sqrt(2.0)),
        image_size: int = 28,
        pool: int = 2,
        n_classes: int = 10,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.depth = non_negative_int(depth, "depth")
        self.width = positive_int(width, "width")
        self.gain = positive(gain, "gain")
        self.residual = bool(residual)
        self.weight_std = positive(weight_std, "weight_std")
        self.image_size = positive_int(image_size, "image_size")
        self.pool = positive_int(pool, "pool")
        if self.image_size % self.pool:
            raise ValueError(
                f"pool must divide image_size, got pool={self.pool}, "
                f"image_size={self.image_size}"
            )
        self.n_in = (self.image_size // self.pool) ** 2
        n_classes = positive_int(n_classes, "n_classes")
        gen = torch.Generator().manual_seed(non_negative_int(seed, "seed"))

        def linear(n_in: int, n_out: int, std: float) -> nn.Linear:
            layer = nn.Linear(n_in, n_out, dtype=dtype)
            with torch.no_grad():
                w = torch.randn((n_out, n_in), generator=gen, dtype=torch.float64)
                layer.weight.copy_(std / np.sqrt(n_in) * w)
                layer.bias.zero_()
            return layer

        self.embed = linear(self.n_in, self.width, 1.0)
        self.layers = nn.ModuleList(
            linear(self.width, self.width, self.weight_std) for _ in range(self.depth)
        )
        self.head = linear(self.width, n_classes, 1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`h_0`: pool and flatten images ``(N, 1, H, W)``, then embed.

        Input already flat, shape ``(N, n_in)``, is embedded as it is.
        """
        if x.dim() == 4:
            if self.pool > 1:
                x = F.avg_pool2d(x, self.pool)
            x = x.flatten(1)
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"x must be images (N, 1, {self.image_size}, {self.image_size}) or "
                f"flat inputs (N, {self.n_in}), got shape {tuple(x.shape)}"
            )
        return self.embed(x)

    def block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Block ``i`` (0-based) applied to ``h``."""
        branch = F.relu(self.layers[i](h))
        return h + self.gain * branch if self.residual else branch

    def stack(self, h: torch.Tensor) -> torch.Tensor:
        r"""The blocks alone: :math:`h_0 \mapsto h_L`."""
        for i in range(self.depth):
            h = self.block(i, h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits ``(N, n_classes)`` of images or flat inputs ``x``."""
        return self.head(self.stack(self.features(x)))

    def activation_patterns(self, x: torch.Tensor) -> torch.Tensor:
        r"""The 0/1 activation patterns :math:`D_i` at the inputs ``x``.

        Returns
        -------
        torch.Tensor
            Shape ``(N, depth, width)``. Entry ``[n, i, j]`` is 1 where unit ``j``
            of block ``i + 1`` is active (pre-activation > 0) for input ``n``.
        """
        h = self.features(x)
        patterns = []
        for i in range(self.depth):
            patterns.append((self.layers[i](h) > 0).to(h.dtype))
            h = self.block(i, h)
        if not patterns:
            return h.new_zeros((h.shape[0], 0, self.width))
        return torch.stack(patterns, dim=1)

    def block_jacobians(self, x: torch.Tensor) -> torch.Tensor:
        r"""The branch Jacobians :math:`A_i` at one input.

        :math:`A_i = g D_i W_i` for a residual network (its block Jacobian is
        :math:`I + A_i`), :math:`A_i = D_i W_i` for a plain one (block Jacobian
        :math:`A_i`).

        Parameters
        ----------
        x : torch.Tensor
            One input, shape ``(1, 1, H, W)`` or ``(1, n_in)``.

        Returns
        -------
        torch.Tensor
            Shape ``(depth, width, width)``.

        Raises
        ------
        ValueError
            If ``x`` holds more than one input.
        """
        if x.shape[0] != 1:
            raise ValueError(f"x must hold one input, got a batch of {x.shape[0]}")
        with torch.no_grad():
            d = self.activation_patterns(x)[0]
            if self.depth == 0:
                return d.new_zeros((0, self.width, self.width))
            W = torch.stack([layer.weight for layer in self.layers])
            scale = self.gain if self.residual else 1.0
            return scale * d.unsqueeze(-1) * W

    def extra_repr(self) -> str:
        kind = f"residual, gain={self.gain:g}" if self.residual else "plain"
        return f"depth={self.depth}, width={self.width}, {kind}, n_in={self.n_in}"


def _output_gradient(model: ReLUMLP, x: torch.Tensor, y: torch.Tensor) -> tuple:
    """:math:`h_0` and the per-sample gradient at :math:`h_L`."""
    h0 = model.features(x).detach()
    hL = model.stack(h0).detach().requires_grad_(True)
    loss = F.cross_entropy(model.head(hL), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, hL)
    return h0, g


def path_length_gradients(
    model: ReLUMLP, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r"""The input-side gradient of each example, split by path length.

    For input :math:`x` with label :math:`y` and loss
    :math:`\ell = \text{cross-entropy}(\text{logits}, y)`, let
    :math:`g = \partial\ell/\partial h_L`. The gradient at :math:`h_0` is
    :math:`g^\top \prod_{i=L}^{1} (I + g_{\text{res}} D_i W_i)`; its length-:math:`k`
    part is :math:`g^\top P_k` (:func:`path_length_vjp`), computed for the whole
    batch at once from the activation patterns, without forming :math:`P_k`. For a
    plain network only :math:`k = L` is non-zero. The parts add up to the autograd
    gradient :math:`\partial \ell / \partial h_0`.

    Parameters
    ----------
    model : ReLUMLP
    x : torch.Tensor
        Inputs, ``(N, 1, H, W)`` or ``(N, n_in)``, in the model's dtype.
    y : torch.Tensor
        Integer labels, shape ``(N,)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, depth + 1, width)``. Entry ``[n, k]`` is the length-``k`` part of
        :math:`\partial \ell_n / \partial h_0`.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`ReLUMLP`.
    ValueError
        If ``x`` and ``y`` differ in length.
    """
    if not isinstance(model, ReLUMLP):
        raise TypeError(f"model must be a ReLUMLP, got {type(model).__name__}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must hold the same number of examples, got {x.shape[0]} "
            f"and {y.shape[0]}"
        )
    with torch.enable_grad():
        _, g = _output_gradient(model, x, y)
    with torch.no_grad():
        d = model.activation_patterns(x)
        L = model.depth
        c = g.new_zeros((g.shape[0], L + 1, model.width))
        c[:, 0] = g
        scale = model.gain if model.residual else 1.0
        for i in reversed(range(L)):
            # c_{k-1} A_i with A_i = scale * D_i W_i, for every example at once
            W = model.layers[i].weight
            shifted = torch.zeros_like(c)
            shifted[:, 1:] = scale * (c[:, :-1] * d[:, i].unsqueeze(1)) @ W
            c = c + shifted if model.residual else shifted
    return c


def input_gradient_norm(model: ReLUMLP, x: torch.Tensor, y: torch.Tensor) -> float:
    r"""Root mean square over the batch of :math:`\|\partial\ell_n/\partial h_0\|`.

    :math:`\ell_n` is the cross-entropy of example :math:`n`; :math:`h_0` is the
    embedded input, so this is the gradient that reaches the first layer after
    passing through all :math:`L` blocks.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`ReLUMLP`.
    """
    if not isinstance(model, ReLUMLP):
        raise TypeError(f"model must be a ReLUMLP, got {type(model).__name__}")
    with torch.enable_grad():
        h0 = model.features(x).detach().requires_grad_(True)
        loss = F.cross_entropy(model.head(model.stack(h0)), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, h0)
    return float(grad.pow(2).sum(dim=1).mean().sqrt())
