"""A conditional GAN: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets".

Both players are told the class y of the example. The generator draws G(z | y), a sample *of class y*;
the discriminator judges D(x | y), the probability that x is a real example of class y. The game is
Goodfellow et al.'s with y added to both players (Mirza & Osindero 2014, §3.2, eq. 2):

    min_G max_D  V(D, G) = E_{x,y ~ p_data}[log D(x | y)] + E_{z ~ p_z, y ~ p_data}[log(1 − D(G(z | y) | y))].

What changes from ``minigan/gans/gan.py`` (Algorithm 1) is only what the networks are given:

* minibatches are pairs (images (m, 28, 28, 1), labels (m,)), as ``DataLoader(images, m, labels=labels)``
  yields them;
* the fakes of a step are drawn **for the labels of the real minibatch**, G(z | yᵢ) for each yᵢ, in D's
  step and in G's step. Why: eq. 2 draws the fakes' y from the data's label distribution, and the real
  batch's labels are a sample of exactly that (MNIST's classes are not quite uniform: 11% of the digits
  are ones); and in D's step the real and the fake half then hold the same labels, so the label alone
  says nothing about real against fake: D can only win by checking whether x looks like a y;
* D sees the label it must check the image against: real (x, y) pairs count as real, (G(z | y), y) as fake.

Everything else -- the loop itself (``GAN.train_iteration``), the losses (``objectives.Standard``), k
discriminator steps per generator step, freezing D during G's step, reseeding iteration t from (seed, t)
so that a resumed run draws what the uninterrupted run drew -- is ``GAN``'s, unchanged: ``ConditionalGAN``
overrides only how a minibatch splits into (x, y), how the labels are checked, and how G and D are called.

How the label enters the networks (the simplest way, Mirza & Osindero 2014, §3.2, Fig. 1): as a one-hot
vector, concatenated to the noise for G and to the flattened image for D::

    G:  [z (m, 100), onehot(y) (m, 10)]  (m, 110)  → the MLP generator → (m, 28, 28, 1)
    D:  [dropout(flatten(x)) (m, 784), onehot(y) (m, 10)]  (m, 794)  → maxout D → logits (m, 1)

A one-hot input into a dense layer adds the weight column of class y to the layer's pre-activation: each
class gets its own learned bias, W onehot(y) = W[:, y]. ``minigan.concatenate`` carries the gradient back
to the noise or image part unchanged (labels get none: they are constants).

The paper's own MNIST nets (§4.1) fed y through a separate hidden layer first (G: z → 200 ReLU and y → 1000 ReLU,
joined in 1200 ReLU; D: x → maxout 240×5 and y → maxout 50×5, joined in maxout 240×4); here the project's
MLP GAN recipe (``models.build_gan("mlp")``, see docs/training-mnist.md, "The MLP GAN recipe": batch norm in G, maxout D
with dropout, label smoothing 0.9, Adam 2e-4 β₁ 0.5, U(−1, 1) noise, G's output bias from the pixel
marginals) is reused with the one-hot concatenated at the input, so that the label is the only change.
"""

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor
from minigan.engine.ops import concatenate
from . import models
from .gan import GAN

NUM_CLASSES = 10  # MNIST's digits 0..9


# ----- labels ---------------------------------------------------------------------------------------
def check_labels(labels, batch_size, num_classes=NUM_CLASSES, name="labels"):
    """``labels`` as an integer array (m,) on the current device, or a TypeError/ValueError naming the problem.

    Accepted: a NumPy or CuPy array, a ``Tensor`` or a list, of an integer dtype, shape (batch_size,)
    (any length (m,) when ``batch_size`` is None), every value in 0 .. num_classes − 1.

    This is the check of labels *where they enter*: ``ConditionalGAN``'s methods make it once per
    minibatch, and the networks' forward passes do not repeat it for labels already on the device
    (``_forward_labels``). Labels from the host (a ``DataLoader``'s) are checked there, before they are
    copied to the device: nothing waits for the GPU. Labels already on a device cost one device→host
    transfer, for their smallest and largest value together.
    """
    labels = _label_array(labels)
    _check_label_layout(labels, batch_size, num_classes, name)
    if labels.size:
        xp = backend.array_module(labels)
        low, high = backend.to_numpy(xp.stack([labels.min(), labels.max()])).tolist()  # on the host: no transfer
        if low < 0 or high >= num_classes:
            raise ValueError(f"{name}: expected class labels in 0..{num_classes - 1}, found values from {low} to {high}")
    return backend.get_backend().asarray(labels)


def _label_array(labels):
    """A Tensor's array, a list as an int64 NumPy array, an array as it is."""
    if isinstance(labels, Tensor):
        return labels.data
    if not hasattr(labels, "dtype") or not hasattr(labels, "shape"):
        return numpy.asarray(labels)  # a list of ints becomes int64
    return labels


def _check_label_layout(labels, batch_size, num_classes, name):
    """The checks that need no values (dtype and shape): free on any device."""
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels 0..{num_classes - 1} (an int array of shape "
                        f"({batch_size},)), got dtype {labels.dtype}")
    if batch_size is None and labels.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of shape (m,), one label per example, got shape {tuple(labels.shape)}")
    if batch_size is not None and labels.shape != (batch_size,):
        raise ValueError(f"{name}: expected shape ({batch_size},), one label per example of the batch of "
                         f"{batch_size}, got shape {tuple(labels.shape)}")


def _forward_labels(labels, batch_size, num_classes, name):
    """Labels as a network's forward pass takes them: host labels (NumPy, lists) are checked in full, which
    is free, and copied to the device; labels already on the device are checked for dtype and shape only:
    their values were checked where they entered (``check_labels``), and checking them again in every
    forward would wait for the GPU every time."""
    labels = _label_array(labels)
    if backend.array_module(labels) is numpy:
        return check_labels(labels, batch_size, num_classes, name)
    _check_label_layout(labels, batch_size, num_classes, name)
    return labels


def one_hot(labels, num_classes=NUM_CLASSES, dtype=None):
    """The one-hot codes of ``labels`` (m,) ints: a constant Tensor (m, num_classes) with row i = e_{labels[i]}.

    ``dtype`` defaults to the backend's float32; pass the dtype of what the codes are concatenated to.
    """
    return _codes(check_labels(labels, None, num_classes), num_classes, dtype)


def _codes(labels, num_classes, dtype=None):
    """onehot(labels) for labels already checked and on the device."""
    xp = backend.array_module(labels)
    return Tensor(xp.eye(num_classes, dtype=dtype or backend.get_backend().dtype)[labels])  # row y of I is e_y


# ----- conditional networks -------------------------------------------------------------------------
class ConditionalGenerator(nn.Module):
    """G(z | y) = net([z, onehot(y)]): noise (m, noise_dim) and labels (m,) → samples (for MNIST (m, 28, 28, 1)).

    ``net`` maps (m, noise_dim + num_classes) to samples, e.g. ``models.mlp_generator(noise_dim + 10)``.
    """

    def __init__(self, net, num_classes=NUM_CLASSES):
        self.net, self.num_classes = net, num_classes

    def forward(self, noise, labels):
        labels = _forward_labels(labels, noise.shape[0], self.num_classes, "ConditionalGenerator: labels")
        codes = _codes(labels, self.num_classes, dtype=noise.dtype)                  # (m, num_classes)
        return self.net(concatenate([noise, codes], axis=1))                         # (m, noise_dim + num_classes) → samples


class ConditionalDiscriminator(nn.Module):
    """D(x | y) = joint_net([image_net(x), onehot(y)]): images (m, …) and labels (m,) → logits (m, 1).

    ``image_net`` maps the images to flat features (m, f) (for the MLP: flatten and input dropout);
    ``joint_net`` maps (m, f + num_classes) to logits (m, 1). The one-hot code is joined *after* the input
    dropout, so that dropout never hides the label D must check the image against.
    """

    def __init__(self, image_net, joint_net, num_classes=NUM_CLASSES):
        self.image_net, self.joint_net, self.num_classes = image_net, joint_net, num_classes

    def forward(self, images, labels):
        labels = _forward_labels(labels, images.shape[0], self.num_classes, "ConditionalDiscriminator: labels")
        features = self.image_net(images)                                            # (m, f)
        codes = _codes(labels, self.num_classes, dtype=features.dtype)               # (m, num_classes)
        return self.joint_net(concatenate([features, codes], axis=1))               # (m, f + num_classes) → (m, 1)


def conditional_mlp_generator(noise_dim=models.NOISE_DIM, num_classes=NUM_CLASSES, hidden=1200):
    """The project's MLP generator (batch norm in the hidden layers) with z and onehot(y) as its input."""
    return ConditionalGenerator(models.mlp_generator(noise_dim + num_classes, hidden), num_classes)


def conditional_mlp_discriminator(num_classes=NUM_CLASSES, units=240, pieces=5, input_dropout=0.2, hidden_dropout=0.5):
    """The maxout discriminator of Goodfellow et al. 2014 with onehot(y) joined to the flattened image."""
    return ConditionalDiscriminator(
        image_net=nn.Sequential(nn.Flatten(), nn.Dropout(input_dropout)),           # (m, 28, 28, 1) → (m, 784)
        joint_net=nn.Sequential(
            nn.Maxout(784 + num_classes, units, pieces), nn.Dropout(hidden_dropout),
            nn.Maxout(units, units, pieces), nn.Dropout(hidden_dropout),
            nn.Linear(units, 1),
        ),
        num_classes=num_classes,
    )


# ----- the training algorithm: GAN's loop, with the label added to both players -----------------------
class ConditionalGAN(GAN):
    """``GAN`` whose players see the label: minibatches are (images, labels) pairs, G draws G(z | y).

    Takes ``GAN``'s arguments (the generator and discriminator are a ``ConditionalGenerator`` and a
    ``ConditionalDiscriminator``, or any modules called as G(z, labels) and D(x, labels)), plus
    ``num_classes``. ``GAN.train_iteration`` runs unchanged; the methods below are the only ones that
    differ, and the comments marked "(y)" say where the label enters. With them the objective's losses
    become eq. 2's: D's −[log D(x | y) + log(1 − D(G(z | y) | y))], G's log(1 − D(G(z | y) | y)) or,
    non-saturating, −log D(G(z | y) | y). So:

        gan.train_iteration(real_batches)         real_batches yields (images (m, …), labels (m,)) pairs
        gan.discriminator_step(images, labels)    D on real (x, y) and fakes (G(z | y), y), the same labels
        gan.generator_step(m, labels)             G on m fakes G(z | y) judged as D(G(z | y) | y)
        gan.generate(noise, labels)               G(z | y) in evaluation mode
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim,
                 num_classes=NUM_CLASSES, **gan_options):
        super().__init__(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim, **gan_options)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"ConditionalGAN: num_classes must be an int >= 2, got {num_classes!r}")
        self.num_classes = num_classes

    def split_batch(self, batch):
        """(images, labels) as ``DataLoader(images, m, labels=labels)`` yields it -> (x, condition y)."""
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield (images, labels) pairs, as "
                            f"DataLoader(images, batch_size, labels=labels) does; got a {type(batch).__name__}")
        images, labels = batch
        return images, labels                                                           # (y): the batch's labels

    def check_condition(self, condition, m, method):
        """The labels for m examples as an int array (m,) on the device, or an error naming the method: where
        labels enter, they are checked once (``check_labels``), not again in G's and D's forward passes."""
        name = f"{type(self).__name__}.{method}: labels"
        if condition is None:
            raise TypeError(f"{name}: a conditional GAN needs the class labels, an int array of shape ({m},), got None")
        return check_labels(condition, m, self.num_classes, name)

    def call_generator(self, noise, labels):
        return self.generator(noise, labels)                                            # (y): G(z | y)

    def call_discriminator(self, x, labels):
        return self.discriminator(x, labels)                                            # (y): D(x | y)


def build_conditional_gan(lr=2e-4, generator_loss="non-saturating", discriminator_steps=1, seed=None, images=None,
                          num_classes=NUM_CLASSES):
    """A conditional MLP GAN for MNIST with the project's MLP GAN recipe (see ``models.build_gan("mlp")``).

    Batch norm in G's hidden layers, maxout D with dropout, one-sided label smoothing (real target 0.9),
    U(−1, 1) noise, Adam(lr 2e-4, β₁ 0.5) for both nets, images in [0, 1] (``load_mnist(scale="sigmoid")``);
    when the training ``images`` (n, 28, 28, 1) are given, G's output bias starts at logit(mean pixel).
    """
    generator = conditional_mlp_generator(num_classes=num_classes)
    discriminator = conditional_mlp_discriminator(num_classes=num_classes)
    if images is not None:
        models.init_output_bias_from_marginals_(generator.net, images)
    return ConditionalGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        noise_dim=models.NOISE_DIM, num_classes=num_classes, generator_loss=generator_loss,
        discriminator_steps=discriminator_steps, noise="uniform", real_label=0.9, seed=seed,
    )
