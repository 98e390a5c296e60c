"""BiGAN (Donahue et al. 2017): the losses are eq. 3 on hand-computed logits; E's gradient reaches E through
D's pair input (and D's step leaves E alone); a short run is finite and reproducible; the 1-NN protocol on
hand-made points; the example's pictures and its exact resume."""

import math

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan.gans.bigan import BiGAN, Bidirectional, Pair, build_bigan, nearest_neighbour_accuracy

from conftest import PNG_SIGNATURE, assert_resume_matches_one_run, load_example, to_numpy


def log_sigmoid(s):
    return -numpy.logaddexp(0.0, -numpy.asarray(s, numpy.float64))


class OutputsAre:
    """A stand-in GAN: D's logits on the real pair and on the fake pair are given; E(x) is a marker."""

    def __init__(self, xp, real_logits, fake_logits):
        self.real_logits = Tensor(xp.asarray(numpy.array(real_logits, numpy.float64).reshape(-1, 1)))
        self.fake_logits = Tensor(xp.asarray(numpy.array(fake_logits, numpy.float64).reshape(-1, 1)))
        self.code = object()

    def encode_batch(self, x):
        return self.code

    def call_discriminator(self, pair, x):
        return self.real_logits if pair.z is self.code else self.fake_logits


def test_the_losses_are_equation_3_on_hand_computed_logits(xp):
    s_real, s_fake = [1.5, -0.3], [0.2, -2.0]
    gan = OutputsAre(xp, s_real, s_fake)
    real, fake = Tensor(xp.zeros((2, 28, 28, 1))), Pair(Tensor(xp.ones((2, 28, 28, 1))), Tensor(xp.zeros((2, 50))))
    log_d_real, log_d_fake = log_sigmoid(s_real), log_sigmoid(s_fake)                   # log D(x, E(x)), log D(G(z), z)
    log_1m_real, log_1m_fake = log_sigmoid(-numpy.array(s_real)), log_sigmoid(-numpy.array(s_fake))  # log(1 − D(·))
    value = log_d_real.mean() + log_1m_fake.mean()                                        # V(D, E, G), eq. 3
    d_loss, stats = Bidirectional().discriminator_loss(gan, real, fake, real)
    assert math.isclose(d_loss.item(), -value, rel_tol=1e-12)                            # D ascends V
    assert math.isclose(float(stats["d_real"]), float(numpy.exp(log_d_real).mean()), rel_tol=1e-12)
    minimax, _ = Bidirectional("minimax").generator_loss(gan, fake, real)
    assert math.isclose(minimax.item(), value, rel_tol=1e-12)                            # G and E descend V
    inverted, stats = Bidirectional().generator_loss(gan, fake, real)                    # §3.4: the labels swapped
    assert math.isclose(inverted.item(), -(log_1m_real.mean() + log_d_fake.mean()), rel_tol=1e-12)
    assert set(stats) == {"d_fake_after", "d_real_after"}
    with pytest.raises(ValueError, match="generator_loss must be one of"):
        Bidirectional("wasserstein")


def small_bigan(seed=0):
    minigan.seed(seed)
    return build_bigan(seed=seed, hidden=16)


def batch_of(m, seed=0):
    return numpy.random.default_rng(seed).uniform(0, 1, (m, 28, 28, 1)).astype(numpy.float32)


def test_e_gets_its_gradient_through_the_code_half_of_ds_input(xp):
    """E's output bias gets Σᵢ ∂L/∂E(xᵢ), the gradient of G and E's loss at D's code input: so E is trained
    through D, and only through D's input (D is frozen). Were E(x) detached, E's gradient would be zero."""
    gan = small_bigan()
    x = Tensor(xp.asarray(batch_of(6)))
    fake = Pair(Tensor(xp.asarray(batch_of(6, seed=1))), gan.sample_noise(6))
    encoder_bias = gan.generator.encoder.layers[-1].bias
    gan.generator.zero_grad()
    with minigan.no_grad():
        codes = gan.encode_batch(x).data
    gan.generator.encoder.eval()  # batch norm from running statistics: E(x) is the same in both passes
    gan.discriminator.requires_grad_(False)
    loss, _ = gan.objective.generator_loss(gan, fake, x)
    loss.backward()
    code = Tensor(gan.encode_batch(x).data, requires_grad=True)                # E(x) as a leaf: D's input
    at_input, _ = Bidirectional().generator_loss(_WithCode(gan, code), fake, x)
    at_input.backward()
    assert numpy.abs(to_numpy(code.grad)).sum() > 0
    numpy.testing.assert_allclose(to_numpy(encoder_bias.grad), to_numpy(code.grad).sum(axis=0), rtol=1e-4, atol=1e-7)
    assert all(p.grad is None or not to_numpy(p.grad).any() for p in gan.discriminator.parameters())  # D frozen: no gradient
    assert codes.shape == (6, 50)


class _WithCode:
    """``gan`` whose E(x) is the given leaf ``code``."""

    def __init__(self, gan, code):
        self.gan, self.code = gan, code

    def encode_batch(self, x):
        return self.code

    def call_discriminator(self, pair, x):
        return self.gan.call_discriminator(pair, x)


def test_ds_step_leaves_e_alone_and_gs_step_moves_g_and_e(xp):
    gan = small_bigan()
    before = {name: to_numpy(p.data).copy() for name, p in gan.generator.named_parameters()}
    batch = xp.asarray(batch_of(8))
    real, x = gan.split_batch(batch)
    gan.discriminator_step(real, x)
    assert all(numpy.array_equal(to_numpy(p.data), before[name]) for name, p in gan.generator.named_parameters())
    gan.generator_step(8, x)
    moved = {name for name, p in gan.generator.named_parameters() if not numpy.array_equal(to_numpy(p.data), before[name])}
    assert any(name.startswith("encoder.") for name in moved) and any(name.startswith("generator.") for name in moved)


def test_a_short_run_is_finite_and_reproducible(xp):
    def run():
        gan = small_bigan(seed=4)
        batches = iter([batch_of(8, seed=i) for i in range(3)])
        history = [{k: float(v) for k, v in gan.train_iteration(batches).items()} for _ in range(3)]
        return history, [to_numpy(p.data) for p in gan.generator.parameters()]
    first, weights = run()
    second, again = run()
    assert first == second and all(numpy.array_equal(a, b) for a, b in zip(weights, again))
    assert all(math.isfinite(v) for stats in first for v in stats.values())
    assert {"d_real", "d_fake", "d_real_after", "d_fake_after"} <= set(first[0])


def test_the_trained_networks_encode_generate_and_reconstruct(xp):
    gan = small_bigan()
    images = batch_of(5)
    codes = gan.encode(images)
    assert codes.shape == (5, 50) and codes.dtype == numpy.float32
    rebuilt = gan.reconstruct(images)
    assert rebuilt.shape == (5, 28, 28, 1) and 0 <= rebuilt.min() and rebuilt.max() <= 1
    assert gan.output_range == (0.0, 1.0)  # read off G inside the pair: real data in [0, 255] is refused
    with pytest.raises(ValueError, match=r"lies in \[255, 255\], but G.s samples lie in \[0, 1\]"):
        gan.train_iteration(iter([numpy.full((4, 28, 28, 1), 255.0, numpy.float32)]))
    with pytest.raises(TypeError, match="BiGAN uses no labels"):
        gan.split_batch((images, numpy.zeros(5)))
    with pytest.raises(TypeError, match="the condition must be the real minibatch x"):
        gan.generator_step(5, None)
    with pytest.raises(TypeError, match="generator must be a GeneratorEncoder"):
        BiGAN(gan.generator.generator, gan.discriminator, gan.generator_optimizer, gan.discriminator_optimizer, 50)


def test_nearest_neighbour_accuracy_on_hand_made_points():
    train = numpy.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = numpy.array([0, 1, 2])
    test = numpy.array([[1.0, 1.0], [9.0, 2.0], [2.0, 7.0], [6.0, 0.0]])
    assert nearest_neighbour_accuracy(train, labels, test, numpy.array([0, 1, 2, 1])) == 1.0
    assert nearest_neighbour_accuracy(train, labels, test, numpy.array([0, 1, 0, 0])) == 0.5
    assert nearest_neighbour_accuracy(train, labels, test, numpy.array([0, 1, 2, 1]), batch=1) == 1.0  # chunking changes nothing
    with pytest.raises(ValueError, match="one label a row and the same feature length"):
        nearest_neighbour_accuracy(train, labels, test[:, :1], numpy.zeros(4))


# ----- the example -----------------------------------------------------------------------------------------
def test_reconstruction_rows_put_each_reconstruction_under_its_digit():
    example = load_example("bigan")
    originals, rebuilt = numpy.arange(20)[:, None, None] * numpy.ones((20, 28, 28)), -numpy.arange(20)[:, None, None] * numpy.ones((20, 28, 28))
    grid = example.reconstruction_rows(originals, rebuilt, columns=10, pairs=2)[:, 0, 0]
    assert list(grid[:10]) == list(range(10)) and list(grid[10:20]) == [-v for v in range(10)]
    assert list(grid[20:30]) == list(range(10, 20)) and list(grid[30:]) == [-v for v in range(10, 20)]


@pytest.mark.slow
def test_example_quick_run_writes_its_pictures_and_measures_1nn(tmp_path, small_mnist, capsys):
    example = load_example("bigan")
    out = tmp_path / "run"
    assert example.main(["--data", small_mnist, "--steps", "2", "--batch-size", "32", "--hidden", "32", "--samples", "20",
                         "--out", str(out)]) == 0
    assert numpy.load(out / "samples.npy").shape == (20, 28, 28)
    for name in ("samples_epoch_001.png", "reconstructions.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("1-NN accuracy: E(x) ") and "raw pixels" in lines[-1]


@pytest.mark.slow
def test_example_resumed_mid_epoch_matches_the_uninterrupted_run(tmp_path, small_mnist):
    example = load_example("bigan")
    common = ["--data", small_mnist, "--batch-size", "32", "--hidden", "32", "--samples", "0", "--no-measure", "--seed", "3"]
    assert_resume_matches_one_run(example, common, tmp_path, steps=4, cut=2, resume_flags=["--samples", "0", "--no-measure"])
