"""LSGAN (Mao et al. 2017): both players' losses are eq. 2 on hand-computed scores, for both codings of the
paper; the loop runs them unchanged; a tiny least-squares GAN learns a Gaussian; bad targets are refused."""

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan.gans.least_squares import CODINGS, LeastSquares

from conftest import to_numpy
from test_gan import samples_after_learning_a_gaussian, tiny_gan


class ScoresAre:
    """A stand-in GAN whose D returns given scores: the objective is then checked on numbers chosen by hand."""

    def __init__(self, xp, **scores):
        self.scores = {name: Tensor(xp.asarray(values, dtype=numpy.float64).reshape(-1, 1), requires_grad=True)
                       for name, values in scores.items()}

    def call_discriminator(self, x, condition):
        return self.scores[x]


REAL, FAKE = [0.9, 0.2, 1.5], [-0.4, 0.3, 0.05]


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_both_losses_are_equation_2_on_hand_computed_scores(coding, xp):
    a, b, c = CODINGS[coding]
    objective = LeastSquares.coding(coding)
    gan = ScoresAre(xp, real=REAL, fake=FAKE)
    d_loss, stats = objective.discriminator_loss(gan, "real", "fake")
    expected = 0.5 * numpy.mean((numpy.array(REAL) - b) ** 2) + 0.5 * numpy.mean((numpy.array(FAKE) - a) ** 2)
    assert numpy.isclose(d_loss.item(), expected, rtol=1e-12)
    assert numpy.isclose(to_numpy(stats["d_real"]), numpy.mean(REAL)) and numpy.isclose(to_numpy(stats["d_fake"]), numpy.mean(FAKE))
    g_loss, stats = objective.generator_loss(gan, "fake")
    assert numpy.isclose(g_loss.item(), 0.5 * numpy.mean((numpy.array(FAKE) - c) ** 2), rtol=1e-12)
    # the gradient of ½ mean (D − c)² in each score is (D − c)/m: fakes far from c are pulled hardest
    g_loss.backward()
    numpy.testing.assert_allclose(minigan.backend.to_numpy(gan.scores["fake"].grad)[:, 0], (numpy.array(FAKE) - c) / 3, rtol=1e-12)


def test_the_codings_are_the_papers():
    assert CODINGS == {"0-1": (0.0, 1.0, 1.0), "-1-1-0": (-1.0, 1.0, 0.0)}  # eq. 9 and eq. 8
    a, b, c = CODINGS["-1-1-0"]
    assert b - c == 1 and b - a == 2  # the conditions of §3.2.2 under which eq. 2 minimises the Pearson χ² divergence
    assert repr(LeastSquares()) == "LeastSquares(a=0, b=1, c=1)"


@pytest.mark.slow
@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_a_tiny_least_squares_gan_learns_a_gaussian(coding):
    """The loop of Algorithm 1 with this objective: N(3, 0.5²) from noise, as the standard GAN's test
    (at lr 2e-3: at the standard test's 5e-3 the 0-1 coding's mean was still swinging at step 1500).

    Only the mean is asserted for the χ² coding: with it this tiny G found the mean 3 but shrank its spread
    to a small fraction of 0.5 (seeds 0 and 1), a 1-D picture of mode collapse that the 0-1 coding avoided."""
    samples, stats = samples_after_learning_a_gaussian(tiny_gan(seed=0, lr=2e-3, objective=LeastSquares.coding(coding)))
    assert set(stats) >= {"d_loss", "g_loss", "d_real", "d_fake", "d_fake_after"}
    assert abs(samples.mean() - 3.0) < 0.25, samples.mean()
    if coding == "0-1":
        assert 0.3 < samples.std() < 0.75, samples.std()


def test_bad_targets_are_refused_with_their_name():
    with pytest.raises(ValueError, match="a and the real target b must differ, got a = b = 1"):
        LeastSquares(1, 1, 1)
    with pytest.raises(TypeError, match=r"c must be a real number, got 'x' \(a str\)"):  # the shared checks.finite_number
        LeastSquares(0, 1, "x")
    with pytest.raises(ValueError, match=r"coding must be one of \('0-1', '-1-1-0'\), got '0-1-1'"):
        LeastSquares.coding("0-1-1")


# ----- examples/mnist_gan.py --objective lsgan --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["lsgan", "lsgan-chi2"])
def test_mnist_gan_quick_run_with_each_coding(tmp_path, small_mnist, name):
    from minigan.tools.io import load_checkpoint

    from conftest import PNG_SIGNATURE, load_example

    out = tmp_path / "run"
    assert load_example("mnist_gan").main(["--objective", name, "--data", small_mnist, "--steps", "2", "--batch-size", "16",
                                           "--samples", "0", "--no-evaluate", "--out", str(out)]) == 0
    assert (out / "training.png").read_bytes()[:8] == PNG_SIGNATURE
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    assert metadata["config"]["objective"] == name and int(state["gan"]["counters"]["discriminator_step_count"]) == 2


def test_the_table_names_both_codings_with_the_papers_optimiser():
    from minigan.gans import models

    gan = models.build_gan("dcgan", objective="lsgan-chi2")
    assert repr(gan.objective) == "LeastSquares(a=-1, b=1, c=0)" and gan.discriminator_steps == 1
    assert (gan.generator_optimizer.lr, gan.generator_optimizer.beta1) == (2e-4, 0.5)


def test_a_generator_loss_flag_with_lsgan_is_a_usage_error(capsys):
    from conftest import assert_usage_error, load_example

    assert_usage_error(load_example("mnist_gan").parse_args, ["--objective", "lsgan", "--generator-loss", "minimax"],
                       "--generator-loss minimax: G's loss is fixed by --objective lsgan", capsys)
