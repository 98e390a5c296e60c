"""A small MNIST classifier, trained with minigan itself, to judge a GAN's samples.

``minigan.tools.evaluate`` asks two questions of generated digits that need a classifier: *which digits
does G draw* (the label histogram, the mode-collapse diagnostic) and *how far are the samples from
real digits in a feature space that knows about digits* (the Fréchet distance of Heusel et al. 2017,
computed here on this network's penultimate layer instead of Inception-v3's).

Architecture (channels-last, inputs (N, 28, 28, 1) in [0, 1], i.e. ``load_mnist(scale="sigmoid")``)::

    conv 1→16  k5 s2 p2 → ReLU      (N, 14, 14, 16)
    conv 16→32 k5 s2 p2 → ReLU      (N, 7, 7, 32)
    flatten                         (N, 1568)
    dense 1568→128 → ReLU           (N, 128)      ← ``features``: the penultimate layer
    dense 128→10                    (N, 10)       logits; ``predict`` is their argmax

Strided convolutions downsample instead of pooling (minigan has no pooling op; the DCGAN
discriminator does the same). About 215,000 parameters, 0.9 MB in float32.

Training (``train_classifier``): Adam (lr 1e-3, decayed ×0.75 per epoch), 6 epochs of minibatches of 128,
softmax cross-entropy (``losses.cross_entropy``), on x_train[:50000]; after every epoch the accuracy
on the validation images x_train[50000:] is measured and the best epoch's weights are kept (model
selection never looks at the test set). The shipped weights ``minigan/tools/data/classifier.npz`` were made
by ``python examples/train_classifier.py`` (6 epochs, seed 0) and reach 98.58% on the validation
images and **98.70% on the 10,000 test images**; both numbers, and the training time, are kept in the
checkpoint's metadata (``load_classifier().metadata``). ``tests/test_evaluate.py`` checks that the
shipped weights reach at least 98.5% on the test images. ``fit_classifier`` is the same recipe on any
labelled images, with or without a validation set to choose the epoch (SimGAN's measurement,
``examples/simgan.py``, trains it on synthetic digits and keeps the last epoch).
"""

import os
import time

import numpy

from minigan.engine import losses, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.backend import get_backend, to_numpy
from minigan.engine.backend import seed as seed_backend
from minigan.engine.checks import finite_number
from .data import DataLoader, load_mnist
from .io import load_checkpoint, save_checkpoint

SHIPPED_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "classifier.npz")
FEATURE_DIM = 128
CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


class Classifier(nn.Module):
    """The network above: ``forward`` maps a Tensor (N, 28, 28, 1) to logits (N, 10).

    ``features``, ``logits``, ``probabilities`` and ``predict`` take plain arrays of images in [0, 1] (any
    of the layouts ``check_images`` accepts), run in evaluation mode without recording a graph, in
    batches, and return NumPy arrays.
    """

    def __init__(self, rng=None):
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, stride=2, padding=2, rng=rng), nn.ReLU(),    # (N, 14, 14, 16)
            nn.Conv2d(16, 32, 5, stride=2, padding=2, rng=rng), nn.ReLU(),   # (N, 7, 7, 32)
            nn.Flatten(),                                                    # (N, 1568)
            nn.Linear(7 * 7 * 32, FEATURE_DIM, rng=rng), nn.ReLU(),          # (N, 128)
        )
        self.head = nn.Linear(FEATURE_DIM, CLASSES, rng=rng)                 # (N, 10)
        self.metadata = {}

    def forward(self, x):
        return self.head(self.body(x))

    def _batched(self, images, layer, batch_size):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"Classifier: batch_size must be a positive int, got {batch_size!r}")  # −1 gave no rows at all
        images = check_images(images)
        xp = get_backend().xp
        outputs = []
        with no_grad():
            for start in range(0, len(images), batch_size):
                batch = Tensor(xp.asarray(images[start : start + batch_size]))
                outputs.append(to_numpy(layer(batch).data))
        width = FEATURE_DIM if layer is self.body else CLASSES
        return numpy.concatenate(outputs) if outputs else numpy.zeros((0, width), numpy.float32)

    def features(self, images, batch_size=500):
        """Penultimate-layer activations (n, 128) float32 of ``images``: the space of the Fréchet distance."""
        return self._batched(images, self.body, batch_size)

    def logits(self, images, batch_size=500):
        """Class scores (n, 10) float32."""
        return self._batched(images, self, batch_size)

    def probabilities(self, images, batch_size=500):
        """The softmax of the logits, (n, 10) float64, each row summing to 1:
        pₖ = e^(zₖ − m) / Σⱼ e^(zⱼ − m) with m = maxⱼ zⱼ (subtracting m changes nothing but keeps e^· ≤ 1)."""
        logits = self.logits(images, batch_size).astype(numpy.float64)          # (n, 10)
        exponentials = numpy.exp(logits - logits.max(axis=1, keepdims=True))    # (n, 10), largest 1 per row
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def predict(self, images, batch_size=500):
        """The most likely digit (n,) int64 for each image."""
        return self.logits(images, batch_size).argmax(axis=1).astype(numpy.int64)


def check_images(images, name="images", dtype=numpy.float32):
    """``images`` as a NumPy array (n, 28, 28, 1) of ``dtype`` in [0, 1], or a ValueError/TypeError naming the problem.

    Accepted layouts: (n, 28, 28), (n, 28, 28, 1) or (n, 784), floating point, every value in [0, 1]
    (the layout of ``load_mnist(scale="sigmoid")`` and of ``samples.npy`` from ``examples/mnist_gan.py``).
    """
    images = to_numpy(images) if hasattr(images, "dtype") else numpy.asarray(images)
    if images.dtype.kind != "f":
        raise TypeError(f"{name}: expected floating-point pixels in [0, 1], got dtype {images.dtype} "
                        "(divide uint8 images by 255)")
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, *IMAGE_SHAPE)                  # (n, 784) -> (n, 28, 28, 1)
    elif images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images[..., None]                                 # (n, 28, 28) -> (n, 28, 28, 1)
    elif not (images.ndim == 4 and images.shape[1:] == IMAGE_SHAPE):
        raise ValueError(f"{name}: expected shape (n, 28, 28), (n, 28, 28, 1) or (n, 784), got {images.shape}")
    if images.size:
        low, high = float(images.min()), float(images.max())
        if not (0.0 <= low and high <= 1.0):  # written so that NaN fails too
            raise ValueError(f"{name}: pixel values must lie in [0, 1], found values from {low} to {high}"
                             + (" (images in [-1, 1]? map them with (x + 1) / 2)" if low >= -1 and low < 0 else ""))
    return images.astype(dtype, copy=False)


def accuracy(classifier, images, labels, batch_size=500):
    """The fraction of ``images`` whose predicted digit equals ``labels``."""
    labels = numpy.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"accuracy: labels must be a 1-D array of integer digits, got shape {labels.shape} and dtype {labels.dtype}")
    if len(labels) != len(images):
        raise ValueError(f"accuracy: {len(images)} images but {len(labels)} labels; expected one label per image")
    return float((classifier.predict(images, batch_size) == labels).mean())


# ----- training ---------------------------------------------------------------------------------
def train_classifier(epochs=6, seed=0, batch_size=128, lr=1e-3, lr_decay=0.75, data=None, log=print, log_every=None):
    """Train a ``Classifier`` on x_train[:50000]; keep the epoch with the best accuracy on x_train[50000:].

    Args:
        epochs: passes over the 50,000 training images.
        seed: fixes the initial weights and the minibatch order.
        batch_size, lr: minibatch size and Adam's step size; ``lr`` is multiplied by ``lr_decay``
            after every epoch.
        data: None for the MNIST shipped with minigan, or a path as for ``load_mnist``.
        log: called with one progress line per epoch (None for silence), and with ``log_every`` set,
            also every ``log_every`` minibatches within an epoch (an epoch takes minutes on a CPU).

    Returns:
        The classifier in evaluation mode, its weights those of the best validation epoch, with
        ``classifier.metadata`` = {"epochs", "seed", "best_epoch", "validation_accuracy", "seconds", ...}.
    """
    x_train, y_train = load_mnist(data, split="train", scale="sigmoid")
    x_valid, y_valid = load_mnist(data, split="validation", scale="sigmoid")
    return fit_classifier(x_train, y_train, epochs, seed, batch_size, lr, lr_decay, validation=(x_valid, y_valid), log=log,
                          log_every=log_every, name="train_classifier")


def fit_classifier(images, labels, epochs=6, seed=0, batch_size=128, lr=1e-3, lr_decay=0.75, validation=None, log=print,
                   log_every=None, name="fit_classifier"):
    """A ``Classifier`` trained by ``train_classifier``'s recipe on any labelled ``images`` (n, 28, 28, 1) in [0, 1].

    ``validation``: (images, labels) to measure after every epoch and keep the best epoch's weights, or
    None to keep the last epoch's (then nothing but ``images`` is looked at: SimGAN's measurement,
    ``examples/simgan.py``, trains on synthetic digits and must not choose its epoch on real ones).
    Returns the classifier in evaluation mode, with ``metadata`` as ``train_classifier``'s.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"{name}: epochs must be a positive int, got {epochs!r}")
    if not finite_number(name, "lr_decay", lr_decay) > 0:  # NaN would turn Adam's lr into NaN after epoch 1
        raise ValueError(f"{name}: lr_decay must be positive, got {lr_decay}")
    images = check_images(images, f"{name}: images")
    seed_backend(seed)
    classifier = Classifier()
    optimizer = optim.Adam(classifier.parameters(), lr=lr)
    loader = DataLoader(images, batch_size, seed=seed, labels=labels)
    xp = get_backend().xp
    best = (-1.0, 0, None)  # (validation accuracy, epoch, state_dict)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        classifier.train()
        total = 0.0
        for step, (batch, batch_labels) in enumerate(loader, start=1):
            optimizer.zero_grad()
            loss = losses.cross_entropy(classifier(Tensor(xp.asarray(batch))), xp.asarray(batch_labels))
            loss.backward()
            optimizer.step()
            total += loss.item()
            if log and log_every and step % log_every == 0 and step < len(loader):
                log(f"epoch {epoch}/{epochs}  step {step}/{len(loader)}  train loss {total / step:.4f}  "
                    f"({time.perf_counter() - started:.0f} s)")
        optimizer.lr *= lr_decay
        classifier.eval()
        valid = accuracy(classifier, *validation) if validation is not None else None
        if validation is None or valid > best[0]:
            best = (valid, epoch, classifier.state_dict())
        if log:
            measured = f"  validation accuracy {valid:.4f}" if validation is not None else ""
            log(f"epoch {epoch}/{epochs}  train loss {total / len(loader):.4f}{measured}  ({time.perf_counter() - started:.0f} s)")
    classifier.load_state_dict(best[2])
    classifier.eval()
    classifier.metadata = {"epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr, "lr_decay": lr_decay,
                           "best_epoch": best[1], "validation_accuracy": best[0],
                           "seconds": round(time.perf_counter() - started, 1), "backend": get_backend().name}
    return classifier


# ----- saving and loading -------------------------------------------------------------------------
def save_classifier(path, classifier):
    """Write the weights and ``classifier.metadata`` to ``path`` with ``io.save_checkpoint`` (atomic, no pickle)."""
    save_checkpoint(path, {"classifier": classifier.state_dict()}, metadata={"kind": "minigan-mnist-classifier", **classifier.metadata})


def load_classifier(path=None):
    """A ``Classifier`` in evaluation mode with the weights at ``path`` (None: the shipped ``data/classifier.npz``).

    The weights go onto the current backend's device. Raises ``FileNotFoundError`` (saying how to make
    the file) when it is missing.
    """
    path = SHIPPED_PATH if path is None else os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_classifier: no classifier weights at {path!r}; "
                                "make them with `python examples/train_classifier.py --out PATH`")
    state, metadata = load_checkpoint(path)
    if "classifier" not in state:
        raise ValueError(f"load_classifier: {path!r} is a minigan checkpoint but holds no 'classifier' entry "
                         f"(found {sorted(state)}); expected a file written by save_classifier")
    classifier = Classifier(rng=numpy.random.default_rng(0))  # placeholder values, overwritten; leaves minigan.seed's stream alone
    try:
        classifier.load_state_dict(state["classifier"])
    except (KeyError, ValueError, TypeError) as error:  # KeyError too: callers report ValueErrors in one line
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ValueError(f"load_classifier: {path!r} does not hold this classifier's weights: {message}") from None
    classifier.metadata = metadata
    return classifier.eval()


_shipped = {}  # backend name -> the shipped classifier, loaded once


def shipped_classifier():
    """The classifier with the shipped weights, loaded on first use and kept (one per backend)."""
    name = get_backend().name
    if name not in _shipped:
        _shipped[name] = load_classifier()
    return _shipped[name]


def features(images, classifier=None, batch_size=500):
    """Penultimate-layer features (n, 128) float32 of ``images`` in [0, 1]; default: the shipped classifier."""
    return (shipped_classifier() if classifier is None else classifier).features(images, batch_size)


def predict(images, classifier=None, batch_size=500):
    """Predicted digits (n,) int64 of ``images`` in [0, 1]; default: the shipped classifier."""
    return (shipped_classifier() if classifier is None else classifier).predict(images, batch_size)


__all__ = ["Classifier", "check_images", "accuracy", "train_classifier", "fit_classifier", "save_classifier", "load_classifier",
           "shipped_classifier", "features", "predict", "SHIPPED_PATH", "FEATURE_DIM"]
