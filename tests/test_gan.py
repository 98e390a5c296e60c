"""Algorithm 1: who changes when, how often, in which mode, that a seed fixes a run, that it learns, and
the objective seam.

The loop's mechanics are one loop (``GAN.train_iteration``) run by two kinds of GAN, so those tests are
written once and run for both (the ``case`` fixture): a plain GAN on 1-D Gaussian data and a
``ConditionalGAN`` on (x, label) pairs. What only the conditional GAN does (labels) is tested in
``test_conditional_gan.py``.
"""

import types

import numpy
import pytest

import minigan
from minigan import backend, nn, optim
from minigan.gans.gan import GAN, evaluating, frozen
from minigan.gans.objectives import Standard
from minigan.gans.training import fetch_statistics

from test_conditional_gan import class_batches, tiny_conditional_gan


def gaussian_batches(mean, std, m, seed):
    rng = numpy.random.default_rng(seed)
    while True:
        yield (mean + std * rng.standard_normal((m, 1))).astype(numpy.float32)


def tiny_gan(seed=0, generator_loss=None, k=1, lr=5e-3, **options):
    minigan.seed(seed)
    generator = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
    discriminator = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    return GAN(generator, discriminator,
               optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
               optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
               noise_dim=4, generator_loss=generator_loss, discriminator_steps=k, seed=seed, **options)


def samples_after_learning_a_gaussian(gan, iterations=1500):
    """Train ``gan`` on minibatches of 64 from N(3, 0.5²) for ``iterations`` iterations of Algorithm 1; then
    4,000 of its samples (noise drawn after ``minigan.seed(123)``) and the last iteration's statistics."""
    batches = gaussian_batches(3.0, 0.5, 64, 0)
    for _ in range(iterations):
        stats = gan.train_iteration(batches)
    minigan.seed(123)
    return gan.generate(gan.sample_noise(4000)).numpy(), stats


def floats(stats):
    """A step's statistics (left on the device) as Python floats."""
    return fetch_statistics([stats], names=tuple(stats))[0]


def snapshot(module):
    return [p.numpy().copy() for p in module.parameters()]


def changed(before, module):
    return [not numpy.array_equal(b, p.numpy()) for b, p in zip(before, module.parameters())]


# ----- the loop's mechanics, for both kinds of GAN -----------------------------------------------------
CASES = {
    # make(seed, k, **GAN options) -> a tiny GAN;  batches(m, seed) -> what a DataLoader would yield
    "GAN": types.SimpleNamespace(make=tiny_gan, batches=lambda m, seed: gaussian_batches(3.0, 0.5, m, seed)),
    "ConditionalGAN": types.SimpleNamespace(make=tiny_conditional_gan, batches=class_batches),
}


@pytest.fixture(params=sorted(CASES))
def case(request, xp):
    """A tiny GAN of each kind on each backend: ``case.make(seed=, k=)`` and ``case.batches(m, seed)``."""
    return CASES[request.param]


def test_discriminator_step_changes_only_the_discriminator(case):
    gan = case.make()
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.discriminator_step(*gan.split_batch(next(case.batches(16, 0))))
    assert not any(changed(g, gan.generator))
    assert all(changed(d, gan.discriminator))


def test_generator_step_changes_only_the_generator(case):
    gan = case.make()
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    real, condition = gan.split_batch(next(case.batches(5, 0)))
    gan.generator_step(real.shape[0], condition)
    assert all(changed(g, gan.generator))
    assert not any(changed(d, gan.discriminator))
    # D was frozen: no gradient was even computed for its weights (their GEMMs were skipped)
    assert all(not backend.to_numpy(p.grad).any() for p in gan.discriminator.parameters())
    assert all(p.requires_grad for p in gan.discriminator.parameters())  # unfrozen again afterwards


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(case, k):
    gan = case.make(k=k)
    drawn = []
    counted = (drawn.append(1) or batch for batch in case.batches(8, 0))
    for _ in range(4):
        gan.train_iteration(counted)
    assert gan.discriminator_step_count == 4 * k and len(drawn) == 4 * k  # a fresh real minibatch per D step
    assert gan.generator_step_count == 4 and gan.iteration == 4


def test_same_seed_gives_identical_losses(case):
    runs = []
    for _ in range(2):
        gan = case.make(seed=7)
        batches = case.batches(16, 1)
        runs.append([floats(gan.train_iteration(batches)) for _ in range(5)])
    assert runs[0] == runs[1]
    other = case.make(seed=8)
    batches = case.batches(16, 1)
    assert [floats(other.train_iteration(batches)) for _ in range(5)] != runs[0]


def test_resuming_from_a_state_dict_continues_identically(case):
    gan = case.make(seed=4)
    batches = case.batches(16, 2)
    uninterrupted = [floats(gan.train_iteration(batches)) for _ in range(6)]

    first = case.make(seed=4)
    batches = case.batches(16, 2)
    before = [floats(first.train_iteration(batches)) for _ in range(3)]
    state = first.state_dict()
    resumed = case.make(seed=99)  # different initial weights: everything must come from the state
    resumed.seed = 4
    resumed.load_state_dict(state)
    after = [floats(resumed.train_iteration(batches)) for _ in range(3)]
    assert before + after == uninterrupted


def test_training_runs_g_in_train_mode_and_generate_in_eval_mode_without_a_graph(case):
    gan = case.make()
    modes = []  # G's mode at each of its forward passes
    forward = gan.generator.forward
    gan.generator.forward = lambda *inputs: modes.append(gan.generator.training) or forward(*inputs)
    batches = case.batches(8, 0)
    gan.train_iteration(batches)
    assert modes == [True, True]  # the D step's fakes, then the G step's
    real, condition = gan.split_batch(next(batches))
    fake = gan.generate(gan.sample_noise(real.shape[0]), condition)
    assert modes[2:] == [False] and not fake.requires_grad
    assert all(module.training for module in gan.generator.modules())  # back in train mode afterwards


class RecordingObjective(Standard):
    """Standard's losses, recording what the loop hands the objective at each call."""

    def __init__(self, **options):
        super().__init__(**options)
        self.calls = []

    def record(self, step, gan, fake, condition, real=None):
        self.calls.append({"step": step, "fake_is_constant": not fake.requires_grad,
                           "real_shape": None if real is None else real.shape, "fake_shape": fake.shape,
                           "d_trainable": [p.requires_grad for p in gan.discriminator.parameters()],
                           "condition": None if condition is None else backend.to_numpy(condition).copy()})

    def discriminator_loss(self, gan, real, fake, condition=None):
        self.record("D", gan, fake, condition, real)
        return super().discriminator_loss(gan, real, fake, condition)

    def generator_loss(self, gan, fake, condition=None):
        self.record("G", gan, fake, condition)
        return super().generator_loss(gan, fake, condition)


def test_the_loop_hands_the_objective_real_and_fake_minibatches_and_their_condition(case):
    """D's loss gets m real examples and m constant fakes with a trainable D; G's loss gets m fakes with
    their graph and a frozen D; both get the minibatch's condition (None for a plain GAN). A recording
    objective changes nothing: the run is the default objective's, number for number."""
    objective = RecordingObjective(generator_loss="minimax", real_label=0.9)
    gan = case.make(k=2, objective=objective)
    pairs = [next(case.batches(6, seed)) for seed in range(4)]
    recorded = [floats(gan.train_iteration(iter(pairs[:2]))), floats(gan.train_iteration(iter(pairs[2:])))]
    assert [call["step"] for call in objective.calls] == ["D", "D", "G"] * 2
    for call in objective.calls:
        in_d_step = call["step"] == "D"
        assert call["fake_shape"][0] == 6 and call["real_shape"] == ((6, 1) if in_d_step else None)
        assert call["fake_is_constant"] == in_d_step                     # G runs under no_grad for D's step only
        assert all(call["d_trainable"]) == any(call["d_trainable"]) == in_d_step  # D is frozen for G's step
    _, condition = gan.split_batch(pairs[0])
    if condition is None:
        assert all(call["condition"] is None for call in objective.calls)
    else:  # D steps: each minibatch's labels; G step: the last minibatch's
        expected = [pairs[i][1] for i in (0, 1, 1, 2, 3, 3)]
        for call, labels in zip(objective.calls, expected):
            numpy.testing.assert_array_equal(call["condition"], labels)
    default = case.make(k=2, generator_loss="minimax", real_label=0.9)
    assert recorded == [floats(default.train_iteration(iter(pairs[:2]))), floats(default.train_iteration(iter(pairs[2:])))]


# ----- the objective: Algorithm 1's losses ---------------------------------------------------------------
def probability(logits):
    return 1 / (1 + numpy.exp(-backend.to_numpy(logits).astype(numpy.float64)))


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_generator_losses_are_the_papers_objectives(loss, xp):
    gan = tiny_gan(generator_loss=loss)
    minigan.seed(3)
    z = gan.sample_noise(8)
    d = probability(gan.discriminator(gan.generator(z)).data)
    minigan.seed(3)
    stats = gan.generator_step(8)
    expected = numpy.log(1 - d).mean() if loss == "minimax" else -numpy.log(d).mean()
    assert numpy.isclose(float(stats["g_loss"]), expected, rtol=1e-5)
    assert numpy.isclose(float(stats["d_fake_after"]), d.mean(), rtol=1e-5)


@pytest.mark.parametrize("real_label", [1.0, 0.9])
def test_discriminator_loss_is_the_papers_objective_with_optional_label_smoothing(real_label, xp):
    """−[log D(x) + log(1 − D(G(z)))], and with one-sided label smoothing −[t log D(x) + (1 − t) log(1 − D(x))]
    for the real term only (the fakes keep the target 0)."""
    gan = tiny_gan(real_label=real_label)
    real = next(gaussian_batches(3.0, 0.5, 8, 0))
    minigan.seed(3)
    fake = gan.generator(gan.sample_noise(8))
    d_real = probability(gan.discriminator(minigan.Tensor(xp.asarray(real))).data)
    d_fake = probability(gan.discriminator(fake).data)
    minigan.seed(3)
    stats = gan.discriminator_step(real)
    expected = (-(real_label * numpy.log(d_real) + (1 - real_label) * numpy.log(1 - d_real)).mean()
                - numpy.log(1 - d_fake).mean())
    assert numpy.isclose(float(stats["d_loss"]), expected, rtol=1e-5)
    assert numpy.isclose(float(stats["d_real"]), d_real.mean(), rtol=1e-5)
    assert numpy.isclose(float(stats["d_fake"]), d_fake.mean(), rtol=1e-5)


def test_the_statistics_stay_on_the_device_and_are_fetched_as_the_histories_floats(xp):
    stats = tiny_gan().train_iteration(gaussian_batches(3.0, 0.5, 8, 0))
    assert list(stats) == ["d_loss", "d_real", "d_fake", "g_loss", "d_fake_after"]
    assert all(backend.array_module(value) is xp and value.shape == () for value in stats.values())
    fetched = floats(stats)
    assert all(type(value) is float for value in fetched.values())
    assert fetched == {name: float(value) for name, value in stats.items()}  # the very numbers, however fetched


def test_the_default_objective_is_built_from_the_constructor_arguments():
    assert repr(tiny_gan().objective) == "Standard(generator_loss='non-saturating', real_label=1.0)"
    gan = tiny_gan(generator_loss="minimax", real_label=0.9)
    assert isinstance(gan.objective, Standard)
    assert (gan.objective.generator_form, gan.objective.real_label) == ("minimax", 0.9)


def test_a_tiny_gan_learns_a_gaussian():
    """N(3, 0.5²) from N(0, I) noise in a few seconds. A trainer with a sign error, a G step that
    updated D, or no generator update at all ends far from mean 3 and std 0.5."""
    samples, _ = samples_after_learning_a_gaussian(tiny_gan(seed=0))
    assert abs(samples.mean() - 3.0) < 0.25, samples.mean()
    assert 0.3 < samples.std() < 0.75, samples.std()


# ----- the helpers, arguments and errors -------------------------------------------------------------
def test_frozen_restores_gradients_even_when_the_block_fails():
    gan = tiny_gan()
    with pytest.raises(RuntimeError, match="inside"):
        with frozen(gan.discriminator):
            assert not any(p.requires_grad for p in gan.discriminator.parameters())
            raise RuntimeError("inside the block")
    assert all(p.requires_grad for p in gan.discriminator.parameters())


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_evaluating_restores_the_mode_it_found_even_when_the_block_fails(mode):
    gan = tiny_gan()
    getattr(gan.generator, mode)()
    with pytest.raises(RuntimeError, match="inside"):
        with evaluating(gan.generator):
            assert not any(module.training for module in gan.generator.modules())
            raise RuntimeError("inside the block")
    assert all(module.training == (mode == "train") for module in gan.generator.modules())


def test_bad_arguments():
    g, d = nn.Linear(2, 1), nn.Linear(1, 1)
    make = lambda **kw: GAN(g, d, None, None, noise_dim=2, **kw)
    with pytest.raises(ValueError, match="generator_loss must be one of .* got 'wasserstein'"):
        make(generator_loss="wasserstein")
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\], got 1.5"):
        make(real_label=1.5)
    with pytest.raises(ValueError, match=r"real_label must be finite, got nan"):  # the shared check, checks.finite_number
        make(real_label=float("nan"))
    with pytest.raises(ValueError, match=r"discriminator_steps \(k\) must be a positive int, got 0"):
        make(discriminator_steps=0)
    with pytest.raises(ValueError, match=r"noise must be one of \('normal', 'uniform'\), got 'cauchy'"):
        make(noise="cauchy")
    with pytest.raises(ValueError, match="with objective=Standard.* given, leave them out"):
        make(objective=Standard(), real_label=0.9)
    with pytest.raises(TypeError, match=r"objective must have discriminator_loss\(gan, real, fake, condition\) .* got 'wgan'"):
        make(objective="wgan")


def test_a_plain_gan_rejects_a_condition_and_labelled_pairs_with_one_line():
    gan = tiny_gan()
    real, labels = numpy.zeros((4, 1), numpy.float32), numpy.zeros(4, numpy.int64)
    with pytest.raises(TypeError, match=r"^GAN.train_iteration: real_batches must yield minibatches .* got a tuple of 2"):
        gan.train_iteration(iter([(real, labels)]))
    with pytest.raises(TypeError, match="^GAN.discriminator_step: an unconditional GAN takes no condition, got a ndarray"):
        gan.discriminator_step(real, labels)
    with pytest.raises(TypeError, match="^GAN.generator_step: an unconditional GAN takes no condition"):
        gan.generator_step(4, labels)
    with pytest.raises(TypeError, match="^GAN.generate: an unconditional GAN takes no condition"):
        gan.generate(gan.sample_noise(4), labels)


def test_noise_from_a_numpy_generator_lands_on_the_current_device(xp):
    gan = tiny_gan()
    z = gan.sample_noise(5, rng=numpy.random.default_rng(3))
    assert backend.array_module(z.data) is xp and z.shape == (5, 4) and z.dtype == numpy.float32
    numpy.testing.assert_array_equal(z.numpy(), numpy.random.default_rng(3).standard_normal((5, 4), dtype=numpy.float32))


def test_noise_from_a_given_generator_is_reproducible_and_leaves_the_training_stream_alone():
    gan = tiny_gan(noise="uniform")
    minigan.seed(5)
    expected_training_draw = gan.sample_noise(3).numpy()
    minigan.seed(5)
    grid = gan.sample_noise(50, rng=minigan.get_backend().rng(11)).numpy()
    again = gan.sample_noise(50, rng=minigan.get_backend().rng(11)).numpy()
    numpy.testing.assert_array_equal(grid, again)
    assert grid.min() >= -1 and grid.max() <= 1  # the GAN's own distribution, here U(−1, 1)
    numpy.testing.assert_array_equal(gan.sample_noise(3).numpy(), expected_training_draw)
    assert grid.dtype == minigan.get_backend().dtype == numpy.float32


def test_a_gan_refuses_a_bad_seed_at_construction_and_the_scripts_at_the_flag():
    """GAN(seed=-1) used to fail only at the first iteration, inside NumPy's SeedSequence."""
    import argparse
    from minigan.gans import models
    from minigan.tools.cli import seed_value
    for bad in (-1, 1.5, "abc", 2**64):
        with pytest.raises((TypeError, ValueError), match="GAN: seed"):
            models.build_gan("mlp", seed=bad)
    assert seed_value("0") == 0 and seed_value(str(2**64 - 1)) == 2**64 - 1
    for bad in ("-1", "1.5", str(2**64)):
        with pytest.raises(argparse.ArgumentTypeError, match=r"2\*\*64"):
            seed_value(bad)
