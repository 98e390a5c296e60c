"""DualGAN (minigan/gans/dualgan.py) on Algorithm 1's loop: eqs. 1–3 on values worked out by hand, line 7's
clipping, the round trips training both generators, n_critic critic steps per generator step; and
examples/dualgan.py writes its pictures and table, resumes bit for bit and refuses bad flags in one line.

DualGAN adds no layer or op: its losses are the Wasserstein critic loss, means and ``l1_loss``, each
gradchecked where it is defined; the generator loss as a whole is gradchecked here in float64."""

import json

import numpy
import pytest

import minigan
from minigan import Tensor, backend, gradcheck, optim
from minigan.gans.cyclegan import CycleDiscriminators, CycleGAN, CycleGenerators
from minigan.gans.dualgan import DualLearning, build_dualgan
from minigan.gans.image_to_image import Pair
from minigan.tools.io import load_checkpoint

from conftest import (PNG_SIGNATURE, Multiply, assert_same_history_files, assert_usage_error, load_example, pixelwise_linear, to_numpy,
                      write_mnist_subset)
from strategies import random_array

dualgan_example = load_example("dualgan")


def hand_made_dualgan(a=2.0, b=0.25, critic_a=(2.0, 0.1), critic_b=(-1.0, 0.3), weights=(3.0, 5.0), dtype=numpy.float32):
    """G_A = a·x, G_B = b·x, D_A(x) = 2x + 0.1 (judges V), D_B(x) = −x + 0.3 (judges U)."""
    generators = CycleGenerators(Multiply(a, dtype), Multiply(b, dtype))
    discriminators = CycleDiscriminators(pixelwise_linear(*critic_b, dtype), pixelwise_linear(*critic_a, dtype))  # (D_X, D_Y) = (D_B, D_A)
    return CycleGAN(generators, discriminators, optim.RMSprop(generators.parameters()), optim.RMSprop(discriminators.parameters()),
                    objective=DualLearning(weights, clip=0.01))


def constant_pair(gan, u=0.25, v=-0.5, m=2):
    xp = backend.get_backend().xp
    return gan.check_condition(Pair(xp.full((m, 4, 4, 1), u, numpy.float32), xp.full((m, 4, 4, 1), v, numpy.float32)), m, "test")


def tiny(seed=0, **settings):
    minigan.seed(seed)
    return build_dualgan(width=2, blocks=1, patch_widths=(4, 8), seed=seed, **settings)


def image_batches(xp, m=4, seed=0):
    """(u, v) minibatches of 28×28 images in [−1, 1], each a new draw."""
    while True:
        yield tuple(to_numpy(random_array(xp, (m, 28, 28, 1), seed + i, low=-1, high=1, dtype=numpy.float32)) for i in (0, 1))
        seed += 2


# ----- eqs. 1–3 -----------------------------------------------------------------------------------------
def test_critic_and_generator_losses_are_eqs_1_to_3_worked_out_by_hand():
    """u ≡ 0.25, v ≡ −0.5: G_A(u) = 0.5, G_B(v) = −0.125, G_B(G_A(u)) = 0.125, G_A(G_B(v)) = −0.25.
    l^d_A = D_A(0.5) − D_A(−0.5) = 1.1 − (−0.9) = 2;  l^d_B = D_B(−0.125) − D_B(0.25) = 0.425 − 0.05 = 0.375.
    l^g = 3·|0.25 − 0.125| + 5·|−0.5 + 0.25| − D_B(G_B(v)) − D_A(G_A(u)) = 0.375 + 1.25 − 0.425 − 1.1 = 0.1."""
    gan = hand_made_dualgan()
    pair = constant_pair(gan)
    fake = gan.call_generator(None, pair)  # (G_B(v), G_A(u))
    loss, stats = gan.objective.discriminator_loss(gan, pair.target, fake, pair)
    assert loss.item() == pytest.approx(2.375, rel=1e-6)
    assert float(stats["d_real"]) == pytest.approx((-0.9 + 0.05) / 2, rel=1e-6)
    assert float(stats["d_fake"]) == pytest.approx((1.1 + 0.425) / 2, rel=1e-6)
    assert float(stats["wasserstein"]) == pytest.approx(-1.1875, rel=1e-6)
    loss, stats = gan.objective.generator_loss(gan, fake, pair)
    assert loss.item() == pytest.approx(0.1, rel=1e-5)
    assert float(stats["reconstruction"]) == pytest.approx((0.125 + 0.25) / 2, rel=1e-6)
    assert float(stats["d_fake_after"]) == pytest.approx((1.1 + 0.425) / 2, rel=1e-6)
    only_u = DualLearning((3.0, 0.0)).generator_loss(gan, fake, pair)[0]  # λ_V = 0 drops the v round trip alone
    assert only_u.item() == pytest.approx(0.1 - 1.25, rel=1e-5)


def test_each_round_trip_trains_both_generators_with_the_gradient_worked_out_by_hand():
    """With constant critics (weight 0) only the reconstruction terms move G. λ_U·mean |u − b·a·u| with
    u ≡ 0.25, a·b = 0.5: d/da = −λ_U·b·u·sign(u − abu) = −λ_U·0.0625, d/db = −λ_U·a·u = −λ_U·0.5; the v
    round trip, v ≡ −0.5: d/da = λ_V·b·v = −λ_V·0.125, d/db = λ_V·a·v = −λ_V·1. A round trip cut after
    its first generator (a detached G_A(u)) would leave that generator's gradient 0."""
    for weights, expected in (((1.0, 0.0), (-0.0625, -0.5)), ((0.0, 1.0), (-0.125, -1.0)), ((2.0, 3.0), (-0.5, -4.0))):
        gan = hand_made_dualgan(critic_a=(0.0, 0.1), critic_b=(0.0, 0.3), weights=weights)
        pair = constant_pair(gan)
        gan.generator.zero_grad()
        gan.objective.generator_loss(gan, gan.call_generator(None, pair), pair)[0].backward()
        found = [float(to_numpy(g.factor.grad)[0]) for g in (gan.generator.g, gan.generator.f)]
        assert found == [pytest.approx(value, rel=1e-6) for value in expected]


def test_the_generator_loss_passes_a_float64_gradcheck_through_both_generators_and_both_critics(xp):
    gan = hand_made_dualgan(a=1.5, b=0.75, dtype=numpy.float64)
    u, v = (Tensor(random_array(xp, (3, 4, 4, 1), seed, low=-1, high=1, dtype=numpy.float64)) for seed in (1, 2))
    pair = Pair(u, v)

    def loss(a, b):
        gan.generator.g.factor, gan.generator.f.factor = a, b
        return gan.objective.generator_loss(gan, gan.call_generator(None, pair), pair)[0]

    factors = [Tensor(xp.full(1, value, numpy.float64), requires_grad=True) for value in (1.5, 0.75)]
    assert max(gradcheck(loss, factors)) < 1e-6


def test_the_objective_refuses_weights_and_a_box_that_are_not_numbers_it_can_use():
    for weights in ((1.0,), (1.0, -1.0), (float("nan"), 1.0)):
        with pytest.raises(ValueError, match=r"DualLearning: reconstruction_weights must be two numbers \(λ_U, λ_V\) ≥ 0"):
            DualLearning(weights)
    with pytest.raises(ValueError, match="WGAN: clip"):
        DualLearning(clip=0.0)
    assert "clip=0.05" in repr(DualLearning(clip=0.05))


# ----- Algorithm 1 ----------------------------------------------------------------------------------------
def test_line_7_clips_every_parameter_of_both_critics_after_their_update_and_nothing_else(xp):
    """Two DualGANs from one seed, one with a box too wide to clip anything: after one critic step on the same
    minibatch, the clipped critics' parameters are the unclipped ones clipped to [−c, c], exactly."""
    free, clipped = tiny(clip=1e6), tiny(clip=0.01)
    generator_before = [p.numpy().copy() for p in clipped.generator.parameters()]
    batch = next(image_batches(xp))
    for gan in (free, clipped):
        gan.discriminator_step(*gan.split_batch(batch))
    outside = 0
    for d_x_or_d_y in ("d_x", "d_y"):
        for p_free, p_clipped in zip(getattr(free.discriminator, d_x_or_d_y).parameters(), getattr(clipped.discriminator, d_x_or_d_y).parameters()):
            numpy.testing.assert_array_equal(p_clipped.numpy(), numpy.clip(p_free.numpy(), -0.01, 0.01))
            outside += int((numpy.abs(p_free.numpy()) > 0.01).sum())
    assert outside > 0  # the box did clip something, in both critics' initial N(0, 0.02) weights
    assert all(numpy.array_equal(b, p.numpy()) for b, p in zip(generator_before, clipped.generator.parameters()))


def test_one_iteration_is_n_critic_critic_steps_on_their_own_minibatches_then_one_rmsprop_generator_step(xp):
    gan = tiny(critic_steps=3, lr=1e-3)
    assert isinstance(gan.generator_optimizer, optim.RMSprop) and gan.generator_optimizer.lr == 1e-3
    assert gan.discriminator_optimizer.alpha == 0.9  # the authors' code's decay
    drawn = []
    batches = image_batches(xp)

    def counted():
        while True:
            drawn.append(1)
            yield next(batches)

    stats = gan.train_iteration(counted())
    assert (len(drawn), gan.discriminator_step_count, gan.generator_step_count) == (3, 3, 1)
    assert set(stats) >= {"d_loss", "g_loss", "d_real", "d_fake", "wasserstein", "reconstruction"}
    assert all(numpy.isfinite(float(value)) for value in stats.values())


def test_the_same_seed_gives_the_same_losses():
    def losses(seed):
        gan, batches = tiny(seed=seed), image_batches(backend.get_backend().xp)
        return [{k: float(v) for k, v in gan.train_iteration(batches).items()} for _ in range(2)]

    assert losses(0) == losses(0) and losses(0) != losses(1)


# ----- the example ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    return write_mnist_subset(tmp_path_factory, 128, 40)


def run(small_mnist, out, *flags):
    return dualgan_example.main([*map(str, ["--data", small_mnist, "--out", out, "--batch-size", 16, "--width", 2,
                                            "--blocks", 1, "--log-every", 1, *flags])])


def test_the_example_trains_both_variants_and_prints_them_side_by_side(small_mnist, tmp_path, capsys):
    """128 images, two halves of 64, minibatches of 16: 4 minibatches an epoch, 2 DualGAN iterations (n_critic = 2)."""
    out = tmp_path / "run"
    assert run(small_mnist, out, "--steps", 3) == 0
    printed = capsys.readouterr().out
    assert "dualgan: 3 iterations (2 per epoch" in printed and "cyclegan: 3 iterations (4 per epoch" in printed
    for variant in ("dualgan", "cyclegan"):
        assert (out / variant / "figure_epoch_001.png").read_bytes()[:8] == PNG_SIGNATURE
        state, metadata = load_checkpoint(out / variant / "checkpoint.npz")
        assert int(state["gan"]["counters"]["iteration"]) == 3 and metadata["config"]["variant"] == variant
    assert (out / "dualgan" / "figure_epoch_002.png").exists()  # DualGAN's 3 iterations end in its second epoch
    dual, _ = load_checkpoint(out / "dualgan" / "checkpoint.npz")
    assert int(dual["gan"]["counters"]["discriminator_step_count"]) == 6
    measured = json.loads((out / "measurements.json").read_text())
    assert measured["test_images"] == 40 and {"dualgan, X → Y", "cyclegan, X → Y", "no translation, X → Y"} <= set(measured["rows"])
    row = measured["rows"]["dualgan, X → Y"]
    assert 0 <= row["classifier"] <= 1 and 0 <= row["classifier_negated"] <= 1 and row["cpu_seconds"] >= 0


def test_the_example_resumes_bit_for_bit_and_refuses_a_contradicting_flag(small_mnist, tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--variants", "dualgan", "--epochs", "3"]  # 2 iterations an epoch
    assert run(small_mnist, whole, "--steps", 5, *common) == 0
    assert run(small_mnist, parts, "--steps", 3, *common) == 0  # cut inside epoch 2
    assert dualgan_example.main(["--resume", str(parts), "--steps", "5", *common]) == 0
    assert_same_history_files(whole / "dualgan", parts / "dualgan", "g_loss", 5)
    capsys.readouterr()
    assert dualgan_example.main(["--resume", str(parts), "--steps", "7", "--clip", "0.5", *common]) == 2
    error = capsys.readouterr().err.strip()
    assert "--clip 0.5 contradicts the checkpoint" in error and len(error.splitlines()) == 1


@pytest.mark.parametrize("flags, message", [
    (["--clip", "0"], "--clip: expected a positive finite number, got 0"),
    (["--n-critic", "0"], "--n-critic: expected a positive integer, got 0"),
    (["--lambda-u", "-1"], "--lambda-u: expected a non-negative finite number, got -1"),
    (["--lambda-v", "nan"], "--lambda-v: expected a non-negative finite number, got nan"),
    (["--identity-weight", "inf"], "--identity-weight: expected a non-negative finite number, got inf"),
    (["--rmsprop-lr", "fast"], "--rmsprop-lr: expected a positive number, got 'fast'"),
    (["--variants", "gan-alone"], "--variants: invalid choice: 'gan-alone'"),
])
def test_bad_flags_are_one_line_errors(flags, message, capsys):
    assert_usage_error(dualgan_example.parse_args, flags, message, capsys)


def test_missing_data_is_a_one_line_error_and_help_explains_every_flag(tmp_path, capsys):
    assert dualgan_example.main(["--data", str(tmp_path / "nowhere.npz"), "--out", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("dualgan.py: error: no MNIST data at") and len(error.splitlines()) == 1
    with pytest.raises(SystemExit):
        dualgan_example.parse_args(["--help"])
    text = capsys.readouterr().out
    for flag in ("--lambda-u", "--lambda-v", "--clip", "--n-critic", "--rmsprop-lr", "--lr", "--cycle-weight", "--identity-weight",
                 "--variants", "--resume", "--steps", "--blocks", "--width"):
        assert flag in text
