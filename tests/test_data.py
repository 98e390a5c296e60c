"""MNIST loading, splitting, scaling and batching (minigan/tools/data).

The shipped file is checked against the facts in minigan/tools/data/README.md; the IDX reader and every
error path run on tiny files written into ``tmp_path``.
"""

import gzip
import hashlib
import os
import struct
import zipfile

import numpy
import pytest

from minigan.tools.data import (
    IDX_FILES, MNIST_SHA256, SHIPPED_PATH, DataError, DataLoader, array_sha256, is_known_mnist, load_mnist,
    minibatches, read_mnist,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def shipped():
    """The four stored arrays of the shipped file, read (and checksummed) once for the module."""
    return read_mnist()


# ----- the shipped file -------------------------------------------------------------------------
def test_shipped_file_has_the_documented_layout_and_facts(shipped):
    assert shipped["x_train"].shape == (60000, 28, 28) and shipped["x_train"].dtype == numpy.uint8
    assert shipped["x_test"].shape == (10000, 28, 28) and shipped["x_test"].dtype == numpy.uint8
    assert shipped["y_train"].shape == (60000,) and shipped["y_test"].shape == (10000,)
    assert numpy.bincount(shipped["y_train"], minlength=10).tolist() == TRAIN_COUNTS
    assert numpy.bincount(shipped["y_test"], minlength=10).tolist() == TEST_COUNTS
    assert shipped["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert shipped["y_test"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert shipped["x_train"].mean(dtype=numpy.float64) == pytest.approx(33.318421449829934, rel=1e-12)
    assert shipped["x_train"].min() == 0 and shipped["x_train"].max() == 255
    assert array_sha256(shipped) == MNIST_SHA256 and is_known_mnist(shipped)


def test_shipped_file_hash_is_the_one_in_the_readme():
    with open(SHIPPED_PATH, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    assert digest == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
    assert os.path.isfile(os.path.join(os.path.dirname(SHIPPED_PATH), "README.md"))


@pytest.mark.parametrize(
    "split, size, first_labels",
    [("train", 50000, [5, 0, 4]), ("validation", 10000, None), ("test", 10000, [7, 2, 1]), ("all_train", 60000, [5, 0, 4])],
)
def test_splits_have_the_documented_sizes(shipped, split, size, first_labels):
    images, labels = load_mnist(split=split, scale=None, verify=False)
    assert images.shape == (size, 28, 28, 1) and images.dtype == numpy.uint8
    assert labels.shape == (size,) and labels.dtype == numpy.int64
    if first_labels:
        assert labels[:3].tolist() == first_labels
    if split == "validation":  # the last 10000 training images, in order
        numpy.testing.assert_array_equal(images[..., 0], shipped["x_train"][50000:])
        numpy.testing.assert_array_equal(labels, shipped["y_train"][50000:])


def test_validation_label_counts_are_the_all_train_counts_minus_train():
    _, train = load_mnist(split="train", scale=None)
    _, validation = load_mnist(split="validation", scale=None)
    assert (numpy.bincount(train, minlength=10) + numpy.bincount(validation, minlength=10)).tolist() == TRAIN_COUNTS


@pytest.mark.parametrize("scale, low, high", [("tanh", -1.0, 1.0), ("sigmoid", 0.0, 1.0)])
def test_scaling_reaches_both_ends_of_the_range_exactly(scale, low, high):
    images, _ = load_mnist(split="test", scale=scale)
    assert images.dtype == numpy.float32 and images.shape == (10000, 28, 28, 1)
    assert images.min() == low and images.max() == high
    raw, _ = load_mnist(split="test", scale=None)
    numpy.testing.assert_allclose(images[:500], low + (high - low) * raw[:500] / 255.0, rtol=0, atol=1e-6)


def test_bad_split_and_scale_are_refused_by_name():
    with pytest.raises(DataError, match="split must be one of.*'valid'"):
        load_mnist(split="valid")
    with pytest.raises(DataError, match="scale must be.*'relu'"):
        load_mnist(scale="relu")


# ----- tiny files for the readers ------------------------------------------------------------------
def tiny_mnist(n_train=6, n_test=4, seed=0):
    rng = numpy.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=numpy.uint8),
        "y_train": rng.integers(0, 10, size=n_train, dtype=numpy.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=numpy.uint8),
        "y_test": rng.integers(0, 10, size=n_test, dtype=numpy.uint8),
    }
    arrays["x_train"][0, 0, 0], arrays["x_train"][0, 0, 1] = 0, 255  # both extremes present
    return arrays


def idx_bytes(array, magic):
    """An IDX file: big-endian magic, big-endian uint32 sizes, then the bytes."""
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx_directory(directory, arrays, overrides=None):
    for key, name in IDX_FILES.items():
        data = idx_bytes(arrays[key], 2051 if key.startswith("x") else 2049)
        data = (overrides or {}).get(key, data)
        with gzip.open(directory / name, "wb") as handle:
            handle.write(data)
    return directory


def test_idx_directory_loads_like_the_arrays_it_was_written_from(tmp_path):
    arrays = tiny_mnist()
    write_idx_directory(tmp_path, arrays)
    loaded = read_mnist(tmp_path)
    for key in arrays:
        numpy.testing.assert_array_equal(loaded[key], arrays[key])
        assert loaded[key].dtype == numpy.uint8
    assert not is_known_mnist(loaded)  # a variant: accepted, and reported as not the real MNIST
    images, labels = load_mnist(tmp_path, split="all_train", scale="tanh")
    assert images.shape == (6, 28, 28, 1) and images.min() == -1.0 and images.max() == 1.0
    numpy.testing.assert_array_equal(labels, arrays["y_train"].astype(numpy.int64))
    images, _ = load_mnist(str(tmp_path), split="test", scale="sigmoid")
    numpy.testing.assert_allclose(images[..., 0], arrays["x_test"] / 255.0, atol=1e-7)


def test_unpacked_idx_files_are_read_too(tmp_path):
    arrays = tiny_mnist()
    for key, name in IDX_FILES.items():
        (tmp_path / name[: -len(".gz")]).write_bytes(idx_bytes(arrays[key], 2051 if key.startswith("x") else 2049))
    numpy.testing.assert_array_equal(read_mnist(tmp_path)["x_test"], arrays["x_test"])


def test_a_user_npz_variant_is_accepted(tmp_path):
    arrays = tiny_mnist()
    numpy.savez(tmp_path / "mine.npz", **arrays)
    images, labels = load_mnist(tmp_path / "mine.npz", split="test", scale="sigmoid")
    assert images.shape == (4, 28, 28, 1) and labels.tolist() == arrays["y_test"].tolist()


def test_an_empty_split_of_a_small_variant_is_an_error(tmp_path):
    numpy.savez(tmp_path / "mine.npz", **tiny_mnist())
    with pytest.raises(DataError, match="split 'validation' is empty.*6 training images"):
        load_mnist(tmp_path / "mine.npz", split="validation")


# ----- error paths: each raises DataError naming the problem ----------------------------------------
def test_missing_path_says_where_it_looked_and_what_it_expects(tmp_path):
    with pytest.raises(DataError, match=r"no MNIST data at .*nowhere\.npz.*x_train.*train-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path / "nowhere.npz")


def test_garbage_bytes_are_not_an_npz(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"this is not a zip archive at all" * 10)
    with pytest.raises(DataError, match="cannot read MNIST.*not an .npz file.*b'PK'"):
        load_mnist(tmp_path / "mnist.npz")


def test_a_truncated_npz_is_reported_as_damaged(tmp_path):
    numpy.savez(tmp_path / "full.npz", **tiny_mnist())
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot read MNIST.*damaged or unreadable .npz"):
        load_mnist(tmp_path / "cut.npz")


def test_a_zip_that_is_not_an_npz_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "notes.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match="not a .npy array"):
        load_mnist(tmp_path / "notes.npz")


def test_npz_missing_a_key_names_it(tmp_path):
    arrays = tiny_mnist()
    del arrays["y_test"]
    numpy.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DataError, match="missing the key\\(s\\) y_test.*found x_test, x_train, y_train"):
        load_mnist(tmp_path / "mnist.npz")


@pytest.mark.parametrize(
    "key, bad, message",
    [
        ("x_train", numpy.zeros((6, 28, 27), numpy.uint8), r"x_train must be uint8 images of shape \(n, 28, 28\), found dtype uint8 and shape \(6, 28, 27\)"),
        ("x_test", numpy.zeros((4, 28, 28), numpy.float32), r"x_test must be uint8 .*found dtype float32"),
        ("y_train", numpy.zeros((6, 1), numpy.uint8), r"y_train must be uint8 labels of shape \(n,\), found dtype uint8 and shape \(6, 1\)"),
        ("y_test", numpy.zeros(3, numpy.uint8), r"x_test has 4 images but y_test has 3 labels"),
        ("y_train", numpy.full(6, 10, numpy.uint8), r"labels must be digits 0..9, found the value 10"),
    ],
)
def test_wrong_shapes_dtypes_and_values_are_named(tmp_path, key, bad, message):
    arrays = tiny_mnist()
    arrays[key] = bad
    numpy.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DataError, match=message):
        read_mnist(tmp_path / "mnist.npz")


def test_bad_idx_magic_number(tmp_path):
    arrays = tiny_mnist()
    wrong = idx_bytes(arrays["y_train"], 2051)  # a labels file claiming to hold images
    write_idx_directory(tmp_path, arrays, overrides={"y_train": wrong})
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*magic number 2051.*expected 2049.*labels"):
        read_mnist(tmp_path)


def test_truncated_idx_data(tmp_path):
    arrays = tiny_mnist()
    cut = idx_bytes(arrays["x_train"], 2051)[:-100]
    write_idx_directory(tmp_path, arrays, overrides={"x_train": cut})
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.* is truncated.*shape \(6, 28, 28\).*4704 data bytes.*found 4604"):
        read_mnist(tmp_path)


def test_truncated_idx_header_and_truncated_gzip(tmp_path):
    arrays = tiny_mnist()
    write_idx_directory(tmp_path, arrays, overrides={"x_test": struct.pack(">II", 2051, 4)})
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz.* is truncated: expected a 16-byte header, found 8"):
        read_mnist(tmp_path)
    write_idx_directory(tmp_path, arrays)
    path = tmp_path / IDX_FILES["y_test"]
    path.write_bytes(path.read_bytes()[:-12])  # cut the gzip stream itself
    with pytest.raises(DataError, match="cannot read the IDX file .*t10k-labels"):
        read_mnist(tmp_path)


def test_directory_missing_idx_files_lists_them(tmp_path):
    write_idx_directory(tmp_path, tiny_mnist())
    (tmp_path / IDX_FILES["x_test"]).unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte.gz"):
        read_mnist(tmp_path)


def test_a_damaged_shipped_file_fails_its_checksum(monkeypatch, tmp_path):
    arrays = tiny_mnist()
    numpy.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setattr("minigan.tools.data.mnist.SHIPPED_PATH", str(tmp_path / "mnist.npz"))
    with pytest.raises(DataError, match="shipped MNIST file .* is damaged: sha256 of x_train, y_train, x_test, y_test .*reinstall"):
        read_mnist()
    read_mnist(verify=False)  # the layout is right, so without verification it loads


# ----- minibatches ----------------------------------------------------------------------------------
def examples(n=10):
    return numpy.arange(n * 4, dtype=numpy.float32).reshape(n, 2, 2, 1)  # example i holds 4i..4i+3


def ids(batch):
    return (batch[:, 0, 0, 0] // 4).astype(int).tolist()


def test_minibatches_are_reproducible_for_a_seed_and_differ_for_another():
    first = [ids(b) for b in minibatches(examples(), 3, seed=7)]
    again = [ids(b) for b in minibatches(examples(), 3, seed=7)]
    other = [ids(b) for b in minibatches(examples(), 3, seed=8)]
    assert first == again and first != other
    assert [len(b) for b in first] == [3, 3, 3]  # drop_last: 10 = 3 * 3 + 1, the short batch is skipped


def test_minibatches_cover_every_example_once_per_epoch():
    rng = numpy.random.default_rng(0)
    epochs = [sum((ids(b) for b in minibatches(examples(12), 4, rng)), []) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(12))
    assert epochs[0] != epochs[1] != epochs[2]  # one generator: a new permutation each epoch
    kept = sum((ids(b) for b in minibatches(examples(10), 4, seed=1, drop_last=False)), [])
    assert sorted(kept) == list(range(10))


def test_minibatches_shuffle_labels_with_images():
    images, labels = examples(9), numpy.arange(9) * 10
    for batch, batch_labels in minibatches(images, 3, seed=0, labels=labels):
        assert (numpy.array(ids(batch)) * 10).tolist() == batch_labels.tolist()


def test_dataloader_new_order_each_epoch_reproducible_and_resumable():
    loader = DataLoader(examples(12), batch_size=4, seed=3)
    assert len(loader) == 3
    run = [[ids(b) for b in loader] for _ in range(3)]
    assert run[0] != run[1] and loader.epoch == 3
    for order in run:
        assert sorted(sum(order, [])) == list(range(12))
    assert [[ids(b) for b in DataLoader(examples(12), 4, seed=3)] for _ in range(1)][0] == run[0]
    resumed = DataLoader(examples(12), 4, seed=3)
    resumed.epoch = 2
    assert [ids(b) for b in resumed] == run[2]
    assert isinstance(DataLoader(examples(12), 4).seed, int)
    assert len(DataLoader(examples(10), 4, drop_last=False)) == 3


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4"])
def test_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        list(minibatches(examples(), batch_size, seed=0))


def test_batch_larger_than_the_data_and_mismatched_labels_are_refused():
    with pytest.raises(ValueError, match="batch_size 11 is larger than the 10 examples"):
        DataLoader(examples(), 11, seed=0)
    assert len(list(minibatches(examples(), 11, seed=0, drop_last=False))) == 1
    with pytest.raises(ValueError, match="labels has 3 entries but images has 10"):
        list(minibatches(examples(), 2, seed=0, labels=numpy.arange(3)))
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        list(minibatches(examples(), 2, seed="zero"))
    with pytest.raises(TypeError, match="drop_last must be True or False, got 'no'"):
        DataLoader(examples(), 2, seed=0, drop_last="no")  # a truthy string used to mean True
    with pytest.raises(TypeError, match=r"seed must be a non-negative int below 2\*\*64"):
        DataLoader(examples(), 2, seed=2**64)  # NumPy would take it (and any larger int)
