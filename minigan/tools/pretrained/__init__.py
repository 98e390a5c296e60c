"""Trained networks, shipped inside the package: load one by name and sample from it at once.

    from minigan.tools import pretrained
    pretrained.names()                      # ('dcgan', 'mlp_gan', 'conditional_gan', 'acgan', 'infogan',
                                            #  'semi_supervised', 'wgan_gp', 'pix2pix', 'cyclegan', 'srgan')
    model = pretrained.load("dcgan")
    images = model.sample(64, seed=0)       # (64, 28, 28, 1) float32 in [0, 1]
    model.record["command"], model.record["scores"]
    model.history["d_loss"]                 # the run's losses, step by step, for its training curves

Each model is the final state of one run of an example with its default flags (the exact command, the
commit, the machine and the CPU seconds are in ``model.record`` and in README.md here). Only the networks a
user needs are kept (G; D too for dcgan, wgan_gp and semi_supervised), never the optimisers' state, so a
model cannot be trained further from here: re-train it with its command. The weights are stored as float16
where a weight matrix is large, float32 elsewhere, and come back as float32; every score in the record was
measured on these stored (rounded) weights, beside the float32 run's own printed figures (``run_scores``).

Files: ``weights/NAME.npz``, written by ``python -m minigan.tools.pretrained.export`` with
``minigan.tools.io.save_checkpoint`` (arrays and JSON, never pickle), and ``weights/SHA256SUMS``, the sha256
of each file (the ``sha256sum`` format), checked before a file is opened: a missing, altered or unknown file
is one line of ``PretrainedError`` naming it.

What a ``Pretrained`` model does depends on what it is (``catalogue.py``):

    sample(count, seed=0, labels=None, codes=None)   G's images, (count, 28, 28, 1) float32 in [0, 1]:
        dcgan, mlp_gan, wgan_gp, semi_supervised     z from the model's prior, drawn by numpy.random.default_rng(seed)
        conditional_gan, acgan                       ``labels``: the digit of each image (default 0, 1, …, 9, 0, …)
        infogan                                      ``codes``: an ``infogan.Codes`` (default: from the prior, after z)
    translate(images, direction=None)                the example's input → its output, both in [0, 1], channels last:
        pix2pix                                      edge maps (n, 28, 28, 1) → digits
        cyclegan                                     direction "thin_to_thick" (G, default) or "thick_to_thin" (F)
        srgan                                        7×7 box-averaged digits (n, 7, 7, 1) → (n, 28, 28, 1)
    inputs(digits, direction=None)                   the translator's inputs made from digits in [0, 1] as its
                                                     example makes them (edge_map, thin / thicken, downsample)
    classify(images)                                 semi_supervised: D's digit for each image, int64 (n,)
    discriminate(images)                             dcgan, wgan_gp: D's logit or the critic's score (n,) float32;
                                                     semi_supervised: D's real/fake logit log Σₖ exp lₖ
    rescore()                                        the record's test sample scored again (``scores.py``)

The modules:

    catalogue    what each name is: its example, the networks kept, how to rebuild them from its settings
    scores       what the record and the test measure on a model (the examples' own figures)
    export       a finished run → weights/NAME.npz, its record and its sha256; and the README's table

Images go in and come out in [0, 1] whatever range the network works in (DCGAN's and the translators'
tanh: [−1, 1]); the conversion is the examples' own (``runs.to_unit_range``).
"""

import contextlib
import hashlib
import os

import numpy

from minigan.engine import backend
from minigan.engine.autograd import Tensor, no_grad
from minigan.gans.gan import evaluating
from minigan.tools.io import FileFormatError, load_checkpoint
from minigan.tools.runs import to_unit_range
from .catalogue import CATALOGUE, ENTRIES

WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
SUMS = "SHA256SUMS"
FORMAT, VERSION = "minigan-pretrained", 1
BATCH = 500  # images per forward pass: bounds the memory of sample / translate / classify
DIRECTIONS = ("thin_to_thick", "thick_to_thin")  # CycleGAN's G: X → Y and F: Y → X (examples/cyclegan.py)


class PretrainedError(ValueError):
    """A name that is not shipped, or a weights file that is missing, altered or not a pretrained model's."""


def names():
    """The names of the shipped models, in the order of the issue that asked for them."""
    return tuple(entry.name for entry in ENTRIES)


def load(name, backend=None, weights=None):
    """The shipped model ``name``, its networks in eval mode on the current backend, ready to sample.

    ``backend``: None (the current one) or a backend's name ("numpy", "cupy"), which is then made the
    current backend (``minigan.set_backend``), as an example's ``--backend`` does: a model's networks and the
    arrays they are given must live on the same device. ``weights``: a folder holding ``NAME.npz`` and
    ``SHA256SUMS`` in place of the shipped ones (what ``export --into`` writes).

    Raises ``PretrainedError`` (one line) for an unknown name (naming the names there are), a missing file,
    a file whose sha256 is not the one recorded, or a file that is not a pretrained model.
    """
    if name not in CATALOGUE:
        raise PretrainedError(f"pretrained.load: unknown name {name!r}; the shipped models are {', '.join(names())}")
    if backend is not None:
        _set_backend(backend)
    folder = WEIGHTS if weights is None else os.fspath(weights)
    path = os.path.join(folder, f"{name}.npz")
    check_file(name, path, folder)
    try:
        state, metadata = load_checkpoint(path)
    except FileFormatError as error:
        raise PretrainedError(f"pretrained.load({name!r}): {error}") from None
    if metadata.get("format") != FORMAT or metadata.get("name") != name or "networks" not in state:
        raise PretrainedError(f"pretrained.load({name!r}): {path} is a minigan checkpoint but not the pretrained model {name!r} "
                              f"(expected metadata format {FORMAT!r} and name {name!r})")
    if metadata.get("version") != VERSION:
        raise PretrainedError(f"pretrained.load({name!r}): {path} is pretrained format version {metadata.get('version')!r}; "
                              f"this minigan reads version {VERSION}")
    return Pretrained(name, metadata["record"], state["networks"], state.get("history", {}))


def _set_backend(name):
    from minigan.engine.backend import set_backend

    set_backend(name)


def check_file(name, path, folder):
    """Refuse a missing file, or one whose sha256 is not the one ``SHA256SUMS`` records for it: one line."""
    if not os.path.isfile(path):
        raise PretrainedError(f"pretrained.load({name!r}): no weights file {path}; make it with "
                              f"`python -m minigan.tools.pretrained.export RUN_FOLDER --name {name}` (README.md there)")
    expected = recorded_sums(folder).get(os.path.basename(path))
    if expected is None:
        raise PretrainedError(f"pretrained.load({name!r}): {os.path.join(folder, SUMS)} records no sha256 for {os.path.basename(path)}; "
                              f"a file the exporter did not write is not loaded")
    found = file_sha256(path)
    if found != expected:
        raise PretrainedError(f"pretrained.load({name!r}): {path} has sha256 {found}, but {SUMS} records {expected}: "
                              f"the file was altered or damaged; reinstall minigan or export it again")


def recorded_sums(folder):
    """{file name: sha256 hex} from ``folder/SHA256SUMS`` (lines "HEX  NAME"); {} when there is none."""
    path = os.path.join(folder, SUMS)
    if not os.path.isfile(path):
        return {}
    sums = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            digest, _, file = line.strip().partition("  ")
            if digest and file:
                sums[file] = digest
    return sums


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def random_stream_kept():
    """Building a network draws its (soon overwritten) initial weights from the default generator
    (``backend.default_rng``); loading a model must not move a user's seeded stream, so its state is put back.
    (A generator without a readable state, CuPy's, is left as the draws leave it.)"""
    generator = backend.default_rng()
    bits = getattr(generator, "bit_generator", None)
    state = getattr(bits, "state", None)
    try:
        yield
    finally:
        if state is not None:
            bits.state = state


class Pretrained:
    """One shipped model: ``name``, ``record`` (how it was made and scored), ``networks`` (eval mode),
    ``history`` (the run's per-step statistics), and the methods its kind has (module docstring)."""

    def __init__(self, name, record, stored, history):
        self.name, self.record, self.entry = name, record, CATALOGUE[name]
        self.history = {key: numpy.asarray(value) for key, value in history.items()}
        with random_stream_kept():
            self.networks = self.entry.build(record["settings"])
        for key, module in self.networks.items():
            if key not in stored:
                raise PretrainedError(f"pretrained.load({name!r}): the file holds no {key!r} network (it holds {sorted(stored)})")
            weights = {k: numpy.asarray(v, dtype=numpy.float32) if numpy.asarray(v).dtype.kind == "f" else v
                       for k, v in stored[key].items()}
            try:
                module.load_state_dict(weights)
            except (KeyError, ValueError, TypeError) as error:
                raise PretrainedError(f"pretrained.load({name!r}): the stored {key!r} does not fit the network its settings "
                                      f"build: {error}") from None
            module.eval()

    generator = property(lambda self: self.networks.get("generator"), doc="G (None if not kept)")
    discriminator = property(lambda self: self.networks.get("discriminator"), doc="D or the critic (None if not kept)")

    def __repr__(self):
        return f"<pretrained {self.name}: {self.entry.summary}; networks {', '.join(self.networks)}>"

    # ----- generators ---------------------------------------------------------------------------
    def sample(self, count, seed=0, labels=None, codes=None):
        """``count`` images of G, float32 (count, 28, 28, 1) in [0, 1]; the same seed, the same images.

        z is drawn from the model's prior (N(0, I) for DCGAN and WGAN-GP, U(−1, 1) otherwise) by
        ``numpy.random.default_rng(seed)`` on the host, so every backend draws the same z.
        ``labels`` (conditional_gan, acgan): one digit or ``count`` digits; default 0, 1, …, 9, 0, 1, …
        ``codes`` (infogan): ``minigan.gans.infogan.Codes(categories (count,), continuous (count, 2))``;
        default: from the prior (c₁ uniform over 0..9, c₂, c₃ ~ U(−1, 1)), drawn after z.
        """
        kind = self.entry.kind
        if kind not in ("generator", "conditional", "infogan"):
            raise PretrainedError(f"{self.name}.sample: {self.name} translates images; call translate(images) "
                                  f"(inputs(digits) makes its inputs)")
        count = _count(count, f"{self.name}.sample: count")
        if labels is not None and kind != "conditional":
            raise PretrainedError(f"{self.name}.sample: labels are for conditional_gan and acgan; {self.name} takes none"
                                  + ("; give infogan its codes=" if kind == "infogan" else ""))
        if codes is not None and kind != "infogan":
            raise PretrainedError(f"{self.name}.sample: codes are InfoGAN's; {self.name} takes none")
        rng = numpy.random.default_rng(seed)
        shape = (count, self.entry.noise_dim)
        noise = (rng.standard_normal(shape, dtype=numpy.float32) if self.entry.noise == "normal"
                 else rng.uniform(-1.0, 1.0, size=shape).astype(numpy.float32))
        condition = None
        if kind == "conditional":
            condition = _labels(labels, count, self.name)
        elif kind == "infogan":
            from minigan.gans.infogan import Codes, check_codes

            if codes is None:
                codes = Codes(rng.integers(0, 10, size=count), rng.uniform(-1.0, 1.0, size=(count, 2)).astype(numpy.float32))
            try:
                codes = check_codes(codes, count, name=f"{self.name}.sample: codes")
            except (TypeError, ValueError) as error:
                raise PretrainedError(str(error)) from None
            condition = Codes(*(backend.to_numpy(part) for part in codes))  # on the host, cut into batches below
        outputs = []
        for start in range(0, count, BATCH):
            part = slice(start, start + BATCH)
            z = Tensor(backend.get_backend().asarray(noise[part]))
            if condition is None:
                arguments = (z,)
            elif kind == "conditional":
                arguments = (z, condition[part])
            else:  # InfoGenerator takes the codes on the device, as InfoGAN.generate gives them
                arguments = (z, check_codes(Codes(condition.categories[part], condition.continuous[part]), len(noise[part])))
            outputs.append(self._run(self.generator, *arguments))
        images = numpy.concatenate(outputs) if outputs else numpy.zeros((0, 28, 28, 1), numpy.float32)
        return to_unit_range(images, self.entry.output_range)

    # ----- translators --------------------------------------------------------------------------
    def translate(self, images, direction=None):
        """The translator's output for ``images`` (n, h, w, 1) (or (n, h, w)) in [0, 1]: float32 (n, 28, 28, 1) in [0, 1].

        pix2pix: edge maps → digits; cyclegan: ``direction`` "thin_to_thick" (G, the default) or
        "thick_to_thin" (F); srgan: the low-resolution digits (n, 7, 7, 1) → 28×28. The network sees
        2·images − 1, the [−1, 1] of its training (examples' ``to_signed``).
        """
        network = self._translator(direction, "translate")
        size = 28 // self.record["settings"]["factor"] if self.name == "srgan" else 28
        images = _images(images, f"{self.name}.translate: images", size)
        signed = images * numpy.float32(2) - numpy.float32(1)
        outputs = [self._run(network, Tensor(backend.get_backend().asarray(signed[start : start + BATCH])))
                   for start in range(0, len(signed), BATCH)]
        outputs = numpy.concatenate(outputs) if outputs else numpy.zeros((0, 28, 28, 1), numpy.float32)
        return to_unit_range(outputs, self.entry.output_range)

    def inputs(self, digits, direction=None):
        """The translator's inputs made from ``digits`` (n, 28, 28, 1) in [0, 1], as its example makes them:
        pix2pix ``edge_map``; cyclegan ``thin`` ("thin_to_thick") or ``thicken`` ("thick_to_thin");
        srgan ``downsample`` by its factor (box average)."""
        from minigan.tools.data import downsample, edge_map, thicken, thin

        self._translator(direction, "inputs")
        digits = _images(digits, f"{self.name}.inputs: digits", 28)
        if self.name == "pix2pix":
            return edge_map(digits)
        if self.name == "srgan":
            return downsample(digits, self.record["settings"]["factor"])
        return thicken(digits) if direction == "thick_to_thin" else thin(digits)

    def _translator(self, direction, method):
        if self.entry.kind != "translator":
            raise PretrainedError(f"{self.name}.{method}: {self.name} is a generator; call sample(count)")
        if self.name != "cyclegan":
            if direction is not None:
                raise PretrainedError(f"{self.name}.{method}: direction is CycleGAN's; {self.name} translates one way")
            return self.generator
        if direction is None:
            direction = DIRECTIONS[0]
        if direction not in DIRECTIONS:
            raise PretrainedError(f"cyclegan.{method}: direction must be one of {DIRECTIONS}, got {direction!r}")
        return self.generator.g if direction == DIRECTIONS[0] else self.generator.f

    # ----- discriminators -----------------------------------------------------------------------
    def classify(self, images):
        """semi_supervised: D's most likely digit for each image (n, 28, 28, 1) in [0, 1]: int64 (n,)."""
        if self.name != "semi_supervised":
            raise PretrainedError(f"{self.name}.classify: only semi_supervised's D is a classifier")
        return self._logits(images, "classify").argmax(axis=1).astype(numpy.int64)

    def discriminate(self, images):
        """D's verdict on each image (n, 28, 28, 1) in [0, 1], float32 (n,): DCGAN's logit (D(x) = σ(logit)),
        WGAN-GP's critic score, or for semi_supervised D's real/fake logit log Σₖ exp lₖ."""
        if self.discriminator is None:
            raise PretrainedError(f"{self.name}.discriminate: {self.name} ships no discriminator (dcgan, wgan_gp and "
                                  f"semi_supervised do)")
        logits = self._logits(images, "discriminate")
        if self.name == "semi_supervised":
            top = logits.max(axis=1, keepdims=True)
            return (top[:, 0] + numpy.log(numpy.exp(logits - top).sum(axis=1))).astype(numpy.float32)
        return logits.reshape(len(logits)).astype(numpy.float32)

    def _logits(self, images, method):
        images = _images(images, f"{self.name}.{method}: images", 28)
        low, high = self.entry.output_range
        scaled = images * numpy.float32(high - low) + numpy.float32(low)  # [0, 1] → the range D was trained on
        outputs = [self._run(self.discriminator, Tensor(backend.get_backend().asarray(scaled[start : start + BATCH])))
                   for start in range(0, len(scaled), BATCH)]
        return numpy.concatenate(outputs) if outputs else numpy.zeros((0, 10 if method == "classify" else 1), numpy.float32)

    # ----- scores -------------------------------------------------------------------------------
    def rescore(self):
        """The scores of the record's test sample (``record["test_sample"]``: its size, seed 0), measured again now."""
        from .scores import score

        return score(self, test=True, n=self.record["test_sample"]["size"])

    @staticmethod
    def _run(network, *arguments):
        with evaluating(network), no_grad():
            return numpy.asarray(backend.to_numpy(network(*arguments).data), dtype=numpy.float32)


# ----- argument checks: one line naming the argument ------------------------------------------------
def _count(count, name):
    if isinstance(count, bool) or not isinstance(count, (int, numpy.integer)) or count < 0:
        raise PretrainedError(f"{name}: expected an int ≥ 0, got {count!r}")
    return int(count)


def _labels(labels, count, name):
    """Digits (count,) int64 from None (0, 1, …, 9, 0, …), one digit, or a sequence of count digits."""
    if labels is None:
        return numpy.arange(count, dtype=numpy.int64) % 10
    array = numpy.asarray(labels)
    if array.ndim == 0:
        array = numpy.full(count, array)
    if array.dtype.kind not in "iu" or array.shape != (count,) or (array.size and not (0 <= array.min() and array.max() <= 9)):
        raise PretrainedError(f"{name}.sample: labels must be one digit 0..9 or {count} of them (ints), got "
                              f"dtype {array.dtype} and shape {array.shape}" + (f", values {array.min()}..{array.max()}" if array.size and array.dtype.kind in "iuf" else ""))
    return array.astype(numpy.int64)


def _images(images, name, size):
    """``images`` as float32 (n, size, size, 1) in [0, 1], from that shape or (n, size, size); one line otherwise."""
    array = numpy.asarray(backend.to_numpy(images))
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[1:] != (size, size, 1) or array.dtype.kind not in "fiu":
        raise PretrainedError(f"{name}: expected images of shape (n, {size}, {size}, 1) or (n, {size}, {size}) with values in "
                              f"[0, 1], got dtype {array.dtype} and shape {array.shape}")
    array = array.astype(numpy.float32, copy=False)
    if array.size and not (0.0 <= array.min() and array.max() <= 1.0):  # NaN fails too
        raise PretrainedError(f"{name}: expected values in [0, 1], found {array.min():g} to {array.max():g}")
    return array


__all__ = ["names", "load", "Pretrained", "PretrainedError", "WEIGHTS"]
