"""CoGAN (minigan/gans/cogan.py) on Algorithm 1's loop: the shared layers are one set of weights that both GANs
train, the objective is the sum of the two GANs' losses of eq. 4 (checked by hand), short runs are finite and
reproducible; and examples/cogan.py writes its pictures and measurements and resumes exactly."""

import json
import math

import numpy
import pytest

import minigan
from minigan import Tensor, backend, nn
from minigan.gans.cogan import CoGAN, Coupled, CoupledDiscriminators, CoupledGenerators, build_cogan
from minigan.gans.objectives import Standard
from minigan.gans.wasserstein import WGAN
from minigan.engine import optim

from conftest import PNG_SIGNATURE, load_example, to_numpy, write_mnist_subset
from strategies import random_array

cogan_example = load_example("cogan")


def tiny(share=True, seed=0):
    minigan.seed(seed)
    return build_cogan(noise_dim=4, width=2, share=share, seed=seed)


def joint_batch(xp, m=4, seed=0):
    return Tensor(random_array(xp, (m, 28, 28, 2), seed, low=-1, high=1, dtype=numpy.float32))


def shared_gradients(module, loss):
    module.zero_grad()
    loss.backward()
    return [to_numpy(p.grad).astype(numpy.float64).copy() for p in module.shared.parameters()]


# ----- the sharing ------------------------------------------------------------------------------------
def test_the_shared_layers_of_g_and_of_d_receive_both_gans_gradients(xp):
    """The gradient of GAN₁'s loss plus GAN₂'s in the shared weights is the sum of each one's, and each is
    non-zero: a detached branch would drop one, and layers copied rather than shared would get only one GAN's."""
    gan = tiny()
    z = gan.sample_noise(4)
    g = gan.generator
    alone = [shared_gradients(g, g.domain(z, i).mean()) for i in (0, 1)]
    both = shared_gradients(g, gan.generator(z)[..., 0:1].mean() + gan.generator(z)[..., 1:2].mean())
    for first, second, total in zip(*alone, both):
        assert numpy.abs(first).max() > 0 and numpy.abs(second).max() > 0
        numpy.testing.assert_allclose(total, first + second, rtol=1e-4, atol=1e-7)
    d, real = gan.discriminator, joint_batch(xp)
    alone = [shared_gradients(d, d.domain(real[..., i:i + 1], i).sum()) for i in (0, 1)]
    both = shared_gradients(d, d(real).sum())
    for first, second, total in zip(*alone, both):
        assert numpy.abs(first).max() > 0 and numpy.abs(second).max() > 0
        numpy.testing.assert_allclose(total, first + second, rtol=1e-4, atol=1e-7)


def test_one_training_step_moves_the_shared_weights_by_both_losses_and_each_is_listed_once():
    """The optimiser sees each shared weight once; the generator step's update of the shared layers is the one
    Adam takes on the summed gradient (its first step moves every weight by ±lr where the gradient is non-zero)."""
    gan = tiny()
    shared = gan.generator.shared.parameters()
    assert len(gan.generator.parameters()) == len(shared) + len(gan.generator.first.parameters()) + len(gan.generator.second.parameters())
    unshared = tiny(share=False)
    assert len(unshared.generator.shared.parameters()) == 0 and len(unshared.discriminator.shared.parameters()) == 0
    before = [p.numpy().copy() for p in shared]
    gan.generator_step(4)
    assert all(not numpy.array_equal(b, p.numpy()) for b, p in zip(before, shared))


def test_the_pair_from_one_z_has_one_image_per_domain_and_d_one_logit_per_domain(xp):
    gan = tiny()
    z = gan.sample_noise(3)
    pair = gan.generate(z)
    assert pair.shape == (3, 28, 28, 2)
    with minigan.no_grad():
        gan.generator.eval()
        numpy.testing.assert_array_equal(to_numpy(pair.data[..., 1:2]), to_numpy(gan.generator.domain(z, 1).data))
        gan.generator.train()
    assert gan.discriminator(joint_batch(xp, 3)).shape == (3, 2) and gan.output_range == (-1.0, 1.0)


# ----- eq. 4, by hand ---------------------------------------------------------------------------------
class PixelSum(nn.Module):
    """f(x) = a · Σ pixels + b: a discriminator whose logits are worked out by hand."""

    def __init__(self, a, b):
        xp = backend.get_backend().xp
        self.weight = nn.Parameter(xp.full((1,), a, dtype=numpy.float32))
        self.bias = nn.Parameter(xp.full((1,), b, dtype=numpy.float32))

    def forward(self, x):
        return x.reshape(x.shape[0], -1).sum(axis=1, keepdims=True) * self.weight + self.bias


def hand_gan(objective=None):
    generators = CoupledGenerators(nn.Sequential(), nn.Sequential(nn.Linear(1, 4), nn.Reshape(2, 2, 1)),
                                   nn.Sequential(nn.Linear(1, 4), nn.Reshape(2, 2, 1)))
    discriminators = CoupledDiscriminators(PixelSum(1.0, 0.0), PixelSum(2.0, -1.0), nn.Sequential())
    return CoGAN(generators, discriminators, optim.SGD(generators.parameters(), lr=0.1), optim.SGD(discriminators.parameters(), lr=0.1),
                 noise_dim=1, objective=objective)


def images(xp, *sums):
    """(m, 2, 2, 2): image i of domain j has its 4 pixels equal to sums[i][j] / 4."""
    array = numpy.array([[numpy.full((2, 2), s / 4) for s in row] for row in sums], dtype=numpy.float32)  # (m, 2, 2, 2) as (m, j, H, W)
    return Tensor(xp.asarray(array.transpose(0, 2, 3, 1).copy()))


def log_sigmoid(s):
    return -math.log1p(math.exp(-s))


def test_the_losses_are_the_sum_of_the_two_gans_losses_of_eq_4(xp):
    """f₁(x) = Σx, f₂(x) = 2Σx − 1. Real rows with pixel sums (1, 0.5) and (−1, 2); fakes (0, 1) and (2, −0.5):
    f₁ on real: 1, −1; f₂ on real: 0, 3; f₁ on fakes: 0, 2; f₂ on fakes: 1, −2."""
    gan = hand_gan()
    real, fake = images(xp, (1, 0.5), (-1, 2)), images(xp, (0, 1), (2, -0.5))
    log_1_minus_sigmoid = lambda s: log_sigmoid(-s)
    d1 = -(log_sigmoid(1) + log_sigmoid(-1)) / 2 - (log_1_minus_sigmoid(0) + log_1_minus_sigmoid(2)) / 2
    d2 = -(log_sigmoid(0) + log_sigmoid(3)) / 2 - (log_1_minus_sigmoid(1) + log_1_minus_sigmoid(-2)) / 2
    loss, stats = gan.objective.discriminator_loss(gan, real, fake)
    assert loss.item() == pytest.approx(d1 + d2, rel=1e-6)
    sigmoid = lambda s: 1 / (1 + math.exp(-s))
    assert float(stats["d_real_2"]) == pytest.approx((sigmoid(0) + sigmoid(3)) / 2, rel=1e-6)
    assert float(stats["d_fake"]) == pytest.approx((sigmoid(0) + sigmoid(2) + sigmoid(1) + sigmoid(-2)) / 4, rel=1e-6)
    g = -(log_sigmoid(0) + log_sigmoid(2)) / 2 - (log_sigmoid(1) + log_sigmoid(-2)) / 2  # non-saturating: Σ_i −log f_i(g_i(z))
    assert gan.objective.generator_loss(gan, fake)[0].item() == pytest.approx(g, rel=1e-6)
    minimax = hand_gan(Coupled(Standard("minimax")))  # Σ_i log(1 − f_i(g_i(z))), eq. 4 as printed
    expected = (log_1_minus_sigmoid(0) + log_1_minus_sigmoid(2)) / 2 + (log_1_minus_sigmoid(1) + log_1_minus_sigmoid(-2)) / 2
    assert minimax.objective.generator_loss(minimax, fake)[0].item() == pytest.approx(expected, rel=1e-6)


def test_mistakes_are_one_line_errors():
    gan = tiny()
    with pytest.raises(TypeError, match="CoGAN: expected a CoupledGenerators"):
        CoGAN(nn.Sequential(), gan.discriminator, gan.generator_optimizer, gan.discriminator_optimizer)
    with pytest.raises(ValueError, match="Coupled: objective must have no after_discriminator_step"):
        Coupled(WGAN())


# ----- training -----------------------------------------------------------------------------------------
def train(gan, xp, steps=3):
    batches = iter([to_numpy(joint_batch(xp, 4, seed).data) for seed in range(steps)])
    return [{k: float(v) for k, v in gan.train_iteration(batches).items()} for _ in range(steps)]


def test_a_short_run_is_finite_and_the_same_seed_gives_the_same_losses(xp):
    first, second = train(tiny(), xp), train(tiny(), xp)
    assert first == second
    assert all(math.isfinite(value) for stats in first for value in stats.values())
    assert train(tiny(seed=1), xp) != first


# ----- the example --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    return write_mnist_subset(tmp_path_factory, 128, 40)


def run(small_mnist, out, *flags):
    return cogan_example.main([*map(str, ["--data", small_mnist, "--out", out, "--batch-size", 16, "--width", 2,
                                          "--log-every", 1, *flags])])


def history(path):
    with numpy.load(path) as f:
        return {key: f[key] for key in f.files}


@pytest.mark.parametrize("task", ["edges", "negatives"])
def test_the_example_writes_the_pairs_and_the_agreement_and_resumes_exactly(task, small_mnist, tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run(small_mnist, whole, "--task", task, "--steps", 5) == 0
    printed = capsys.readouterr().out
    assert "pixel agreement" in printed and "Table 1" in printed
    measured = json.loads((whole / "measurements.json").read_text())
    assert set(measured["rows"]) == {"test digits, unrelated pairs", "cogan", "unshared"} and measured["pairs"] == 40
    for variant in ("cogan", "unshared"):
        assert (whole / variant / "figure_epoch_002.png").read_bytes()[:8] == PNG_SIGNATURE
        assert 0 <= measured["rows"][variant]["agreement"] <= 1
    assert run(small_mnist, parts, "--task", task, "--steps", 3, "--variants", "cogan") == 0
    assert cogan_example.main(["--resume", str(parts), "--steps", "5", "--variants", "cogan"]) == 0
    expected, resumed = history(whole / "cogan" / "history.npz"), history(parts / "cogan" / "history.npz")
    assert len(expected["d_loss"]) == 5
    for key, values in expected.items():
        numpy.testing.assert_array_equal(resumed[key], values)


def test_the_domains_are_disjoint_halves_and_domain_2_is_the_transform(xp):
    digits = numpy.random.default_rng(0).uniform(0, 1, (10, 28, 28, 1)).astype(numpy.float32)
    joint = cogan_example.unpaired_domains(digits, cogan_example.negative, seed=3)
    first, second = (joint[..., 0:1] + 1) / 2, 1 - (joint[..., 1:2] + 1) / 2  # back to [0, 1], domain 2 un-negated
    found = [[int(numpy.argmin(numpy.abs(digits - image).sum(axis=(1, 2, 3)))) for image in half] for half in (first, second)]
    assert len(set(found[0]) | set(found[1])) == 10  # each digit in exactly one half
