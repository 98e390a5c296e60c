"""The two GANs for MNIST: the MLP GAN of Goodfellow et al. 2014 and DCGAN (Radford et al. 2015); and ``mlp``,
the small ReLU network of the 2-D toys.

Images are channels-last, (N, 28, 28, 1). Discriminators return logits (N, 1); the sigmoid lives in
the loss (``losses.binary_cross_entropy_with_logits``) where it can be computed stably.

MLP GAN (Goodfellow et al. 2014, §5 and the released code for MNIST)
    G: z (100) → 1200 ReLU → 1200 ReLU → 784 sigmoid            images in [0, 1]
       (the recipe here adds batch norm before each ReLU: see ``mlp_generator``)
    D: x (784) → dropout → maxout 240×5 → dropout → maxout 240×5 → dropout → 1

DCGAN for 28×28 (Radford et al. 2015, §3 "Architecture guidelines", §4 "Details of adversarial training")
    G: z (100) → dense 7·7·128 → BN → ReLU → convT 128→64 k4 s2 → BN → ReLU → convT 64→1 k4 s2 → tanh
    D: x (28×28×1) → conv 1→64 k4 s2 → LeakyReLU 0.2 → conv 64→128 k4 s2 → BN → LeakyReLU 0.2 → dense → 1
    Strided convolutions instead of pooling, batch norm in both nets except G's output and D's input
    layer, ReLU in G with tanh output, LeakyReLU(0.2) in D, every weight from N(0, 0.02); no bias before
    a batch norm (its β does that job). Train with Adam, lr 2e-4, β₁ = 0.5.
"""

import numpy

from minigan.engine import nn, optim
from .boundary_seeking import BoundarySeeking
from .gan import GAN
from .least_squares import LeastSquares
from .objectives import Standard
from .wasserstein import WGAN, WGANGP

NOISE_DIM = 100
DISCRIMINATOR_NORMS = ("batch", "layer")


# ----- the 2-D toys' networks -----------------------------------------------------------------------
def mlp(widths):
    """Dense layers of the given widths with ReLU between them and a linear output: (m, widths[0]) → (m, widths[-1]).

    The G and D of the ring of 8 Gaussians (``examples/mode_collapse.py``) and of the lab (``minigan/lab/``):
    no ReLU after the last layer, since G outputs points anywhere in the plane and D a logit or a score.
    """
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


# ----- MLP GAN --------------------------------------------------------------------------------------
def mlp_generator(noise_dim=NOISE_DIM, hidden=1200, batch_norm=True):
    """The paper's G; ``batch_norm=True`` (the recipe here) adds BatchNorm1d after each hidden layer.

    Why: without it every Adam recipe tried here collapsed within 200 iterations (the spread of the
    samples, mean per-pixel std, fell to 0.005–0.025 against 0.19 for MNIST): G's hidden features vary
    with z, but nothing keeps that variation from averaging out in the output layer, so every fake gets
    the same gradient from D. Batch norm normalises each hidden feature *across the minibatch* (Radford et
    al. 2015 use it in G for this reason), and the spread grew to 0.13 within 1000 iterations.
    """
    norm = (lambda: [nn.BatchNorm1d(hidden)]) if batch_norm else (lambda: [])
    return nn.Sequential(
        nn.Linear(noise_dim, hidden, bias=not batch_norm), *norm(), nn.ReLU(),
        nn.Linear(hidden, hidden, bias=not batch_norm), *norm(), nn.ReLU(),
        nn.Linear(hidden, 784), nn.Sigmoid(),
        nn.Reshape(28, 28, 1),
    )


def init_output_bias_from_marginals_(generator, images):
    """Set the sigmoid output layer's bias to logit(mean pixel), so that G starts at the mean image.

    The released code of Goodfellow et al. 2014 did this (pylearn2's ``init_sigmoid_bias_from_marginals``).
    Without it G starts at 0.5 everywhere, D separates real from fake by background brightness alone,
    every fake gets the same gradient, and G collapses onto one image within a few hundred steps.
    """
    output = [layer for layer in generator.layers if isinstance(layer, nn.Linear)][-1]
    mean = images.reshape(len(images), -1).mean(axis=0).clip(1e-3, 1 - 1e-3)  # (784,) in (0, 1)
    output.bias.data[...] = output.bias.xp.asarray(numpy.log(mean / (1 - mean)), dtype=output.bias.dtype)
    return generator


def mlp_discriminator(units=240, pieces=5, input_dropout=0.2, hidden_dropout=0.5):
    return nn.Sequential(
        nn.Flatten(),
        nn.Dropout(input_dropout),
        nn.Maxout(784, units, pieces), nn.Dropout(hidden_dropout),
        nn.Maxout(units, units, pieces), nn.Dropout(hidden_dropout),
        nn.Linear(units, 1),
    )


# ----- DCGAN ----------------------------------------------------------------------------------------
def dcgan_generator(noise_dim=NOISE_DIM, width=64):
    return nn.Sequential(
        nn.Linear(noise_dim, 7 * 7 * 2 * width, bias=False),
        nn.Reshape(7, 7, 2 * width),                                                  # (N, 7, 7, 128)
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),     # (N, 14, 14, 64)
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),                          # (N, 28, 28, 1)
        nn.Tanh(),
    )


def dcgan_discriminator(width=64, norm="batch"):
    """DCGAN's D; ``norm="layer"`` puts layer norm over each example's (7, 7, 128) features where batch
    norm was: the WGAN-GP critic (Gulrajani et al. 2017, §4), whose penalty is per example and so must
    not see the other examples of the batch, as batch norm makes every output do."""
    if norm not in DISCRIMINATOR_NORMS:
        raise ValueError(f"dcgan_discriminator: norm must be one of {DISCRIMINATOR_NORMS}, got {norm!r}")
    normalise = nn.BatchNorm2d(2 * width) if norm == "batch" else nn.LayerNorm((7, 7, 2 * width))
    return nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1),                                   # (N, 14, 14, 64)
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),               # (N, 7, 7, 128)
        normalise, nn.LeakyReLU(0.2),
        nn.Flatten(),                                                                  # (N, 6272)
        nn.Linear(7 * 7 * 2 * width, 1),
    )


# ----- what each objective trains with ---------------------------------------------------------------
class Recipe:
    """An objective and the optimiser, learning rate, betas and k its paper trains it with.

    ``build(generator_loss, real_label, r1_gamma, r1_every)`` makes the objective; ``optimizer`` is ``"adam"`` or ``"rmsprop"``;
    ``critic_norm``: the DCGAN critic's normalisation for this objective ("batch" or "layer");
    ``critic``: D is a Wasserstein critic, whose raw scores (not probabilities) the statistics report;
    ``generator_formula``: G's loss, for the one line that refuses a --generator-loss this objective fixes.
    """

    def __init__(self, build, discriminator_steps, optimizer, lr, betas=None, critic_norm="batch", critic=False,
                 generator_formula=None):
        self.build, self.discriminator_steps, self.optimizer = build, discriminator_steps, optimizer
        self.lr, self.betas, self.critic_norm, self.critic = lr, betas, critic_norm, critic
        self.generator_formula = generator_formula


def _standard(generator_loss, real_label, r1_gamma, r1_every):
    return Standard(generator_loss, real_label, r1_gamma=r1_gamma, r1_every=r1_every)


# One line per objective: name -> its paper's recipe. ``lr=None``: the model's own (DCGAN's 2e-4).
OBJECTIVES = {
    "standard": Recipe(_standard, 1, "adam", None, (0.5, 0.999)),                      # Radford et al. 2015, §4
    "wgan": Recipe(lambda *_: WGAN(clip=0.01), 5, "rmsprop", 5e-5, critic=True),      # Arjovsky et al. 2017, Alg. 1
    "wgan-gp": Recipe(lambda *_: WGANGP(penalty_weight=10.0), 5, "adam", 1e-4, (0.0, 0.9), critic_norm="layer", critic=True),  # Gulrajani et al. 2017, Alg. 1
    "lsgan": Recipe(lambda *_: LeastSquares.coding("0-1"), 1, "adam", None, (0.5, 0.999),
                    generator_formula="½ E[(D(G(z)) − c)²]"),                          # Mao et al. 2017: a = 0, b = c = 1
    "lsgan-chi2": Recipe(lambda *_: LeastSquares.coding("-1-1-0"), 1, "adam", None, (0.5, 0.999),
                         generator_formula="½ E[(D(G(z)) − c)²]"),                     # Mao et al. 2017: a = −1, b = 1, c = 0
    "bgan": Recipe(lambda *_: BoundarySeeking(), 1, "adam", None, (0.5, 0.999),
                   generator_formula="½ E[(log D(G(z)) − log(1 − D(G(z))))²]"),        # Hjelm et al. 2018: DCGAN's optimiser
}


# ----- ready-made GANs ------------------------------------------------------------------------------
def build_gan(model="dcgan", lr=None, generator_loss="non-saturating", discriminator_steps=None, seed=None, images=None,
              objective="standard", r1_gamma=0.0, r1_every=1):
    """A GAN ready to train on MNIST, with the recipe documented for each model.

    ``objective``: a name in ``OBJECTIVES``, whose paper fixes k (``discriminator_steps``), the optimiser
    and its learning rate and betas unless given: WGAN (RMSprop lr 5e-5, k = 5, clipping c = 0.01),
    WGAN-GP (Adam lr 1e-4, β = (0, 0.9), k = 5, λ = 10, and layer norm in the DCGAN critic); LSGAN and the
    boundary-seeking GAN ("bgan") train with the model's own optimiser and k = 1. The
    model's own recipe below is the "standard" objective's. ``r1_gamma``, ``r1_every``: the R1 penalty
    (standard objective only, ``objectives.Standard``). ``generator_loss`` and the MLP's label smoothing
    are the standard objective's.

    DCGAN: Adam(lr 2e-4, β₁ 0.5) for both nets, N(0, 0.02) init, noise N(0, I); images in [−1, 1].

    MLP GAN (see docs/training-mnist.md, "The MLP GAN recipe"): batch norm in G's hidden layers, Adam(lr 2e-4, β₁ 0.5)
    for both nets, one-sided label smoothing (real target 0.9), dropout in D and noise U(−1, 1) as in the
    paper, images in [0, 1], and — when the training ``images`` are given — G's output bias set from the
    pixel marginals.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"build_gan: objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
    recipe = OBJECTIVES[objective]
    # The other objectives' builders ignore these three, so a value given for one of them would be lost
    # without a word: refused here, as examples/mnist_gan.py refuses the same flags.
    if r1_gamma != 0 and objective != "standard":
        raise ValueError(f"build_gan: r1_gamma={r1_gamma!r}: R1 is an option of the standard objective, not of objective={objective!r}")
    if r1_every != 1 and not (objective == "standard" and r1_gamma != 0):
        raise ValueError(f"build_gan: r1_every={r1_every!r} spaces the R1 penalty, which is off; give r1_gamma > 0 "
                         f"(with objective='standard') with it")
    if generator_loss != "non-saturating" and recipe.critic:
        raise ValueError(f"build_gan: generator_loss={generator_loss!r}: a Wasserstein critic's G descends −E[D(G(z))]; "
                         f"the choice is the standard objective's, not objective={objective!r}'s")
    if generator_loss != "non-saturating" and objective != "standard":
        raise ValueError(f"build_gan: generator_loss={generator_loss!r}: G's loss is fixed by objective={objective!r} "
                         f"({recipe.generator_formula}); the choice is the standard objective's")
    if model == "dcgan":
        generator = nn.init.normal_weights_(dcgan_generator())
        discriminator = nn.init.normal_weights_(dcgan_discriminator(norm=recipe.critic_norm))
        noise, real_label = "normal", 1.0
    elif model == "mlp":
        generator, discriminator = mlp_generator(), mlp_discriminator()
        if images is not None:
            init_output_bias_from_marginals_(generator, images)
        noise, real_label = "uniform", 0.9
    else:
        raise ValueError(f"build_gan: model must be 'dcgan' or 'mlp', got {model!r}")
    if lr is None:
        lr = 2e-4 if recipe.lr is None else recipe.lr  # the objective's paper's, else the model's
    if recipe.optimizer == "rmsprop":
        make_optimizer = lambda net: optim.RMSprop(net.parameters(), lr=lr)
    else:
        make_optimizer = lambda net: optim.Adam(net.parameters(), lr=lr, betas=recipe.betas)
    return GAN(
        generator, discriminator, make_optimizer(generator), make_optimizer(discriminator),
        noise_dim=NOISE_DIM, discriminator_steps=recipe.discriminator_steps if discriminator_steps is None else discriminator_steps,
        noise=noise, seed=seed, objective=recipe.build(generator_loss, real_label, r1_gamma, r1_every),
    )


IMAGE_RANGE = {"dcgan": "tanh", "mlp": "sigmoid"}  # which scaling each model's data needs
OUTPUT_RANGE = {"dcgan": (-1.0, 1.0), "mlp": (0.0, 1.0)}  # the (low, high) of each model's images: tanh or sigmoid
