"""The figure style every chapter uses.

Figures are drawn on an opaque white background, so they stay readable when the
rendered book is switched to the theme's dark mode, and at a size and
resolution that keep the pages light.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["BOOK_STYLE", "use_book_style"]

#: rcParams applied by :func:`use_book_style`.
BOOK_STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": "medium",
    "font.size": 10,
    "legend.fontsize": "small",
    "figure.constrained_layout.use": True,
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to matplotlib's global settings."""
    mpl.rcParams.update(BOOK_STYLE)
