"""GANs that take an image in: Algorithm 1's loop, with the source image where the noise was.

pix2pix, CycleGAN, SRGAN and the context encoder all train G to map a *source* image s to an output in
the target domain, and D to tell real target images from G's outputs. Each is ``GAN.train_iteration``
(``minigan/gans/gan.py``) run on minibatches of image pairs, with its own objective beside it:

    pix2pix   (Isola et al. 2017)  paired edges → digit       ``pix2pix.py``    cGAN + λ·L1, D sees (s, image)
    CycleGAN  (Zhu et al. 2017)    unpaired thin ↔ thick      ``cyclegan.py``   LSGAN, cycle and identity losses
    SRGAN     (Ledig et al. 2016)  7×7 or 14×14 → 28×28       ``srgan.py``      content (MSE + features) + adversarial
    context encoder (Pathak et al. 2016): a digit with its centre hidden → that centre, ``context_encoder.py``,
              0.999·masked L2 + 0.001·adversarial, D sees the centre alone

What changes from ``GAN`` is only what the networks are given, as in ``ConditionalGAN``:

* a minibatch is a ``Pair(source, target)`` of image arrays (N, H, W, C), as
  ``DataLoader(sources, m, labels=targets)`` yields it (for CycleGAN the two are unpaired: any x with
  any y). The loop's "real examples" are the targets, and the pair is the minibatch's *condition*,
  handed to G, to D and to the objective, because the objectives need more than D's logits: pix2pix's
  L1 term and SRGAN's content loss compare G(s) with its own target in G's step;
* G is called on the source, G(s), with no noise: pix2pix found that "the generator simply learned to
  ignore the noise" and keeps dropout as its only randomness (§3.1); SRGAN and CycleGAN are
  deterministic. The GAN's ``noise_dim`` is 0, so the loop's noise is an empty (m, 0) array;
* D judges a target-domain image, alone (``conditional_discriminator=False``: SRGAN, CycleGAN) or
  next to its source, D([s, image]) concatenated along channels (pix2pix's conditional D, §3.1 and Fig. 2: "both
  the generator and discriminator observe the input edge map").

Everything else is ``GAN``'s: k discriminator steps with G under ``no_grad``, G's step through a frozen
D, reseeding iteration t from (seed, t) (dropout masks included), the state dict for checkpoints.
"""

from typing import NamedTuple

import numpy

from minigan.engine import backend
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.ops import concatenate, relu
from .gan import GAN, evaluating


class Pair(NamedTuple):
    """A minibatch of an image-to-image task: ``source`` s and ``target`` y, each (m, H, W, C)."""

    source: object
    target: object


def _tensor(array, name, method):
    if isinstance(array, Tensor):
        return array
    if not (hasattr(array, "shape") and hasattr(array, "dtype")):
        raise TypeError(f"{method}: {name} must be an array of images (m, H, W, C), got {type(array).__name__}")
    return Tensor(backend.get_backend().asarray(array))


class ImageToImageGAN(GAN):
    """``GAN`` on minibatches of ``Pair(source, target)``: G(s) makes a target-domain image, D judges it.

    Args:
        generator: maps sources (m, H, W, C) to target-domain images.
        discriminator: maps a target-domain image (or, with ``conditional_discriminator``, the source and
            the image concatenated along channels) to logits of any shape (m, …): one per image, or one
            per patch for a PatchGAN.
        generator_optimizer, discriminator_optimizer: each over its own network's parameters.
        objective: the method's losses (``pix2pix.Pix2Pix``, ``srgan.SRGAN``, ``cyclegan.CycleConsistent``).
        conditional_discriminator: True for D(s, image) (pix2pix), False for D(image).
        discriminator_steps, seed: as for ``GAN``.
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, objective,
                 conditional_discriminator=False, discriminator_steps=1, seed=None):
        super().__init__(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim=0,
                         discriminator_steps=discriminator_steps, seed=seed, objective=objective)
        self.conditional_discriminator = bool(conditional_discriminator)

    def split_batch(self, batch):
        """(sources, targets), as ``DataLoader(sources, m, labels=targets)`` yields it -> (targets, the pair)."""
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield (sources, targets) pairs, as "
                            f"DataLoader(sources, batch_size, labels=targets) does; got a {type(batch).__name__}")
        pair = Pair(*batch)
        return pair.target, pair                                          # (s, y): the pair is the condition

    def check_condition(self, condition, m, method):
        """The minibatch's ``Pair`` as tensors on the device, both with m images, or an error naming the method."""
        name = f"{type(self).__name__}.{method}"
        if not isinstance(condition, Pair):
            raise TypeError(f"{name}: expected the minibatch's Pair(source, target) of image arrays, got {type(condition).__name__}")
        pair = Pair(_tensor(condition.source, "source", name), _tensor(condition.target, "target", name))
        for part, images in zip(Pair._fields, pair):
            if images.ndim != 4 or images.shape[0] != m:
                raise ValueError(f"{name}: the {part} images must have shape ({m}, H, W, C), got shape {images.shape}")
        return pair

    def call_generator(self, noise, pair):
        return self.generator(pair.source)                                # (s): G(s), no z

    def call_discriminator(self, images, pair):
        if self.conditional_discriminator:
            return self.discriminator(concatenate([pair.source, images], axis=3))  # (s): D(s, image)
        return self.discriminator(images)

    def translate(self, sources, network=None, batch_size=500):
        """``network(s)`` (default: G) in evaluation mode, without a graph, in batches, as a NumPy array."""
        network = self.generator if network is None else network
        outputs = []
        with evaluating(network), no_grad():
            for start in range(0, len(sources), batch_size):
                batch = _tensor(sources[start : start + batch_size], "sources", "translate")
                outputs.append(backend.to_numpy(network(batch).data))
        return numpy.concatenate(outputs)


def l1_loss(prediction, target):
    """(1/n) Σ |prediction − target| over every element, a scalar Tensor.

    |d| = max(d, 0) + max(−d, 0), written with two ReLUs (the engine has no abs op), so its derivative is
    sign(d), and 0 at d = 0 (the subgradient ReLU takes at its kink).
    """
    difference = prediction - target
    return (relu(difference) + relu(-difference)).mean()


__all__ = ["Pair", "ImageToImageGAN", "l1_loss"]
