"""Algorithm 1: who changes when, how often, that it learns, and that a seed fixes a run."""

import numpy
import pytest

import minigan
from minigan import nn, optim
from minigan.gans.gan import GAN


def gaussian_batches(mean, std, m, seed):
    rng = numpy.random.default_rng(seed)
    while True:
        yield (mean + std * rng.standard_normal((m, 1))).astype(numpy.float32)


def tiny_gan(seed=0, generator_loss="non-saturating", k=1, lr=5e-3):
    minigan.seed(seed)
    generator = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
    discriminator = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    return GAN(generator, discriminator,
               optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
               optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
               noise_dim=4, generator_loss=generator_loss, discriminator_steps=k, seed=seed)


def snapshot(module):
    return [p.numpy().copy() for p in module.parameters()]


def changed(before, module):
    return [not numpy.array_equal(b, p.numpy()) for b, p in zip(before, module.parameters())]


def test_discriminator_step_changes_only_the_discriminator():
    gan = tiny_gan()
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.discriminator_step(next(gaussian_batches(3.0, 0.5, 16, 0)))
    assert not any(changed(g, gan.generator))
    assert all(changed(d, gan.discriminator))


def test_generator_step_changes_only_the_generator():
    gan = tiny_gan()
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.generator_step(16)
    assert all(changed(g, gan.generator))
    assert not any(changed(d, gan.discriminator))
    # D was frozen: no gradient was even computed for its weights (their GEMMs were skipped)
    assert all(not numpy.any(p.grad) for p in gan.discriminator.parameters())
    assert all(p.requires_grad for p in gan.discriminator.parameters())  # unfrozen again afterwards


def test_frozen_restores_gradients_even_when_the_block_fails():
    from minigan.gans.gan import frozen

    gan = tiny_gan()
    with pytest.raises(RuntimeError, match="inside"):
        with frozen(gan.discriminator):
            assert not any(p.requires_grad for p in gan.discriminator.parameters())
            raise RuntimeError("inside the block")
    assert all(p.requires_grad for p in gan.discriminator.parameters())


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_evaluating_restores_the_mode_it_found_even_when_the_block_fails(mode):
    from minigan.gans.gan import evaluating

    gan = tiny_gan()
    getattr(gan.generator, mode)()
    with pytest.raises(RuntimeError, match="inside"):
        with evaluating(gan.generator):
            assert not any(module.training for module in gan.generator.modules())
            raise RuntimeError("inside the block")
    assert all(module.training == (mode == "train") for module in gan.generator.modules())


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    gan = tiny_gan(k=k)
    batches = gaussian_batches(3.0, 0.5, 8, 0)
    drawn = []
    counted = (lambda it: (drawn.append(1) or b for b in it))(batches)
    for _ in range(4):
        gan.train_iteration(counted)
    assert gan.discriminator_step_count == 4 * k and len(drawn) == 4 * k  # a fresh real minibatch per D step
    assert gan.generator_step_count == 4 and gan.iteration == 4


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_generator_losses_are_the_papers_objectives(loss):
    gan = tiny_gan(generator_loss=loss)
    minigan.seed(3)
    z = gan.sample_noise(8)
    logits = gan.discriminator(gan.generator(z)).numpy()
    d = 1 / (1 + numpy.exp(-logits.astype(numpy.float64)))
    minigan.seed(3)
    reported = gan.generator_step(8)["g_loss"]
    expected = numpy.log(1 - d).mean() if loss == "minimax" else -numpy.log(d).mean()
    assert numpy.isclose(reported, expected, rtol=1e-5)


def test_same_seed_gives_identical_losses():
    runs = []
    for _ in range(2):
        gan = tiny_gan(seed=7)
        batches = gaussian_batches(3.0, 0.5, 16, 1)
        runs.append([gan.train_iteration(batches) for _ in range(5)])
    assert runs[0] == runs[1]
    other = tiny_gan(seed=8)
    batches = gaussian_batches(3.0, 0.5, 16, 1)
    assert [other.train_iteration(batches) for _ in range(5)] != runs[0]


def test_resuming_from_a_state_dict_continues_identically():
    gan = tiny_gan(seed=4)
    batches = gaussian_batches(3.0, 0.5, 16, 2)
    uninterrupted = [gan.train_iteration(batches) for _ in range(6)]

    first = tiny_gan(seed=4)
    batches = gaussian_batches(3.0, 0.5, 16, 2)
    before = [first.train_iteration(batches) for _ in range(3)]
    state = first.state_dict()
    resumed = tiny_gan(seed=99)  # different initial weights: everything must come from the state
    resumed.seed = 4
    resumed.load_state_dict(state)
    after = [resumed.train_iteration(batches) for _ in range(3)]
    assert before + after == uninterrupted


def test_a_tiny_gan_learns_a_gaussian():
    """N(3, 0.5²) from N(0, I) noise in a few seconds. A trainer with a sign error, a G step that
    updated D, or no generator update at all ends far from mean 3 and std 0.5."""
    gan = tiny_gan(seed=0)
    batches = gaussian_batches(3.0, 0.5, 64, 0)
    for _ in range(1500):
        gan.train_iteration(batches)
    minigan.seed(123)
    samples = gan.generate(gan.sample_noise(4000)).numpy()
    assert abs(samples.mean() - 3.0) < 0.25, samples.mean()
    assert 0.3 < samples.std() < 0.75, samples.std()


def test_bad_arguments():
    g, d = nn.Linear(2, 1), nn.Linear(1, 1)
    make = lambda **kw: GAN(g, d, None, None, noise_dim=2, **kw)
    with pytest.raises(ValueError, match="generator_loss must be one of .* got 'wasserstein'"):
        make(generator_loss="wasserstein")
    with pytest.raises(ValueError, match=r"discriminator_steps \(k\) must be a positive int, got 0"):
        make(discriminator_steps=0)


def test_noise_from_a_given_generator_is_reproducible_and_leaves_the_training_stream_alone():
    gan = tiny_gan()
    gan.noise = "uniform"
    minigan.seed(5)
    expected_training_draw = gan.sample_noise(3).numpy()
    minigan.seed(5)
    grid = gan.sample_noise(50, rng=minigan.get_backend().rng(11)).numpy()
    again = gan.sample_noise(50, rng=minigan.get_backend().rng(11)).numpy()
    numpy.testing.assert_array_equal(grid, again)
    assert grid.min() >= -1 and grid.max() <= 1  # the GAN's own distribution, here U(−1, 1)
    numpy.testing.assert_array_equal(gan.sample_noise(3).numpy(), expected_training_draw)
