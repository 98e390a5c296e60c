"""Editing a digit through encoders of a conditional GAN: IcGAN (Perarnau et al. 2016, "Invertible
Conditional GANs for image editing").

A conditional GAN draws x' = G(z, y): z carries what the label y does not (the "style": slant, stroke
width), y the digit. IcGAN (§3) adds two encoders that invert G,

    E_z : x → ẑ     trained on G's own samples:   min ‖z − E_z(G(z, y))‖²,  z ~ G's prior, y uniform   (§3.2)
    E_y : x → ŷ     trained on labelled images:   min −log softmax(E_y(x))_y                            (§3.2)

and edits an image by encoding it and decoding with another label (§3.3):

    x  →  (E_z(x), E_y(x))  →  G(E_z(x), y_new)          "the same handwriting, another digit"

G stays fixed: only E_z and E_y learn. The paper trains E_y on real labelled images (its attributes on
CelebA) and E_z on generated ones, because only for G's own samples is the true z known; ``train_encoders``
does the same, E_y on real MNIST digits. G's output is in [0, 1] (the shipped conditional MLP GAN's range),
and its noise prior is U(−1, 1)^d.

Measures (``measure_edits``): the shipped classifier reads the reconstruction G(E_z(x), E_y(x)) and each
edit G(E_z(x), y'); style survival is the correlation across digits between the slant (and the stroke
width) of x and of its edit, beside the same correlation for G(random z, y'), which keeps no style.
"""

import numpy

from minigan import backend
from minigan.engine import nn
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import cross_entropy, mse_loss
from minigan.engine.optim import Adam
from minigan.gans.gan import evaluating
from minigan.gans.conditional_gan import check_labels
from minigan.tools import classifier, image_metrics

NUM_CLASSES = 10


def encoder(outputs, hidden=512):
    """An MLP from a (m, 28, 28, 1) image to (m, outputs): E_z (outputs = noise_dim) or E_y (10 logits)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))


class Encoders(nn.Module):
    """E_z and E_y as two independent networks: the paper's "IND" encoder (§3.2; it also tries one network
    with two heads, and an E_z that is given ŷ)."""

    def __init__(self, noise_dim, hidden=512, num_classes=NUM_CLASSES):
        super().__init__()
        self.encoder_z = encoder(noise_dim, hidden)
        self.encoder_y = encoder(num_classes, hidden)

    def forward(self, images):
        return self.encoder_z(images), self.encoder_y(images)


def encoder_losses(encoders, generated, noise, real, labels):
    """(L_z, L_y): the mean squared error of E_z on G's samples ``generated`` = G(``noise``, y), and the
    cross-entropy of E_y on ``real`` images with their ``labels``. Tensors; gradients reach only E."""
    loss_z = mse_loss(encoders.encoder_z(generated), noise)
    loss_y = cross_entropy(encoders.encoder_y(real), labels)
    return loss_z, loss_y


def check_digits(images, labels, caller):
    """(images (n, 28, 28, 1) float32 in [0, 1], labels (n,) int on the host), or one line naming the argument."""
    images = classifier.check_images(images, f"{caller}: images")
    labels = backend.to_numpy(check_labels(labels, len(images), name=f"{caller}: labels"))
    if len(images) == 0:
        raise ValueError(f"{caller}: expected at least one image, got none")
    return images, labels


def generate(generator, noise, labels, batch=500):
    """G(z, y) in eval mode without gradients: NumPy float32 (n, 28, 28, 1) from NumPy noise and labels."""
    xp = backend.get_backend()
    chunks = []
    with evaluating(generator), no_grad():
        for start in range(0, len(noise), batch):
            part = slice(start, start + batch)
            out = generator(Tensor(xp.asarray(noise[part])), xp.asarray(labels[part]))
            chunks.append(numpy.asarray(backend.to_numpy(out.data), dtype=numpy.float32))
    return numpy.concatenate(chunks)


def encode(encoders, images, batch=500):
    """(ẑ (n, d) float32, ŷ (n,) int): E_z(x) and the argmax of E_y(x), in eval mode, as NumPy."""
    xp = backend.get_backend()
    zs, ys = [], []
    with evaluating(encoders), no_grad():
        for start in range(0, len(images), batch):
            z, logits = encoders(Tensor(xp.asarray(images[start : start + batch])))
            zs.append(backend.to_numpy(z.data))
            ys.append(backend.to_numpy(logits.data).argmax(axis=1))
    return numpy.concatenate(zs).astype(numpy.float32), numpy.concatenate(ys)


def train_encoders(generator, noise_dim, real_images, real_labels, steps=1500, batch_size=64, lr=1e-3, seed=0,
                   hidden=512, log=print, log_every=250):
    """Train E_z on fresh samples of the fixed ``generator`` and E_y on (``real_images``, ``real_labels``).

    ``seed`` seeds minigan's default generator (``minigan.seed``: the encoders' initial weights) and the
    host stream of the samples, so the same seed gives the same encoders and losses on one backend.
    Each step draws z ~ U(−1, 1)^d and y uniform over 0..9 from ``numpy.random.default_rng(seed)``, makes
    x' = G(z, y) (eval mode, no gradient into G), takes a minibatch of real digits from the same stream,
    and makes one Adam step on L_z + L_y (the two networks share no parameter, so the sum trains each on
    its own loss). Returns the Encoders and the losses, (steps, 2) float64.
    """
    real_images, real_labels = check_digits(real_images, real_labels, "train_encoders")
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 1:
        raise ValueError(f"train_encoders: steps must be a positive int, got {steps!r}")
    backend.seed(seed)  # the encoders' initial weights come from minigan's default generator
    rng = numpy.random.default_rng(seed)
    encoders = Encoders(noise_dim, hidden)
    optimizer = Adam(encoders.parameters(), lr=lr)
    xp = backend.get_backend()
    history = numpy.zeros((steps, 2))
    for step in range(steps):
        noise = rng.uniform(-1.0, 1.0, size=(batch_size, noise_dim)).astype(numpy.float32)
        labels = rng.integers(0, NUM_CLASSES, size=batch_size)
        generated = generate(generator, noise, labels)
        rows = rng.integers(0, len(real_images), size=batch_size)
        optimizer.zero_grad()
        loss_z, loss_y = encoder_losses(encoders, Tensor(xp.asarray(generated)), Tensor(xp.asarray(noise)),
                                        Tensor(xp.asarray(real_images[rows])), xp.asarray(real_labels[rows]))
        (loss_z + loss_y).backward()
        optimizer.step()
        history[step] = float(loss_z.item()), float(loss_y.item())
        if log and log_every and (step + 1) % log_every == 0:
            log(f"  step {step + 1}/{steps}: L_z {history[step, 0]:.4f}, L_y {history[step, 1]:.4f}")
    return encoders, history


def edit(generator, encoders, images, new_labels):
    """G(E_z(x), y_new): each image redrawn with its own encoded z and the label ``new_labels`` (n,)."""
    z, _ = encode(encoders, images)
    return generate(generator, z, numpy.asarray(new_labels))


def correlation(a, b):
    """Pearson's r between two (n,) arrays, over the pairs where both are finite."""
    keep = numpy.isfinite(a) & numpy.isfinite(b)
    return float(numpy.corrcoef(a[keep], b[keep])[0, 1])


def measure_edits(generator, encoders, images, labels, noise_dim, seed=0):
    """The numbers of docs/image-editing.md for test ``images`` (n, 28, 28, 1) in [0, 1] with ``labels`` (n,).

    Returns a dict: E_y's accuracy on x; the reconstruction G(E_z(x), E_y(x)) read as x's label and its
    mean L1 to x; for each shift k = 1..9 the edit to y' = (y + k) mod 10 read as y', and G(random z, y') read
    as y' (how often G's own samples of y' are; the edit can hardly do better); and, pooled over the
    nine shifts, the correlation of slant and of stroke width between x and the edit, beside the same for
    the baseline G(random z, y') (z from the prior, drawn with ``seed``).
    """
    images, labels = check_digits(images, labels, "measure_edits")
    z, predicted = encode(encoders, images)
    reconstruction = generate(generator, z, predicted)
    read = classifier.predict(reconstruction)
    result = {"encoder_y_accuracy": float((predicted == labels).mean()),
              "reconstruction_read_as_label": float((read == labels).mean()),
              "reconstruction_l1": float(image_metrics.mean_absolute_error(reconstruction, images).mean())}
    rng = numpy.random.default_rng(seed)
    slant_x, width_x = image_metrics.slant(images), image_metrics.stroke_width(images)
    pooled = {key: [] for key in ("slant_edit", "slant_random", "width_edit", "width_random", "slant_x", "width_x")}
    success, random_success = [], []
    for shift in range(1, NUM_CLASSES):
        target = (labels + shift) % NUM_CLASSES
        edited = generate(generator, z, target)
        random = generate(generator, rng.uniform(-1.0, 1.0, size=z.shape).astype(numpy.float32), target)
        success.append(float((classifier.predict(edited) == target).mean()))
        random_success.append(float((classifier.predict(random) == target).mean()))
        pooled["slant_edit"].append(image_metrics.slant(edited))
        pooled["slant_random"].append(image_metrics.slant(random))
        pooled["width_edit"].append(image_metrics.stroke_width(edited))
        pooled["width_random"].append(image_metrics.stroke_width(random))
        pooled["slant_x"].append(slant_x)
        pooled["width_x"].append(width_x)
    pooled = {key: numpy.concatenate(value) for key, value in pooled.items()}
    result["edit_read_as_new_label"] = success  # one per shift k = 1..9
    result["random_read_as_new_label"] = random_success  # G's own samples of those labels: the classifier's ceiling here
    for measure in ("slant", "width"):
        result[f"{measure}_r_edit"] = correlation(pooled[f"{measure}_x"], pooled[f"{measure}_edit"])
        result[f"{measure}_r_random"] = correlation(pooled[f"{measure}_x"], pooled[f"{measure}_random"])
    return result


__all__ = ["check_digits", "Encoders", "encoder", "encoder_losses", "generate", "encode", "train_encoders", "edit", "correlation",
           "measure_edits"]
