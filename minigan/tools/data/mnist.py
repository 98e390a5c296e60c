"""MNIST: read it (shipped file, your own ``mnist.npz``, or the raw IDX files), split, scale, batch.

The layout every model in minigan expects::

    images  (n, 28, 28, 1) float32, channels-last    flat MLP input: images.reshape(n, 784)
    labels  (n,)           int64, digits 0..9

Scaling (``scale=``) follows the generator's output layer, so real and fake images share a range:

    "tanh"     x / 127.5 - 1  in [-1, 1]   (DCGAN: the generator ends in tanh)
    "sigmoid"  x / 255        in [0, 1]    (the MLP GAN of Goodfellow et al. 2014 ends in a sigmoid)
    None       the stored uint8 bytes 0..255, unscaled

Everything here returns NumPy arrays. The caller moves a batch to the device
(``backend.get_backend().asarray(batch)``), so this module is the same on CPU and GPU.
"""

import gzip
import hashlib
import math
import os

import numpy

from minigan.engine.backend import SEED_LIMIT

from ..io import FileFormatError, load_npz


class DataError(ValueError):
    """A data set could not be read or is not what it should be; the message says what was expected and found."""


SHIPPED_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist.npz")
KEYS = ("x_train", "y_train", "x_test", "y_test")

# sha256 of np.ascontiguousarray(array).tobytes() for each array of the real MNIST (see README.md).
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

# The four original files (http://yann.lecun.com/exdb/mnist/ layout), by the key they fill.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes (0x08), 3 dimensions (n, rows, cols)
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes (0x08), 1 dimension (n,)

# The classic split of Goodfellow et al. (2014) and most GAN papers: the first 50000 training images
# train, the last 10000 validate; the 10000 test images are kept apart.
TRAIN_SIZE = 50000
SPLITS = ("train", "validation", "test", "all_train")
SCALES = ("tanh", "sigmoid", None)


# ----- the public entry points ----------------------------------------------------------------
def load_mnist(path=None, split="train", scale="tanh", verify=True):
    """One split of MNIST as ``(images, labels)``, ready for training.

    Args:
        path: None for the file shipped with minigan (offline, checksummed); else your own copy:
            a Keras-layout ``mnist.npz`` or a directory holding the four IDX files (see ``read_mnist``).
        split: "train" = x_train[:50000], "validation" = x_train[50000:], "test" = x_test,
            "all_train" = all of x_train. 50k/10k is the split of Goodfellow et al. (2014).
        scale: "tanh" -> [-1, 1], "sigmoid" -> [0, 1] (both float32), None -> uint8 0..255.
        verify: check the shipped file's array hashes (one sha256 pass over its 55 MB of arrays, a fraction
            of the time that reading the compressed file takes); see ``read_mnist``.

    Returns:
        images: (n, 28, 28, 1), channels-last; ``images.reshape(len(images), -1)`` is the (n, 784) view.
        labels: (n,) int64.
    """
    if split not in SPLITS:
        raise DataError(f"load_mnist: split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    if scale not in SCALES:
        raise DataError(f"load_mnist: scale must be 'tanh' ([-1, 1]), 'sigmoid' ([0, 1]) or None (uint8), got {scale!r}")
    arrays = read_mnist(path, verify=verify)
    if split == "test":
        images, labels = arrays["x_test"], arrays["y_test"]
    else:
        rows = {"train": slice(None, TRAIN_SIZE), "validation": slice(TRAIN_SIZE, None), "all_train": slice(None)}[split]
        images, labels = arrays["x_train"][rows], arrays["y_train"][rows]
    if len(images) == 0:
        raise DataError(f"load_mnist: split {split!r} is empty: the data holds {len(arrays['x_train'])} training "
                        f"images and 'validation' is x_train[{TRAIN_SIZE}:]")
    return scale_images(images[..., None], scale), labels.astype(numpy.int64)  # (n, 28, 28) -> (n, 28, 28, 1)


def scale_images(images, scale):
    """uint8 pixels 0..255 as float32 in [-1, 1] ("tanh"), [0, 1] ("sigmoid"), or unchanged (None).

    0 maps to exactly -1 (or 0) and 255 to exactly 1: both divisions are by 255, not 256.
    """
    if scale is None:
        return images
    if scale not in ("tanh", "sigmoid"):
        raise DataError(f"scale_images: scale must be 'tanh', 'sigmoid' or None, got {scale!r}")
    x = images.astype(numpy.float32)  # a new array, so the in-place steps below never touch ``images``
    if scale == "tanh":
        x /= numpy.float32(127.5)  # 0..255 -> 0..2
        x -= numpy.float32(1.0)    #        -> -1..1
    else:
        x /= numpy.float32(255.0)  # 0..255 -> 0..1
    return x


def read_mnist(path=None, verify=True):
    """The four MNIST arrays as stored: {"x_train": (n, 28, 28) uint8, "y_train": (n,) uint8, "x_test", "y_test"}.

    Args:
        path: None -> the shipped ``minigan/tools/data/mnist.npz``. A file -> a Keras-layout ``.npz`` with the
            keys x_train, y_train, x_test, y_test. A directory -> the four IDX files named in ``IDX_FILES``
            (``.gz`` or already unpacked without the ``.gz``).
        verify: for the shipped file, compare each array's sha256 with ``MNIST_SHA256`` (a mismatch means
            the installed file is damaged and raises ``DataError``). Files you name may be variants
            (Fashion-MNIST, a subset); they are accepted whatever their hashes, but shapes and dtypes are
            always checked and, with ``verify``, labels must lie in 0..9. ``is_known_mnist`` tells you
            whether your arrays are byte-for-byte the real MNIST.

    Raises:
        DataError: no data at ``path``, a damaged file, missing keys or files, bad IDX headers, wrong
            shapes or dtypes, or a checksum mismatch on the shipped file.
    """
    shipped = path is None
    path = SHIPPED_PATH if shipped else os.fspath(path)
    if os.path.isdir(path):
        arrays = _read_idx_directory(path)
    elif os.path.isfile(path):
        arrays = _read_npz(path)
    else:
        where = "the file shipped with minigan (reinstall minigan to restore it)" if shipped else "the path you gave"
        raise DataError(f"no MNIST data at {path!r} ({where}): expected a Keras-layout mnist.npz file with the keys "
                        f"{', '.join(KEYS)}, or a directory holding {', '.join(IDX_FILES.values())}")
    _check_layout(arrays, path)
    if verify:
        labels = numpy.concatenate([arrays["y_train"], arrays["y_test"]])
        if labels.size and labels.max() > 9:
            raise DataError(f"{path!r}: labels must be digits 0..9, found the value {int(labels.max())}")
        if shipped or _same_file(path, SHIPPED_PATH):
            found = array_sha256(arrays)
            bad = [key for key in KEYS if found[key] != MNIST_SHA256[key]]
            if bad:
                raise DataError(f"the shipped MNIST file {path!r} is damaged: sha256 of {', '.join(bad)} is "
                                f"{', '.join(found[k] for k in bad)}, expected {', '.join(MNIST_SHA256[k] for k in bad)} "
                                "(see minigan/tools/data/README.md); reinstall minigan")
    return arrays


def array_sha256(arrays):
    """{key: sha256 hex digest of the array's bytes in C order} for each array of ``arrays``."""
    return {key: hashlib.sha256(numpy.ascontiguousarray(value).tobytes()).hexdigest() for key, value in arrays.items()}


def is_known_mnist(arrays):
    """True when all four arrays are byte-for-byte the real MNIST (the hashes in ``MNIST_SHA256``)."""
    return array_sha256({key: arrays[key] for key in KEYS}) == MNIST_SHA256


# ----- the two file formats -------------------------------------------------------------------
def _read_npz(path):
    try:
        arrays = load_npz(path)
    except FileFormatError as error:
        raise DataError(f"cannot read MNIST from {path!r}: expected a Keras-layout .npz file ({error})") from error
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise DataError(f"{path!r} is not a Keras-layout mnist.npz: missing the key(s) {', '.join(missing)}; "
                        f"expected {', '.join(KEYS)}, found {', '.join(sorted(arrays)) or 'no arrays'}")
    return {key: arrays[key] for key in KEYS}


def _read_idx_directory(directory):
    found = {}
    for key, name in IDX_FILES.items():
        for candidate in (name, name[: -len(".gz")]):
            if os.path.isfile(os.path.join(directory, candidate)):
                found[key] = os.path.join(directory, candidate)
                break
    missing = [IDX_FILES[key] for key in KEYS if key not in found]
    if missing:
        raise DataError(f"the directory {directory!r} does not hold the MNIST IDX files: missing {', '.join(missing)} "
                        f"(expected {', '.join(IDX_FILES.values())}, gzipped or not)")
    return {key: read_idx(found[key], IDX_IMAGES_MAGIC if key.startswith("x") else IDX_LABELS_MAGIC) for key in KEYS}


def read_idx(path, magic):
    """One IDX file (optionally gzipped) of unsigned bytes as a NumPy uint8 array.

    The format (LeCun's MNIST page): a 4-byte big-endian magic number -- two zero bytes, the type code
    0x08 (unsigned byte), the number of dimensions d -- then d big-endian uint32 sizes, then the bytes
    in C order. Images have magic 2051 (d = 3: n, rows, cols), labels magic 2049 (d = 1: n).
    """
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError; a truncated .gz raises EOFError
        raise DataError(f"cannot read the IDX file {path!r}: {type(error).__name__}: {error}") from error
    if len(raw) < 4:
        raise DataError(f"{path!r} is truncated: an IDX file starts with a 4-byte magic number, found {len(raw)} bytes")
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
        raise DataError(f"{path!r} has magic number {found_magic} (0x{found_magic:08x}); expected {magic} "
                        f"(0x{magic:08x}) for an IDX file of {kind}")
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path!r} is truncated: expected a {header_size}-byte header, found {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    body = len(raw) - header_size
    if body != expected:
        problem = "truncated" if body < expected else "longer than its header says"
        raise DataError(f"{path!r} is {problem}: its header gives shape {shape}, so {expected} data bytes are expected "
                        f"after the header, found {body}")
    return numpy.frombuffer(raw, dtype=numpy.uint8, offset=header_size).reshape(shape).copy()  # writable, like np.load


# ----- minibatches ------------------------------------------------------------------------------
def minibatches(images, batch_size, seed, labels=None, drop_last=True):
    """One epoch of shuffled minibatches: a generator of ``images[rows]`` (or ``(images[rows], labels[rows])``).

    Args:
        images: a NumPy array with the examples along axis 0, e.g. (n, 28, 28, 1).
        batch_size: examples per batch, an int >= 1.
        seed: an int, or a ``numpy.random.Generator`` to draw the permutation from. The same int gives
            the same batches; pass one Generator to successive epochs to get a new order each epoch.
        labels: optional (n,) array shuffled together with ``images``.
        drop_last: skip the final short batch (n % batch_size examples), so every batch has the same
            shape; the skipped examples differ from epoch to epoch. With False it is yielded last.

    Every example appears exactly once per epoch (at most once with ``drop_last``). Batches are NumPy
    copies; move them to the device yourself (``get_backend().asarray(batch)``).
    """
    n = _check_batching(images, batch_size, labels, drop_last)  # checked now, not at the first next()
    rng = seed if isinstance(seed, numpy.random.Generator) else numpy.random.default_rng(_check_seed(seed))
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    return _batches(images, labels, order, batch_size, stop)


def _batches(images, labels, order, batch_size, stop):
    for start in range(0, stop, batch_size):
        rows = order[start : start + batch_size]
        yield images[rows] if labels is None else (images[rows], labels[rows])


class DataLoader:
    """Seeded shuffled minibatches, epoch after epoch: ``for batch in loader`` is one epoch.

    ::

        loader = DataLoader(images, batch_size=64, seed=0)
        for epoch in range(epochs):
            for real in loader:                      # (64, 28, 28, 1) NumPy arrays
                real = backend.get_backend().asarray(real)

    Epoch ``e`` is shuffled by ``numpy.random.default_rng([seed, e])``: a new permutation every epoch,
    the same sequence for the same seed, and a run resumed from a checkpoint at epoch ``e`` (set
    ``loader.epoch = e``) sees the very batches the uninterrupted run would have. ``seed=None`` draws
    a fresh seed, kept in ``loader.seed`` so it can be logged and reused.
    """

    def __init__(self, images, batch_size, seed=None, labels=None, drop_last=True):
        _check_batching(images, batch_size, labels, drop_last)
        self.images, self.labels = images, labels
        self.batch_size, self.drop_last = batch_size, drop_last
        self.seed = numpy.random.SeedSequence().entropy if seed is None else _check_seed(seed)
        self.epoch = 0

    def __iter__(self):
        rng = numpy.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        return minibatches(self.images, self.batch_size, rng, labels=self.labels, drop_last=self.drop_last)

    def __len__(self):
        """Batches per epoch."""
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __repr__(self):
        return f"DataLoader(n={len(self.images)}, batch_size={self.batch_size}, seed={self.seed}, epoch={self.epoch})"


def _check_seed(seed):
    """The range of ``minigan.seed`` (an int in [0, 2**64), see ``backend.check_seed``): one rule for every seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or not 0 <= seed < SEED_LIMIT:
        raise TypeError(f"seed must be a non-negative int below 2**64 or a numpy.random.Generator, got {seed!r}")
    return int(seed)


def _check_batching(images, batch_size, labels, drop_last):
    """Validate the arguments of ``minibatches``/``DataLoader``; returns the number of examples."""
    if not hasattr(images, "shape") or len(images.shape) < 1:
        raise TypeError(f"images must be an array with examples along axis 0, got {type(images).__name__}")
    n = len(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if drop_last and batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} examples: with drop_last=True "
                         "no batch would be yielded; use a smaller batch_size or drop_last=False")
    if not isinstance(drop_last, (bool, numpy.bool_)):  # a string such as "no" would silently mean True
        raise TypeError(f"drop_last must be True or False, got {drop_last!r}")
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries but images has {n} examples; expected one label per example")
    return n


# ----- checks -----------------------------------------------------------------------------------
def _check_layout(arrays, path):
    """Shapes and dtypes: x_* (n, 28, 28) uint8, y_* (n,) uint8 with matching n."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != numpy.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{path!r}: x_{split} must be uint8 images of shape (n, 28, 28), "
                            f"found dtype {x.dtype} and shape {x.shape}")
        if y.dtype != numpy.uint8 or y.ndim != 1:
            raise DataError(f"{path!r}: y_{split} must be uint8 labels of shape (n,), found dtype {y.dtype} and shape {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{path!r}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels; expected one label per image")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def first_of_each_digit(labels, per_digit=1):
    """Indices of the first ``per_digit`` images of each digit 0–9, digit by digit (a figure's columns)."""
    return numpy.concatenate([numpy.flatnonzero(labels == digit)[:per_digit] for digit in range(10)])
