"""The Wasserstein objectives and R1: the penalties in closed form on a linear critic, weight clipping's box,
lazy R1's scaling, WGAN-GP learning a 2-D Gaussian, and examples/mnist_gan.py's quick run of each objective."""

import os

import numpy
import pytest
from hypothesis import given, strategies as st

import minigan
from minigan import Tensor, backend, nn, ops, optim
from minigan.gans import models
from minigan.gans.gan import GAN
from minigan.gans.objectives import Standard
from minigan.gans.wasserstein import NORM_FLOOR, WGAN, WGANGP, gradient_penalty
from minigan.tools.io import load_checkpoint

from conftest import PNG_SIGNATURE, assert_close, load_example, to_numpy, write_mnist_subset
from strategies import random_array, seeds

mnist_gan = load_example("mnist_gan")


class LinearCritic:
    """Just enough of a GAN for an objective: D(x) = w·x + b (a (1, features) weight), step counter 0."""

    def __init__(self, xp, features, seed):
        self.weight = Tensor(random_array(xp, (1, features), seed), requires_grad=True)
        self.bias = Tensor(random_array(xp, (1,), seed + 1), requires_grad=True)
        self.discriminator_step_count = 0

    def call_discriminator(self, x, condition):
        return ops.linear(x, self.weight, self.bias)  # (m, 1)


# ----- the penalties in closed form ------------------------------------------------------------------
@given(n=st.integers(1, 6), features=st.integers(1, 5), seed=seeds, penalty_weight=st.floats(0.5, 20.0))
def test_gradient_penalty_of_a_linear_critic_is_the_closed_form(xp, n, features, seed, penalty_weight):
    """∇ₓ̂D = w at every x̂ of a linear critic, so wasserstein.gradient_penalty is λ(‖w‖ − 1)² whatever ε
    draws, with gradient 2λ(‖w‖ − 1)·w/‖w‖ for w and nothing for b (float64; ‖w‖ with the penalty's
    NORM_FLOOR under its root, which the tolerance would otherwise have to absorb for a tiny w)."""
    gan = LinearCritic(xp, features, seed)
    real, fake = Tensor(random_array(xp, (n, features), seed + 2)), Tensor(random_array(xp, (n, features), seed + 3))
    penalty = gradient_penalty(gan, real, fake, None, penalty_weight)
    penalty.backward()
    w = to_numpy(gan.weight.data)[0]
    norm = numpy.sqrt(w @ w + NORM_FLOOR)  # ‖w‖ as the penalty takes it: a drawn w of norm 3e-4 moves by 2e-9
    assert penalty.item() == pytest.approx(penalty_weight * (norm - 1) ** 2, rel=1e-9, abs=1e-10)
    assert_close(gan.weight.grad[0], 2 * penalty_weight * (norm - 1) * w / norm, rtol=1e-6, atol=1e-9)
    assert gan.bias.grad is None


def test_wgan_gp_critic_loss_is_the_wasserstein_term_plus_the_penalty(xp):
    """D's loss = mean D(x̃) − mean D(x) + λ(‖w‖ − 1)², and the statistics are the raw mean scores."""
    gan = LinearCritic(xp, 3, 7)
    real, fake = Tensor(random_array(xp, (5, 3), 1)), Tensor(random_array(xp, (5, 3), 2))
    loss, stats = WGANGP(10.0).discriminator_loss(gan, real, fake)
    w, b = to_numpy(gan.weight.data)[0], to_numpy(gan.bias.data)[0]
    real_scores, fake_scores = to_numpy(real.data) @ w + b, to_numpy(fake.data) @ w + b
    expected = fake_scores.mean() - real_scores.mean() + 10.0 * (numpy.linalg.norm(w) - 1) ** 2
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    assert float(stats["d_real"]) == pytest.approx(real_scores.mean()) and float(stats["d_fake"]) == pytest.approx(fake_scores.mean())
    assert float(stats["wasserstein"]) == pytest.approx(real_scores.mean() - fake_scores.mean())


def test_the_interpolation_draws_from_the_seeded_training_stream(xp):
    """ε comes from backend.default_rng(): the same seed gives the same penalty, another seed another one."""
    real, fake = random_array(xp, (6, 2), 1), random_array(xp, (6, 2), 2)

    def penalty_with_seed(seed):
        minigan.seed(0)
        critic = nn.Sequential(nn.Linear(2, 8, dtype=numpy.float64), nn.Tanh(), nn.Linear(8, 1, dtype=numpy.float64))
        backend.seed(seed)
        return gradient_penalty(type("G", (), {"call_discriminator": lambda self, x, c: critic(x)})(), Tensor(real), Tensor(fake), None, 10.0).item()

    assert penalty_with_seed(3) == penalty_with_seed(3)
    assert penalty_with_seed(3) != penalty_with_seed(4)


@given(n=st.integers(1, 6), features=st.integers(1, 5), seed=seeds, gamma=st.floats(0.1, 20.0))
def test_r1_penalty_of_a_linear_discriminator_is_the_closed_form(xp, n, features, seed, gamma):
    """∇ₓD = w for D(x) = w·x + b, so R1 = γ/2·‖w‖², with gradient γw: D's loss with R1 minus the plain
    loss is that, on the same minibatch (float64)."""
    gan = LinearCritic(xp, features, seed)
    real, fake = Tensor(random_array(xp, (n, features), seed + 2)), Tensor(random_array(xp, (n, features), seed + 3))
    with_r1, stats = Standard(r1_gamma=gamma).discriminator_loss(gan, real, fake)
    plain, _ = Standard().discriminator_loss(gan, real, fake)
    w = to_numpy(gan.weight.data)[0]
    assert (with_r1 - plain).item() == pytest.approx(gamma / 2 * w @ w, rel=1e-9, abs=1e-12)
    assert float(stats["r1_penalty"]) == pytest.approx(gamma / 2 * w @ w, rel=1e-9)
    with_r1.backward()
    plain_gradient = to_numpy(gan.weight.grad).copy()
    gan.weight.grad = None
    plain.backward()
    assert_close(plain_gradient - to_numpy(gan.weight.grad), gamma * w[None, :], rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("every", [1, 3, 4])
def test_lazy_r1_applies_n_times_the_penalty_every_n_steps(xp, every):
    """With r1_every = N the penalty is N·γ/2·‖w‖² on steps 0, N, 2N, … and absent in between, so that
    over N steps it adds up to the eager penalty's N·γ/2·‖w‖²."""
    gan = LinearCritic(xp, 3, 5)
    real, fake = Tensor(random_array(xp, (4, 3), 1)), Tensor(random_array(xp, (4, 3), 2))
    w = to_numpy(gan.weight.data)[0]
    lazy, plain = Standard(r1_gamma=10.0, r1_every=every), Standard()
    added = []
    for step in range(2 * every):
        gan.discriminator_step_count = step
        loss, stats = lazy.discriminator_loss(gan, real, fake)
        added.append((loss - plain.discriminator_loss(gan, real, fake)[0]).item())
        assert float(stats["r1_penalty"]) == pytest.approx(added[-1], rel=1e-6, abs=1e-12)
    expected = [every * 5.0 * w @ w if step % every == 0 else 0.0 for step in range(2 * every)]
    numpy.testing.assert_allclose(added, expected, rtol=1e-9, atol=1e-12)
    assert sum(added[:every]) == pytest.approx(every * 5.0 * w @ w)  # what N eager steps add


@pytest.mark.parametrize("arguments, message", [
    ({"r1_gamma": -1.0}, "r1_gamma"), ({"r1_gamma": float("nan")}, "r1_gamma"), ({"r1_every": 0}, "r1_every"),
])
def test_bad_r1_settings_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        Standard(**arguments)


def test_bad_wasserstein_settings_are_refused():
    with pytest.raises(ValueError, match="clip"):
        WGAN(clip=0.0)
    with pytest.raises(ValueError, match="penalty_weight"):
        WGANGP(penalty_weight=float("nan"))


# ----- weight clipping --------------------------------------------------------------------------------
def ring_like_batches(xp, m=32, seed=0):
    rng = numpy.random.default_rng(seed)
    while True:
        yield xp.asarray((numpy.array([1.5, -1.0]) + 0.5 * rng.standard_normal((m, 2))).astype(numpy.float32))


def test_weight_clipping_keeps_every_critic_weight_in_the_box(xp):
    """After every critic update every critic parameter lies in [−c, c]; the critic starts well outside
    the box and RMSprop would take it further, so the clipping is what keeps it there."""
    minigan.seed(0)
    generator = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    clip = 0.01
    assert max(float(abs(to_numpy(p.data)).max()) for p in critic.parameters()) > 10 * clip
    gan = GAN(generator, critic, optim.RMSprop(generator.parameters(), lr=5e-5), optim.RMSprop(critic.parameters(), lr=5e-5),
              noise_dim=2, discriminator_steps=5, seed=0, objective=WGAN(clip=clip))
    batches = ring_like_batches(xp)
    for _ in range(3):
        for _ in range(5):
            gan.discriminator_step(next(batches))
            for parameter in critic.parameters():
                values = to_numpy(parameter.data)
                assert values.min() >= -clip and values.max() <= clip, parameter.shape
        gan.generator_step(32)
    # some weights sit on the box's faces: the clipping was active, not a box the weights never reached
    assert any((abs(to_numpy(p.data)) == numpy.float32(clip)).any() for p in critic.parameters())
    assert gan.discriminator_step_count == 15


# ----- WGAN-GP learns a 2-D Gaussian ------------------------------------------------------------------
TARGET_MEAN, TARGET_STD = numpy.array([1.5, -1.0]), 0.5


def train_wgan_gp_on_a_gaussian(xp, objective, iterations=400):
    """G(z) = Az + c from z ~ N(0, I₂) against N((1.5, −1), 0.5² I), critic 2 → 32 → 32 → 1 (LeakyReLU),
    Algorithm 1 with n_critic = 5 and Adam β = (0, 0.9); the learning rates (critic 1e-2, G 5e-3) are
    the paper's 1e-4 raised so that the test takes seconds.

    Returns the mean and std of 2000 samples of G, and the critic's mean gradient norm ‖∇D(x̂)‖ at
    points x̂ between target samples and G's (the quantity the penalty pushes to 1)."""
    minigan.seed(0)
    generator = nn.Sequential(nn.Linear(2, 2))
    critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    gan = GAN(generator, critic, optim.Adam(generator.parameters(), lr=5e-3, betas=(0.0, 0.9)),
              optim.Adam(critic.parameters(), lr=1e-2, betas=(0.0, 0.9)), noise_dim=2, discriminator_steps=5, seed=0,
              objective=objective)
    batches = ring_like_batches(xp, m=64, seed=1)
    for _ in range(iterations):
        gan.train_iteration(batches)
    samples = gan.generate(gan.sample_noise(2000, rng=backend.get_backend().rng(5))).data         # (2000, 2)
    target = next(ring_like_batches(xp, m=2000, seed=2))                                          # (2000, 2)
    epsilon = xp.asarray(numpy.random.default_rng(3).uniform(size=(2000, 1)).astype(numpy.float32))
    between = Tensor(epsilon * target + (1 - epsilon) * samples, requires_grad=True)
    (slopes,) = minigan.grad(critic(between).sum(), between)                                      # (2000, 2)
    slope_norm = float(numpy.sqrt((to_numpy(slopes.data) ** 2).sum(axis=1)).mean())
    samples = to_numpy(samples)
    return samples.mean(axis=0), samples.std(axis=0), slope_norm


def learned(mean, std):
    return numpy.linalg.norm(mean - TARGET_MEAN) < 0.35 and bool(((0.3 < std) & (std < 0.75)).all())


@pytest.mark.slow
def test_wgan_gp_learns_a_2d_gaussian_with_a_1_lipschitz_critic(xp):
    """G starts at mean ≈ 0 (1.8 away from the target) and ends within 0.35 of the target mean with each
    std in (0.3, 0.75), and the critic's gradient norm between the two is within 0.3 of 1.
    Checked by mutation: λ = 0, the penalty (‖g‖ + 1)², and the penalty without create_graph (no
    gradient of it reaches the critic) each fail it."""
    mean, std, slope_norm = train_wgan_gp_on_a_gaussian(xp, WGANGP(10.0))
    assert learned(mean, std), (mean, std)
    assert abs(slope_norm - 1) < 0.3, slope_norm


@pytest.mark.slow
def test_without_the_penalty_the_critic_is_not_lipschitz(xp):
    """The control for the test above, on the same seeds: with λ = 0 G may still drift near the target
    (Adam's steps are normalised), but the unconstrained critic's gradient norm grows far past 1."""
    mean, std, slope_norm = train_wgan_gp_on_a_gaussian(xp, WGANGP(0.0))
    assert slope_norm > 10, slope_norm


# ----- the models and the example ---------------------------------------------------------------------
def test_the_recipes_follow_the_papers():
    wgan, wgan_gp, standard = (models.build_gan("dcgan", objective=name) for name in ("wgan", "wgan-gp", "standard"))
    assert isinstance(wgan.objective, WGAN) and wgan.objective.clip == 0.01 and wgan.discriminator_steps == 5
    assert isinstance(wgan.discriminator_optimizer, optim.RMSprop) and wgan.discriminator_optimizer.lr == 5e-5
    assert isinstance(wgan_gp.objective, WGANGP) and wgan_gp.objective.penalty_weight == 10.0 and wgan_gp.discriminator_steps == 5
    assert isinstance(wgan_gp.discriminator_optimizer, optim.Adam) and wgan_gp.discriminator_optimizer.lr == 1e-4
    norms = lambda gan: [type(m).__name__ for m in gan.discriminator.modules() if "Norm" in type(m).__name__]
    assert norms(wgan_gp) == ["LayerNorm"] and norms(wgan) == norms(standard) == ["BatchNorm2d"]
    with pytest.raises(ValueError, match="r1_gamma"):
        models.build_gan("dcgan", objective="wgan-gp", r1_gamma=10.0)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """The first 200 training images and 50 test images, as a user's mnist.npz."""
    return write_mnist_subset(tmp_path_factory, 200, 50)


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--objective", "wgan"], ["--objective", "wgan-gp"], ["--r1", "10", "--r1-every", "2"]])
def test_each_objective_quick_run_writes_the_grid_and_the_curve(tmp_path, tiny_mnist, flags):
    out = tmp_path / "run"
    assert mnist_gan.main(["--data", tiny_mnist, "--steps", "2", "--batch-size", "16", "--samples", "0",
                           "--no-evaluate", "--out", str(out), *flags]) == 0
    for name in ("samples_epoch_001.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    with numpy.load(out / "history.npz") as history:
        assert len(history["d_loss"]) == 2 and numpy.isfinite(history["d_loss"]).all()
        critic = flags[:2] != ["--r1", "10"]
        assert ("wasserstein" in history.files) == critic
        if critic:
            numpy.testing.assert_array_equal(history["wasserstein"], history["d_real"] - history["d_fake"])
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    k = 5 if flags[0] == "--objective" else 1
    assert int(state["gan"]["counters"]["discriminator_step_count"]) == 2 * k
    assert metadata["config"]["objective"] == (flags[1] if flags[0] == "--objective" else "standard")


@pytest.mark.parametrize("flags, message", [
    (["--objective", "wgan", "--r1", "10"], "--r1 10: R1 is an option of the standard objective"),
    (["--objective", "wgan-gp", "--generator-loss", "minimax"], "--generator-loss minimax: a Wasserstein critic's G"),
    (["--r1", "-1"], "--r1: expected a non-negative finite number, got -1"),
    (["--objective", "lsq"], "--objective: invalid choice: 'lsq'"),
])
def test_options_of_another_objective_are_usage_errors(flags, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        mnist_gan.parse_args(flags)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_the_critic_step_benchmark_runs():
    """benchmarks/bench_wasserstein.py --tiny prints its table (a smoke test: it never asserts a speed)."""
    import subprocess
    import sys

    from conftest import ROOT

    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_wasserstein.py"), "--tiny", "--pairs", "1",
                             "--warmup", "0"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| objective | median ms |" in result.stdout and "| wgan-gp |" in result.stdout
