"""The semi-supervised GAN: Salimans et al. 2016, "Improved Techniques for Training GANs", §3.1 and §5.

**A K-class classifier is a discriminator** (§5). Let D be a classifier of the K real classes with logits
l₁ … l_K. Add a class K + 1, "generated", whose logit is fixed to 0 ("we can fix l_{K+1}(x) = 0 ...
without changing the output of the softmax"). Then, with Z(x) = Σₖ exp lₖ(x),

    p(y = K + 1 | x) = 1 / (Z(x) + 1),        D(x) = p(real | x) = Z(x) / (Z(x) + 1) = σ(log Z(x)),

so D's real/fake logit is s = logsumexp(l), and the GAN game needs no extra output. D's loss is (§5)

    L = L_supervised + L_unsupervised
    L_supervised   = −E_{x, y ~ p_data} log p(y | x, y < K + 1)        (cross-entropy on the few labelled x)
    L_unsupervised = −{ E_{x ~ p_data} log D(x) + E_{z ~ noise} log(1 − D(G(z))) }

written stably from s: −log D(x) = softplus(s) − s and −log(1 − D(G(z))) = softplus(s). (The released
code weighs the unsupervised loss by ½; so does ``SemiSupervised`` by default.)

**G is trained by feature matching** (§3.1): instead of fooling D, G matches the statistics of real
data on an intermediate layer f(x) of D (the last hidden layer):

    ‖E_{x ~ p_data} f(x) − E_{z ~ p_z} f(G(z))‖²₂,

averaged over f's units in the released code (a constant factor, which Adam's step ignores).

**The MNIST model** of §5 (permutation-invariant: the images are flat vectors, no convolution), from the
released code: D is 784 → 1000 → 500 → 250 → 250 → 250 → 10, ReLU, every layer weight-normalised
(Salimans & Kingma 2016: ``nn.WeightNormLinear``, data-dependent initialisation on 500 training images,
the scale g trained only in the last layer), with Gaussian noise of σ = 0.3 on the input and σ = 0.5 after
every hidden layer (``nn.GaussianNoise``). G is 100 → 500 → 500 → 784, softplus, batch norm in the hidden
layers and weight norm on the sigmoid output layer. Adam, lr 0.003, β₁ 0.5, minibatches of 100 labelled,
100 unlabelled (for D) and another 100 unlabelled (for G's feature matching) images. The paper reports
93 ± 6.5 test errors of 10,000 with 100 labels (Table 1).

Algorithm 1's loop is unchanged: ``SemiSupervisedGAN`` only says how a minibatch splits (unlabelled images
for D, and a ``Supervision``: the labelled images with their labels, and the unlabelled images G matches),
and the objective is ``SemiSupervised``.
"""

from typing import NamedTuple

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import cross_entropy
from minigan.engine.ops import activations, concatenate, logsumexp
from .gan import GAN, evaluating
from .objectives import mean_probability

CLASSES = 10
NOISE_DIM = 100


# ----- the K + 1 trick -------------------------------------------------------------------------------------
def real_logit(class_logits):
    """D's real/fake logit s = log Z(x), Z = Σₖ exp lₖ: D(x) = Z / (Z + 1) = σ(s). (m, K) → (m,).

    ∂s/∂lₖ = softmax(l)ₖ, the probability the classifier gives class k (``ops.logsumexp``, computed with
    the row maximum taken out first, so that no exp overflows).
    """
    return logsumexp(class_logits, axis=-1)


# ----- the networks ------------------------------------------------------------------------------------------
class SemiSupervisedDiscriminator(nn.Module):
    """Images (m, 28, 28, 1) → class logits (m, K); ``features(x)``, the last hidden layer, is what G matches.

    ``body``: images → features (m, f); ``head``: features → logits (the last noise layer and the output).
    """

    def __init__(self, body, head):
        self.body, self.head = body, head

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))


def semi_supervised_discriminator(hidden=(1000, 500, 250, 250, 250), classes=CLASSES, input_noise=0.3, hidden_noise=0.5, init_std=0.1):
    """The released code's permutation-invariant MNIST discriminator (see the module docstring)."""
    layers, width = [nn.Flatten(), nn.GaussianNoise(input_noise)], 784                # (m, 28, 28, 1) → (m, 784)
    for i, units in enumerate(hidden):
        if i:
            layers.append(nn.GaussianNoise(hidden_noise))
        layers += [nn.WeightNormLinear(width, units, train_scale=False, init_std=init_std), nn.ReLU()]
        width = units
    head = nn.Sequential(nn.GaussianNoise(hidden_noise), nn.WeightNormLinear(width, classes, train_scale=True, init_std=init_std))
    return SemiSupervisedDiscriminator(nn.Sequential(*layers), head)


def semi_supervised_generator(noise_dim=NOISE_DIM, hidden=500):
    """z → 500 softplus → 500 softplus → 784 sigmoid, batch norm in the hidden layers, weight norm at the output.

    The released code draws z ~ U(0, 1)¹⁰⁰; here z ~ U(−1, 1)¹⁰⁰, which is the same model: z enters a dense
    layer without bias followed by batch norm, which removes the shift and the scale of 2 between the two.
    """
    return nn.Sequential(
        nn.Linear(noise_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Softplus(),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Softplus(),
        nn.WeightNormLinear(hidden, 784, train_scale=True), nn.Sigmoid(),
        nn.Reshape(28, 28, 1),
    )


# ----- the minibatches ----------------------------------------------------------------------------------------
class Supervision(NamedTuple):
    """What a semi-supervised minibatch carries beside the unlabelled images D judges.

    images (m, 28, 28, 1) and labels (m,): labelled examples for L_supervised; matching (m, 28, 28, 1): another
    minibatch of unlabelled images, whose features G's fakes must match.
    """

    images: object
    labels: object
    matching: object


def choose_labelled(labels, per_class, seed, classes=CLASSES):
    """Indices of ``per_class`` examples of each class, chosen by ``seed``: ints (classes · per_class,).

    As the released code: one random permutation of all examples, then the first ``per_class`` of each class.
    """
    labels = numpy.asarray(labels)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, numpy.integer)) or per_class < 1:
        raise ValueError(f"choose_labelled: per_class must be a positive int, got {per_class!r}")
    order = numpy.random.default_rng([seed, 2**31 + 3]).permutation(len(labels))
    chosen = []
    for digit in range(classes):
        of_class = order[labels[order] == digit]
        if len(of_class) < per_class:
            raise ValueError(f"choose_labelled: class {digit} has {len(of_class)} examples, fewer than the {per_class} asked for")
        chosen.append(of_class[:per_class])
    return numpy.concatenate(chosen)


class SemiSupervisedLoader:
    """Epochs over the unlabelled images, each minibatch with its labelled companions (the released code's scheme).

    Epoch e (seeded by (seed, e), so a resumed run sees the same batches) makes two independent permutations
    of the unlabelled images (one for D, one for G's feature matching) and, for the labelled examples,
    enough random permutations of them laid end to end to give every minibatch ``batch_size`` labelled
    examples. Each item: ``(unlabelled (m, …), Supervision(images, labels, matching))``.
    """

    def __init__(self, unlabelled, labelled_images, labelled_labels, batch_size, seed=0):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"SemiSupervisedLoader: batch_size must be a positive int, got {batch_size!r}")
        if batch_size > len(unlabelled):
            raise ValueError(f"SemiSupervisedLoader: batch_size {batch_size} is larger than the {len(unlabelled)} unlabelled images")
        if len(labelled_images) != len(labelled_labels) or not len(labelled_images):
            raise ValueError(f"SemiSupervisedLoader: expected one label per labelled image and at least one, got "
                             f"{len(labelled_images)} images and {len(labelled_labels)} labels")
        self.unlabelled, self.labelled_images, self.labelled_labels = unlabelled, labelled_images, numpy.asarray(labelled_labels)
        self.batch_size, self.seed, self.epoch = int(batch_size), int(seed), 0
        self.images = unlabelled  # what an epoch passes over (as ``DataLoader.images``: the checkpoints record its size)

    def __len__(self):
        return len(self.unlabelled) // self.batch_size

    def __iter__(self):
        rng = numpy.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        steps, m, n = len(self), self.batch_size, len(self.labelled_images)
        for_d, for_g = rng.permutation(len(self.unlabelled)), rng.permutation(len(self.unlabelled))
        repeats = -(-steps * m // n)                                              # ⌈steps·m / n⌉ permutations
        labelled = numpy.concatenate([rng.permutation(n) for _ in range(repeats)])
        for t in range(steps):
            rows = slice(t * m, (t + 1) * m)
            yield (self.unlabelled[for_d[rows]],
                   Supervision(self.labelled_images[labelled[rows]], self.labelled_labels[labelled[rows]], self.unlabelled[for_g[rows]]))


# ----- the objective ------------------------------------------------------------------------------------------
class SemiSupervised:
    """D: L_supervised + w·L_unsupervised with the K + 1 trick; G: feature matching (§3.1, §5).

    Args:
        unlabelled_weight: w, the weight of L_unsupervised; ½ (the released code's ½ factor, times its
            ``unlabeled_weight`` 1). 0 leaves a plain classifier of the labelled examples (G still trains,
            but D no longer looks at G or at the unlabelled images).

    Statistics: ``d_real``, ``d_fake`` (mean D(x) = Z/(Z + 1) on the unlabelled and the fake minibatch of D's
    step), ``supervised_loss`` and ``train_error`` (on the labelled minibatch). G's step reports only its loss.
    """

    def __init__(self, unlabelled_weight=0.5):
        if isinstance(unlabelled_weight, bool) or not isinstance(unlabelled_weight, (int, float)) or not unlabelled_weight >= 0:
            raise ValueError(f"SemiSupervised: unlabelled_weight must be a number >= 0, got {unlabelled_weight!r}")
        self.unlabelled_weight = float(unlabelled_weight)

    def discriminator_loss(self, gan, real, fake, supervision):
        """L_supervised + w·{−E log D(x) − E log(1 − D(G(z)))}, all three minibatches through D in one call.

        One call: D has no batch norm, so D of the concatenation is the concatenation of D's outputs (its
        noise is drawn per element either way), and one GEMM per layer over 3m rows is faster than three.
        """
        labelled = Tensor(backend.get_backend().asarray(supervision.images))
        m_lab, m_unl = labelled.shape[0], real.shape[0]
        logits = gan.call_discriminator(concatenate([labelled, real, fake], axis=0), supervision)   # (m_lab + m_unl + m_fake, K)
        labelled_logits, real_logits, fake_logits = logits[:m_lab], logits[m_lab : m_lab + m_unl], logits[m_lab + m_unl :]
        supervised = cross_entropy(labelled_logits, supervision.labels)                   # −log p(y | x, y < K + 1)
        loss = supervised
        s_real, s_fake = real_logit(real_logits), real_logit(fake_logits)                 # log Z(x), log Z(G(z))
        if self.unlabelled_weight:
            minus_log_d_real = activations.softplus(s_real) - s_real                     # −log D(x) = softplus(s) − s
            minus_log_not_d_fake = activations.softplus(s_fake)                          # −log(1 − D(G(z))) = softplus(s)
            loss = loss + (minus_log_d_real.mean() + minus_log_not_d_fake.mean()) * self.unlabelled_weight
        errors = labelled_logits.data.argmax(axis=1) != labelled_logits.xp.asarray(supervision.labels)
        return loss, {"d_real": mean_probability(s_real), "d_fake": mean_probability(s_fake),
                      "supervised_loss": supervised.data, "train_error": errors.mean()}  # on the device, as the loop wants

    def generator_loss(self, gan, fake, supervision):
        """mean over f's units of (E f(x) − E f(G(z)))², f = D's last hidden layer, through the frozen D."""
        real = Tensor(backend.get_backend().asarray(supervision.matching))
        real_features = gan.discriminator.features(real).mean(axis=0)            # (f,): E f(x), a constant (D is frozen)
        fake_features = gan.discriminator.features(fake).mean(axis=0)            # (f,): E f(G(z)), with G's graph
        difference = fake_features - real_features
        return (difference * difference).mean(), {}

    def __repr__(self):
        return f"SemiSupervised(unlabelled_weight={self.unlabelled_weight})"


# ----- the GAN --------------------------------------------------------------------------------------------------
class SemiSupervisedGAN(GAN):
    """Algorithm 1 on ``SemiSupervisedLoader`` minibatches: D judges (and classifies), G matches D's features."""

    def split_batch(self, batch):
        if not (isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[1], Supervision)):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield (unlabelled images, "
                            f"Supervision(...)) pairs, as SemiSupervisedLoader does; got a {type(batch).__name__}")
        return batch                                                                   # (unlabelled x, supervision)

    def check_condition(self, supervision, m, method):
        if supervision is None:  # sampling (generate) needs none: G is unconditional
            return None
        if not isinstance(supervision, Supervision):
            raise TypeError(f"{type(self).__name__}.{method}: expected a Supervision, got a {type(supervision).__name__}")
        labels = numpy.asarray(backend.to_numpy(supervision.labels))
        if len(supervision.images) != len(labels) or labels.dtype.kind not in "iu":
            raise ValueError(f"{type(self).__name__}.{method}: expected one integer label per labelled image, got "
                             f"{len(supervision.images)} images and labels of dtype {labels.dtype}, shape {labels.shape}")
        if len(supervision.matching) != m:
            raise ValueError(f"{type(self).__name__}.{method}: expected {m} unlabelled images to match, got {len(supervision.matching)}")
        return Supervision(supervision.images, backend.get_backend().asarray(labels), supervision.matching)

    def call_generator(self, noise, supervision):
        return self.generator(noise)                                                   # G(z): G sees no label

    def call_discriminator(self, x, supervision):
        return self.discriminator(x)                                                   # class logits (m, K)

    def classify(self, images, batch=1000):
        """D's predicted class of each image (n, 28, 28, 1) in eval mode (no noise): ints (n,) (NumPy)."""
        predictions = []
        with evaluating(self.discriminator), no_grad():
            for start in range(0, len(images), batch):
                logits = self.discriminator(Tensor(backend.get_backend().asarray(images[start : start + batch])))
                predictions.append(logits.numpy().argmax(axis=1))
        return numpy.concatenate(predictions) if predictions else numpy.zeros(0, numpy.int64)

    def test_errors(self, images, labels):
        """How many of ``images`` D classifies wrongly (the paper's Table 1 counts errors of 10,000)."""
        return int((self.classify(images) != numpy.asarray(labels)).sum())


ADAM_EPS = 1e-4  # the released code divides by √(v̂ + 1e-8); √v̂ + 1e-4 is that within a factor √2 (build_semi_supervised_gan)


def build_semi_supervised_gan(init_images, seed=None, lr=0.003, unlabelled_weight=0.5, adam_eps=ADAM_EPS):
    """The released code's MNIST model and recipe (module docstring), D initialised from ``init_images``.

    init_images: (n, 28, 28, 1) in [0, 1], the minibatch of the data-dependent initialisation (the released
    code used 500 training images).
    adam_eps: the released code's Adam divides by √(v̂ + 1e-8), not √v̂ + 1e-8 as ``optim.Adam`` does: the
    same for gradients much larger than 1e-4, but many of this model's gradients are of that order, and
    for them it damps the step. ε = 1e-4 on √v̂ gives that damping to within a factor √2 (equal at v̂ = 0
    and for v̂ ≫ 1e-8). What ε = 1e-8 did instead is measured in docs/gan-family.md.
    """
    generator, discriminator = semi_supervised_generator(), semi_supervised_discriminator()
    nn.data_dependent_init_(discriminator, init_images)
    return SemiSupervisedGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999), eps=adam_eps),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999), eps=adam_eps),
        noise_dim=NOISE_DIM, noise="uniform", seed=seed, objective=SemiSupervised(unlabelled_weight),
    )
