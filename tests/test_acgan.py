"""ACGAN (Odena et al. 2017): the losses are −(L_S + L_C) and −(L_C − L_S) (or the non-saturating form) on
hand-computed logits; D is called without the label; a tiny ACGAN draws the class it is asked for; the
MNIST model's shapes."""

import numpy
import pytest

import minigan
from minigan import Tensor, nn, optim
from minigan.gans.acgan import ACGAN, AuxiliaryClassifier, AuxiliaryClassifierDiscriminator, build_acgan
from minigan.gans.conditional_gan import ConditionalGenerator

from conftest import to_numpy
from test_conditional_gan import MEANS, class_batches


def log_sigmoid(s):
    return -numpy.logaddexp(0, -s)


def log_softmax(k):
    return k - numpy.logaddexp.reduce(k, axis=1, keepdims=True)


class HeadsAre:
    """A stand-in GAN whose D returns given (source, class) logits for the minibatch named "real" or "fake"."""

    def __init__(self, xp, **heads):
        self.heads = {name: (Tensor(xp.asarray(s, dtype=numpy.float64).reshape(-1, 1)), Tensor(xp.asarray(k, dtype=numpy.float64)))
                      for name, (s, k) in heads.items()}
        self.seen = []

    def call_discriminator(self, x, labels):
        self.seen.append(labels)
        return self.heads[x]


S_REAL, K_REAL = [1.2, -0.3], [[2.0, 0.1, -1.0], [0.3, 0.2, 0.9]]   # read as 0 and 2: both right
S_FAKE, K_FAKE = [-0.7, 0.4], [[0.5, 0.4, 0.1], [-1.0, 2.0, 0.0]]  # read as 0 (right) and 1 (wrong)
LABELS = numpy.array([0, 2])


@pytest.mark.parametrize("real_label", [1.0, 0.9])
def test_discriminator_loss_is_minus_l_s_plus_l_c(real_label, xp):
    gan = HeadsAre(xp, real=(S_REAL, K_REAL), fake=(S_FAKE, K_FAKE))
    loss, stats = AuxiliaryClassifier(real_label=real_label).discriminator_loss(gan, "real", "fake", xp.asarray(LABELS))
    s_real, s_fake = numpy.array(S_REAL), numpy.array(S_FAKE)
    rows = numpy.arange(2)
    l_s = (real_label * log_sigmoid(s_real) + (1 - real_label) * log_sigmoid(-s_real)).mean() + log_sigmoid(-s_fake).mean()
    l_c = log_softmax(numpy.array(K_REAL))[rows, LABELS].mean() + log_softmax(numpy.array(K_FAKE))[rows, LABELS].mean()
    assert numpy.isclose(loss.item(), -(l_s + l_c), rtol=1e-12)
    assert float(to_numpy(stats["class_real"])) == 1.0 and float(to_numpy(stats["class_fake"])) == 0.5
    assert numpy.isclose(to_numpy(stats["d_real"]), (1 / (1 + numpy.exp(-s_real))).mean())


def test_class_accuracy_counts_the_rows_read_right(xp):
    from minigan.gans.acgan import class_accuracy
    logits = Tensor(xp.asarray(numpy.array(K_REAL)))
    assert float(to_numpy(class_accuracy(logits, xp.asarray(LABELS)))) == 1.0            # rows read 0 and 2: both right
    assert float(to_numpy(class_accuracy(logits, xp.asarray(numpy.array([1, 2]))))) == 0.5


@pytest.mark.parametrize("form", ["minimax", "non-saturating"])
def test_generator_loss_is_minus_l_c_minus_l_s_or_its_non_saturating_form(form, xp):
    gan = HeadsAre(xp, fake=(S_FAKE, K_FAKE))
    loss, stats = AuxiliaryClassifier(generator_loss=form).generator_loss(gan, "fake", xp.asarray(LABELS))
    s_fake, rows = numpy.array(S_FAKE), numpy.arange(2)
    l_c_fake = log_softmax(numpy.array(K_FAKE))[rows, LABELS].mean()
    if form == "minimax":
        expected = -(l_c_fake - log_sigmoid(-s_fake).mean())          # −(L_C − L_S), L_S's fake term log P(S = fake | X_fake)
    else:
        expected = -l_c_fake - log_sigmoid(s_fake).mean()              # −L_C − log P(S = real | X_fake)
    assert numpy.isclose(loss.item(), expected, rtol=1e-12)


def tiny_acgan(seed=0, lr=5e-3):
    """Two classes of 1-D data, N(±2, 0.3²); G(z, y), D(x) → (source, class) without the label."""
    minigan.seed(seed)
    generator = ConditionalGenerator(nn.Sequential(nn.Linear(4 + 2, 32), nn.ReLU(), nn.Linear(32, 1)), 2)
    discriminator = AuxiliaryClassifierDiscriminator(nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2)), 32, num_classes=2)
    return ACGAN(generator, discriminator,
                 optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
                 optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                 noise_dim=4, num_classes=2, seed=seed, objective=AuxiliaryClassifier())


def test_d_is_called_without_the_label(xp):
    gan = tiny_acgan()
    source, classes = gan.call_discriminator(Tensor(xp.zeros((3, 1), dtype=numpy.float32)), numpy.array([0, 1, 1]))
    assert source.shape == (3, 1) and classes.shape == (3, 2)
    # the same images with other labels: the same outputs, since D never sees the label
    again, _ = gan.call_discriminator(Tensor(xp.zeros((3, 1), dtype=numpy.float32)), numpy.array([1, 0, 0]))
    numpy.testing.assert_array_equal(source.numpy(), again.numpy())


@pytest.mark.slow
def test_a_tiny_acgan_draws_the_class_it_is_asked_for():
    gan = tiny_acgan(seed=0)
    batches = class_batches(64, 0)
    for _ in range(800):
        stats = gan.train_iteration(batches)
    assert float(to_numpy(stats["class_real"])) > 0.95  # D's class head reads the real classes
    minigan.seed(7)
    for label, mean in enumerate(MEANS):
        samples = gan.generate(gan.sample_noise(2000), numpy.full(2000, label)).numpy()
        assert abs(numpy.median(samples) - mean) < 0.5, (label, numpy.median(samples))
        assert (numpy.sign(samples) == numpy.sign(mean)).mean() > 0.9


def test_the_mnist_acgan_shapes_and_recipe(xp):
    gan = build_acgan(seed=0)
    images = Tensor(xp.zeros((4, 28, 28, 1), dtype=numpy.float32))
    source, classes = gan.call_discriminator(images, numpy.arange(4))
    assert source.shape == (4, 1) and classes.shape == (4, 10) and source.dtype == numpy.float32
    fake = gan.generate(gan.sample_noise(4), numpy.arange(4))
    assert fake.shape == (4, 28, 28, 1) and 0 <= float(fake.data.min()) and float(fake.data.max()) <= 1
    assert gan.objective.real_label == 0.9 and gan.noise == "uniform"


def test_bad_arguments():
    with pytest.raises(ValueError, match="generator_loss must be one of"):
        AuxiliaryClassifier(generator_loss="wasserstein")
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\], got 0"):
        AuxiliaryClassifier(real_label=0)


# ----- the example: examples/conditional_gan.py run with the AC-GAN -----------------------------------------------
def test_example_quick_run_writes_the_grid_and_measures_the_labels(tmp_path, small_mnist, capsys):
    from minigan.tools.io import load_checkpoint

    from conftest import PNG_SIGNATURE, load_example

    out = tmp_path / "run"
    assert load_example("acgan").main(["--data", small_mnist, "--steps", "2", "--batch-size", "50", "--eval-per-digit", "3",
                                       "--out", str(out)]) == 0
    assert (out / "digits_epoch_001.png").read_bytes()[:8] == PNG_SIGNATURE
    assert numpy.load(out / "samples.npy").shape == (30, 28, 28)  # the measurement's samples, for the evaluator
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    assert metadata["config"]["model"] == "acgan-mlp" and "classes.weight" in state["gan"]["discriminator"]
    report = capsys.readouterr().out
    assert "training an AC-GAN" in report and "all digits:" in report and "of 30 samples" in report
