"""What each shipped model is: which example trained it, which of its networks are kept, and how to rebuild
them from the settings its checkpoint records, with the project's own builders.

One ``Entry`` per name. ``build(settings)`` returns {network name: Module} with fresh (meaningless) weights of
the right shapes; ``load`` then copies the shipped weights into them. The settings are those the example
recorded in its checkpoint's ``config`` (``minigan/tools/runs/harness.py``), so a model trained with other
flags (``--width 16``) is rebuilt with them.

Kinds (what the model does, ``Pretrained``'s methods):
    generator     G(z): ``sample(count, seed)``                     dcgan, mlp_gan, wgan_gp, semi_supervised
    conditional   G(z | y): ``sample(count, seed, labels)``          conditional_gan, acgan
    infogan       G(z, c): ``sample(count, seed, codes)``            infogan
    translator    G(s): ``translate(images)``, ``inputs(digits)``     pix2pix, cyclegan, srgan
and semi_supervised's D is also a classifier (``classify``), dcgan's and wgan_gp's D a judge (``discriminate``).
"""

from typing import Callable, NamedTuple

from minigan.engine import nn
from minigan.gans import models
from minigan.gans.conditional_gan import conditional_mlp_generator
from minigan.gans.cyclegan import CycleGenerators, resnet_generator
from minigan.gans.infogan import NOISE_DIM as INFO_NOISE_DIM, info_generator
from minigan.gans.semi_supervised import NOISE_DIM as SEMI_NOISE_DIM, semi_supervised_discriminator, semi_supervised_generator
from minigan.gans.srgan import SuperResolution


class Entry(NamedTuple):
    """How one shipped model is made, kept and used.

    ``script``: the example that trains it, and ``flags`` the flags beyond its defaults (the README's
    command); ``variant``: the sub-folder of a run of several variants that holds it (None: the run folder);
    ``fixed``: {setting: value} its checkpoint's config must hold (so that the exporter refuses another
    model's run); ``kind``: see the module docstring; ``networks``: the names kept, in the checkpoint's
    ``gan`` state; ``build(settings)``: {name: Module}; ``noise``: "normal" or "uniform" and ``noise_dim``
    for z; ``output_range``: (low, high) of G's images; ``summary``: one line for ``describe``.
    """

    name: str
    script: str
    flags: tuple
    variant: object
    fixed: dict
    kind: str
    networks: tuple
    build: Callable
    noise: str = None
    noise_dim: int = 0
    output_range: tuple = (0.0, 1.0)
    summary: str = ""


def _mnist_gan(settings):
    """examples/mnist_gan.py's G and D: DCGAN's (with the critic's layer norm under WGAN-GP) or the MLP GAN's."""
    if settings["model"] == "mlp":
        return {"generator": models.mlp_generator()}
    norm = models.OBJECTIVES[settings["objective"]].critic_norm
    return {"generator": models.dcgan_generator(), "discriminator": models.dcgan_discriminator(norm=norm)}


def _semi_supervised(settings):
    return {"generator": semi_supervised_generator(), "discriminator": semi_supervised_discriminator()}


def _pix2pix(settings):
    width = settings["width"]
    return {"generator": nn.UNet(1, 1, widths=(width, 2 * width))}   # build_pix2pix's G (its dropout is off in eval mode)


def _cyclegan(settings):
    make = lambda: resnet_generator(1, settings["width"], settings["blocks"])
    return {"generator": CycleGenerators(make(), make())}            # .g: X (thin) → Y (thick), .f: Y → X


def _srgan(settings):
    return {"generator": SuperResolution(settings["factor"], settings["width"], settings["blocks"])}


ENTRIES = (
    Entry("dcgan", "mnist_gan.py", (), None, {"model": "dcgan", "objective": "standard"}, "generator", ("generator", "discriminator"),
          _mnist_gan, "normal", models.NOISE_DIM, (-1.0, 1.0), "DCGAN (Radford et al. 2015), G and D"),
    Entry("mlp_gan", "mnist_gan.py", ("--model", "mlp"), None, {"model": "mlp", "objective": "standard"}, "generator", ("generator",),
          _mnist_gan, "uniform", models.NOISE_DIM, (0.0, 1.0), "the MLP GAN of Goodfellow et al. 2014, G"),
    Entry("conditional_gan", "conditional_gan.py", (), None, {"model": "conditional-mlp"}, "conditional", ("generator",),
          lambda settings: {"generator": conditional_mlp_generator()}, "uniform", models.NOISE_DIM, (0.0, 1.0),
          "the conditional MLP GAN (Mirza & Osindero 2014), G(z | digit)"),
    Entry("acgan", "acgan.py", (), None, {"model": "acgan-mlp"}, "conditional", ("generator",),
          lambda settings: {"generator": conditional_mlp_generator()}, "uniform", models.NOISE_DIM, (0.0, 1.0),
          "the AC-GAN (Odena et al. 2017), G(z, digit)"),
    Entry("infogan", "infogan.py", (), None, {"model": "infogan"}, "infogan", ("generator",),
          lambda settings: {"generator": info_generator()}, "uniform", INFO_NOISE_DIM, (0.0, 1.0),
          "InfoGAN (Chen et al. 2016), G(z, c)"),
    Entry("semi_supervised", "semi_supervised.py", (), None, {"model": "semi-supervised"}, "generator", ("generator", "discriminator"),
          _semi_supervised, "uniform", SEMI_NOISE_DIM, (0.0, 1.0),
          "the semi-supervised GAN (Salimans et al. 2016), D a 10-class classifier from 100 labels, and its G"),
    Entry("wgan_gp", "mnist_gan.py", ("--objective", "wgan-gp"), None, {"model": "dcgan", "objective": "wgan-gp"}, "generator",
          ("generator", "discriminator"), _mnist_gan, "normal", models.NOISE_DIM, (-1.0, 1.0),
          "WGAN-GP (Gulrajani et al. 2017), G and the critic"),
    Entry("pix2pix", "pix2pix.py", ("--variants", "cgan+l1"), "cgan+l1", {"variant": "cgan+l1"}, "translator", ("generator",),
          _pix2pix, output_range=(-1.0, 1.0), summary="pix2pix (Isola et al. 2017), edge map → digit, G"),
    Entry("cyclegan", "cyclegan.py", ("--variants", "cyclegan"), "cyclegan", {"variant": "cyclegan"}, "translator", ("generator",),
          _cyclegan, output_range=(-1.0, 1.0), summary="CycleGAN (Zhu et al. 2017), thin ↔ thick strokes, G and F"),
    Entry("srgan", "srgan.py", (), "srgan", {"variant": "srgan"}, "translator", ("generator",),
          _srgan, output_range=(-1.0, 1.0), summary="SRGAN (Ledig et al. 2016), 7×7 → 28×28, G"),
)

CATALOGUE = {entry.name: entry for entry in ENTRIES}
