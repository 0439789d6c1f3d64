"""pathint_lib: the support library of the book *Residual networks as path integrals*.

Small modules, one idea each:

``device``       picking cuda, mps or cpu; the dtype policy (float64 for checks)
``checks``       checks that raise, used by every chapter
``stencils``     moment matrices, kernels from moments, standard stencils
``pde``          residual kernel <-> (D, b, c), stability, exact reference solutions
``blocks``       torch modules: residual, plain and convolution blocks and stacks
``ode``          ODE flows: an RK4 reference, log-log slopes, residual stack vs flow
``paths``        lattice path counts, sums, enumeration, action, Monte Carlo paths
``propagators``  continuum kernels, Feynman-Kac estimates, discrete/continuum action
``symbolic``     the sympy derivations the chapters share
``gradients``    Jacobians of residual stacks as path sums; the unravelled view
``data``         the real handwritten-digit data, offline
``models``       digit classifiers: PDE-operator network, ResNet, plain CNN
``train``        a small training loop with a progress bar
``widgets``      ipywidgets front ends over pure functions of the modules above
``explorable``   kernel-free explorables: pre-rendered frames behind sliders
``claims``       the registry of checked claims behind ``python -m pathint_lib verify``
``plotting``     the figure style of the book

Submodules are imported on first use, so ``import pathint_lib`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "device",
    "checks",
    "stencils",
    "pde",
    "blocks",
    "ode",
    "gradients",
    "models",
    "paths",
    "propagators",
    "symbolic",
    "data",
    "train",
    "widgets",
    "explorable",
    "plotting",
    "claims",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pathint_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
