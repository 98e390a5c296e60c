"""InfoGAN: Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information Maximizing GANs".

G's input is split into incompressible noise z and a *latent code* c, and the game is asked to keep the
mutual information between c and the sample high (paper, eq. 3), so that c comes to mean something:

    min_G max_D  V_I(D, G) = V(D, G) − λ I(c; G(z, c)).

I cannot be computed, so it is replaced by a variational lower bound with an auxiliary distribution
Q(c | x) (paper, §5, eq. 4 and Lemma 5.1):

    L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c)  ≤  I(c; G(z, c)),

tight when Q is the true posterior P(c | x); at best Q recovers c exactly and L_I = H(c). Q is a small head
on D's body (§5: "Q and D share all convolutional layers ... one final fully connected layer to output
parameters for the conditional distribution Q(c | x)"), so the bound costs almost nothing.

The MNIST set-up of §6.1: c₁ ~ Cat(K = 10, p = 0.1), c₂, c₃ ~ Unif(−1, 1), and 62 noise variables.
Q(c₁ | x) is a softmax over 10 logits, Q(c₂, c₃ | x) a factored Gaussian with unit variance (the released
code's ``fix_std``), so, for one sample,

    log Q(c₁ | x) + H(c₁)        = −CE(q, c₁) + log 10                              (at most log 10 ≈ 2.303)
    log Q(cⱼ | x) + H(cⱼ)        = −½ (cⱼ − μⱼ)² − ½ log 2π + log 2,  j = 2, 3      (at most ≈ −0.226 each)

with H(Unif(−1, 1)) = log 2. The continuous part is largest when Q's mean is the code, μⱼ = cⱼ, and even
then it is log 2 − ½ log 2π ≈ 0.693 − 0.919 = −0.226, below zero: a Gaussian whose std is fixed at 1 puts
density at most 1/√(2π) ≈ 0.40 on any point, less than the uniform prior's ½ on [−1, 1], so this part of
the bound cannot certify any information, however well Q reads cⱼ. It still does its job: its gradient
−(μⱼ − cⱼ) pulls Q's mean onto the code and G towards samples from which the code can be read.

λ = 1 for both (§6: "λ = 1 for discrete latent codes"; the released MNIST code uses 1 for the continuous
codes too). Both players descend −λ L_I beside their GAN loss: D's step trains Q and the shared body to
read c from G's fakes, G's step trains G to write c into them:

    D's loss = BCE(s_real, 1) + BCE(s_fake, 0) − λ L_I
    G's loss = BCE(s_fake, 1) − λ L_I                 (the non-saturating G loss, as the released code)

Without labels, c₁ tends to take the role of the digit (§6.1: "c₁ can be used as a classifier that
achieves 5% error rate in classifying MNIST digits"): ``code_error`` measures exactly that.

Algorithm 1's loop is unchanged: ``InfoGAN`` draws the codes of each iteration from P(c) where a
conditional GAN would take labels from the minibatch (``split_batch``), and feeds them to G.
"""

import math
from typing import NamedTuple

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import binary_cross_entropy_with_logits, cross_entropy
from minigan.engine.ops import concatenate
from .conditional_gan import one_hot
from .gan import GAN, evaluating
from .objectives import mean_probability

CATEGORIES = 10    # c₁ ~ Cat(10)
CONTINUOUS = 2     # c₂, c₃ ~ Unif(−1, 1)
NOISE_DIM = 62     # the incompressible noise z ~ Unif(−1, 1)
LOG_2PI = math.log(2 * math.pi)


# ----- the latent code -------------------------------------------------------------------------------
class Codes(NamedTuple):
    """One latent code per example: ``categories`` c₁ (m,) ints in 0..9, ``continuous`` (c₂, c₃) (m, 2) floats."""

    categories: object
    continuous: object


def sample_codes(m, rng=None, categories=CATEGORIES, continuous=CONTINUOUS):
    """m codes from the prior P(c): c₁ uniform over the categories, each continuous code U(−1, 1).

    ``rng``: a generator of the current backend (default: the training stream, ``default_rng()``).
    """
    rng = backend.default_rng() if rng is None else rng
    dtype = backend.get_backend().dtype
    xp = backend.get_backend().xp
    # ⌊u·K⌋ for u ~ U[0, 1): uniform over 0..K−1, with the same call on NumPy and CuPy generators
    c1 = xp.minimum((xp.asarray(rng.random(m)) * categories).astype(xp.int64), categories - 1)
    c_rest = xp.asarray(rng.uniform(-1.0, 1.0, size=(m, continuous))).astype(dtype)
    return Codes(c1, c_rest)


def check_codes(codes, m, categories=CATEGORIES, continuous=CONTINUOUS, name="codes"):
    """``codes`` as ``Codes`` of device arrays for m examples, or a TypeError/ValueError naming the problem."""
    if not isinstance(codes, Codes):
        raise TypeError(f"{name}: expected infogan.Codes(categories (m,) ints, continuous (m, {continuous}) floats), "
                        f"got a {type(codes).__name__}")
    be = backend.get_backend()
    c1, rest = be.asarray(codes.categories), be.asarray(codes.continuous)
    if c1.dtype.kind not in "iu" or c1.shape != (m,):
        raise ValueError(f"{name}: categories must be integers of shape ({m},), got dtype {c1.dtype} and shape {tuple(c1.shape)}")
    if c1.size and (int(c1.min()) < 0 or int(c1.max()) >= categories):
        raise ValueError(f"{name}: categories must lie in 0..{categories - 1}, found {int(c1.min())} to {int(c1.max())}")
    if rest.dtype.kind != "f" or rest.shape != (m, continuous):
        raise ValueError(f"{name}: continuous must be floats of shape ({m}, {continuous}), got dtype {rest.dtype} and shape {tuple(rest.shape)}")
    return Codes(c1, rest.astype(be.dtype, copy=False))


def mutual_information_bound(category_logits, means, codes):
    """The two parts of L_I, each a scalar Tensor averaged over the minibatch:

        categorical  E[log Q(c₁ | x)] + H(c₁) = −CE(category_logits, c₁) + log K
        continuous   Σⱼ E[log N(cⱼ; μⱼ, 1)] + H(cⱼ) = Σⱼ E[−½ (cⱼ − μⱼ)²] + J (log 2 − ½ log 2π)

    category_logits (m, K), means (m, J): Q's outputs on G(z, c); codes: the c that G was given.
    """
    categories = category_logits.shape[1]
    categorical = -cross_entropy(category_logits, codes.categories) + math.log(categories)
    difference = means - Tensor(codes.continuous)                                  # (m, J)
    squares = (difference * difference).sum(axis=1).mean()
    continuous = squares * -0.5 + means.shape[1] * (math.log(2.0) - 0.5 * LOG_2PI)
    return categorical, continuous


# ----- the networks (§6.1 and Appendix C.1, Table 4) ---------------------------------------------------
class InfoGenerator(nn.Module):
    """G(z, c) = net([z, onehot(c₁), c₂, c₃]): noise (m, 62) and ``Codes`` → images (m, 28, 28, 1)."""

    def __init__(self, net, categories=CATEGORIES):
        self.net, self.categories = net, categories

    def forward(self, noise, codes):
        c1 = one_hot(codes.categories, self.categories, dtype=noise.dtype)               # (m, 10)
        inputs = concatenate([noise, c1, Tensor(codes.continuous)], axis=1)              # (m, 62 + 10 + 2)
        return self.net(inputs)


class InfoDiscriminator(nn.Module):
    """D and Q on one body: images (m, 28, 28, 1) → (source logit (m, 1), c₁ logits (m, 10), means of c₂, c₃ (m, 2))."""

    def __init__(self, body, features, categories=CATEGORIES, continuous=CONTINUOUS, q_hidden=128):
        self.body = body
        self.source = nn.Linear(features, 1)
        self.q = nn.Sequential(nn.Linear(features, q_hidden, bias=False), nn.BatchNorm1d(q_hidden), nn.LeakyReLU(0.1),
                               nn.Linear(q_hidden, categories + continuous))
        self.categories = categories

    def forward(self, x):
        h = self.body(x)                                                      # (m, 1024)
        q = self.q(h)                                                         # (m, 10 + 2)
        return self.source(h), q[:, : self.categories], q[:, self.categories :]


def info_generator(width=64):
    """FC 1024 BN ReLU → FC 7·7·128 BN ReLU → convT 64 k4 s2 BN ReLU → convT 1 k4 s2 → sigmoid (images in [0, 1])."""
    inputs = NOISE_DIM + CATEGORIES + CONTINUOUS
    return InfoGenerator(nn.Sequential(
        nn.Linear(inputs, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(),
        nn.Linear(1024, 7 * 7 * 2 * width, bias=False), nn.BatchNorm1d(7 * 7 * 2 * width), nn.ReLU(),
        nn.Reshape(7, 7, 2 * width),                                                     # (m, 7, 7, 128)
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),        # (m, 14, 14, 64)
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),                            # (m, 28, 28, 1)
        nn.Sigmoid(),
    ))


def info_discriminator(width=64):
    """conv 64 k4 s2 lReLU → conv 128 k4 s2 BN lReLU → FC 1024 BN lReLU, then D: FC 1, Q: FC 128 BN lReLU → FC 12."""
    body = nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.1),                  # (m, 14, 14, 64)
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),                 # (m, 7, 7, 128)
        nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.1),
        nn.Flatten(),                                                                    # (m, 6272)
        nn.Linear(7 * 7 * 2 * width, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.1),
    )
    return InfoDiscriminator(body, 1024)


# ----- the objective -----------------------------------------------------------------------------------
class InformationMaximizing:
    """The GAN losses of Goodfellow et al. 2014 (non-saturating G), each minus λ L_I (paper, eq. 5).

    Args:
        lambda_categorical, lambda_continuous: λ for the c₁ part and for the c₂, c₃ part of L_I (1 and 1).

    Statistics: ``d_real``, ``d_fake``, ``d_fake_after`` as for ``Standard``; ``mi_categorical`` and
    ``mi_continuous``, the two parts of L_I in D's step (nats; at most log 10 ≈ 2.303 and
    2 (log 2 − ½ log 2π) ≈ −0.452, see the module docstring).
    """

    def __init__(self, lambda_categorical=1.0, lambda_continuous=1.0):
        for name, value in (("lambda_categorical", lambda_categorical), ("lambda_continuous", lambda_continuous)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"InformationMaximizing: {name} must be a number >= 0, got {value!r}")
        self.lambda_categorical, self.lambda_continuous = float(lambda_categorical), float(lambda_continuous)

    def information(self, categorical, continuous):
        return categorical * self.lambda_categorical + continuous * self.lambda_continuous  # λ L_I

    def discriminator_loss(self, gan, real, fake, codes):
        """BCE(s_real, 1) + BCE(s_fake, 0) − λ L_I(fake): D tells real from fake, Q reads c from the fakes."""
        real_source, _, _ = gan.call_discriminator(real, codes)
        fake_source, category_logits, means = gan.call_discriminator(fake, codes)
        categorical, continuous = mutual_information_bound(category_logits, means, codes)
        loss = (binary_cross_entropy_with_logits(real_source, 1.0) + binary_cross_entropy_with_logits(fake_source, 0.0)
                - self.information(categorical, continuous))
        return loss, {"d_real": mean_probability(real_source), "d_fake": mean_probability(fake_source),
                      "mi_categorical": categorical.data, "mi_continuous": continuous.data}

    def generator_loss(self, gan, fake, codes):
        """BCE(s_fake, 1) − λ L_I(fake): G fools D and writes c legibly into its samples."""
        fake_source, category_logits, means = gan.call_discriminator(fake, codes)
        categorical, continuous = mutual_information_bound(category_logits, means, codes)
        loss = binary_cross_entropy_with_logits(fake_source, 1.0) - self.information(categorical, continuous)
        return loss, {"d_fake_after": mean_probability(fake_source)}

    def __repr__(self):
        return f"InformationMaximizing(lambda_categorical={self.lambda_categorical}, lambda_continuous={self.lambda_continuous})"


# ----- the GAN -----------------------------------------------------------------------------------------
class InfoGAN(GAN):
    """Algorithm 1 where each iteration's condition is a code c drawn from P(c), fed to G and read by Q.

    Minibatches are plain images (m, 28, 28, 1), as for ``GAN``; the codes are drawn from the training
    stream right after the iteration's reseeding, so a resumed run draws the same codes. The D step and
    the G step of one iteration share their codes (each with its own fresh z), as a conditional GAN's
    share the minibatch's labels.
    """

    def split_batch(self, batch):
        return batch, sample_codes(batch.shape[0])                # (c): m codes from P(c)

    def check_condition(self, codes, m, method):
        return check_codes(codes, m, name=f"{type(self).__name__}.{method}: codes")

    def call_generator(self, noise, codes):
        return self.generator(noise, codes)                       # G(z, c)

    def call_discriminator(self, x, codes):
        return self.discriminator(x)                              # (source, Q's c₁ logits, Q's means): D never sees c

    def read_codes(self, images, batch=500):
        """Q's most likely c₁ for each image (n, 28, 28, 1), in eval mode: ints (n,) (NumPy)."""
        predictions = []
        with evaluating(self.discriminator), no_grad():
            for start in range(0, len(images), batch):
                chunk = Tensor(backend.get_backend().asarray(images[start : start + batch]))
                _, category_logits, _ = self.discriminator(chunk)
                predictions.append(category_logits.numpy().argmax(axis=1))
        return numpy.concatenate(predictions) if predictions else numpy.zeros(0, numpy.int64)


def build_infogan(seed=None, generator_lr=1e-3, discriminator_lr=2e-4, lambda_categorical=1.0, lambda_continuous=1.0):
    """InfoGAN for MNIST as §6.1 and the released code set it up.

    Networks of Appendix C.1 (Table 4), weights N(0, 0.02) as DCGAN; z ~ U(−1, 1)⁶², c₁ ~ Cat(10),
    c₂, c₃ ~ U(−1, 1); Adam with β₁ 0.5, learning rate 1e-3 for G and 2e-4 for D (and Q); λ = 1; images in
    [0, 1] (``load_mnist(scale="sigmoid")``).
    """
    generator, discriminator = nn.init.normal_weights_(info_generator()), nn.init.normal_weights_(info_discriminator())
    return InfoGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=generator_lr, betas=(0.5, 0.999)),
        optim.Adam(discriminator.parameters(), lr=discriminator_lr, betas=(0.5, 0.999)),
        noise_dim=NOISE_DIM, noise="uniform", seed=seed,
        objective=InformationMaximizing(lambda_categorical, lambda_continuous),
    )


# ----- what c₁ learnt: the error of c₁ as a digit classifier ---------------------------------------------
def majority_mapping(codes, labels, categories=CATEGORIES, classes=10):
    """For each code value k, the digit most often carrying it: ints (categories,), −1 for an unused code.

    codes, labels: ints (n,), Q's c₁ and the true digit of n images.
    """
    counts = numpy.zeros((categories, classes), dtype=numpy.int64)
    numpy.add.at(counts, (numpy.asarray(codes), numpy.asarray(labels)), 1)   # counts[k, d]: images with code k and digit d
    return numpy.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1), counts


def code_error(gan, mapping_images, mapping_labels, test_images, test_labels):
    """The paper's §6.1 figure: classify digits by c₁ after mapping each code to its majority digit.

    The mapping is chosen on (mapping_images, mapping_labels), the error measured on the test images,
    so no test label helps choose it. Returns ``(error, mapping, counts)``: the fraction of test images
    whose mapped code is not their digit, the (categories,) mapping, and the (categories, 10) table of
    test images per code and digit.
    """
    mapping, _ = majority_mapping(gan.read_codes(mapping_images), mapping_labels)
    test_codes = gan.read_codes(test_images)
    _, counts = majority_mapping(test_codes, test_labels)
    return float((mapping[test_codes] != numpy.asarray(test_labels)).mean()), mapping, counts
