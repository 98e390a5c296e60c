"""SimGAN (minigan/gans/simgan.py) on Algorithm 1's loop: eqs. 2 and 4 per patch on values worked out by hand,
the self-regularisation's gradient, the pretraining steps, the history buffer of §2.3 (what it keeps, what
it replaces, its state restored), a training iteration; and examples/simgan.py writes its figures and
table, resumes bit for bit (buffer included), measures a --checkpoint, and refuses bad flags in one line.

SimGAN adds no layer or op: its losses are BCE-with-logits means and ``l1_loss``, each gradchecked where
it is defined; the refiner's loss as a whole is gradchecked here in float64."""

import json

import numpy
import pytest

import minigan
from minigan import Tensor, backend, gradcheck, optim
from minigan.gans.image_to_image import Pair
from minigan.gans.simgan import HistoryBuffer, Refinement, SimGAN, build_simgan
from minigan.tools.io import load_checkpoint, save_checkpoint

from conftest import (PNG_SIGNATURE, Multiply, assert_same_history_files, assert_usage_error, load_example, pixelwise_linear, to_numpy,
                      write_mnist_subset)
from strategies import random_array

simgan_example = load_example("simgan")


def hand_made(a=0.5, d=(2.0, -0.5), weight=3.0, history=None, pretrain=0, dtype=numpy.float32):
    r, discriminator = Multiply(a, dtype), pixelwise_linear(*d, dtype=dtype)
    return SimGAN(r, discriminator, optim.Adam(r.parameters()), optim.Adam(discriminator.parameters()),
                  Refinement(weight, history, pretrain))


def softplus(s):
    return numpy.log1p(numpy.exp(s))


def checkerboard_pair(gan, m=2, dtype=numpy.float32):
    """x: a checkerboard of 0.25 and −0.75 (4×4), y ≡ 0.5."""
    xp = backend.get_backend().xp
    board = numpy.where(numpy.indices((4, 4)).sum(axis=0) % 2 == 0, 0.25, -0.75).astype(dtype)
    x = numpy.broadcast_to(board[None, :, :, None], (m, 4, 4, 1)).copy()
    return gan.check_condition(Pair(xp.asarray(x), xp.full((m, 4, 4, 1), 0.5, dtype)), m, "test"), x


# ----- eqs. 2 and 4, per patch --------------------------------------------------------------------------
def test_the_discriminator_loss_is_eq_2_averaged_over_patches():
    """D's logit s = 2·pixel − 0.5 per patch, σ(s) the probability of real; the paper's D_φ = 1 − σ(s):
    L_D = mean over patches of −log(1 − D_φ(y)) − log D_φ(R(x)) = softplus(−s_y) + softplus(s_R(x))."""
    gan = hand_made()
    pair, x = checkerboard_pair(gan)
    fake = gan.call_generator(None, pair)                        # R(x) = 0.5·x: 0.125 and −0.375
    loss, stats = gan.objective.discriminator_loss(gan, pair.target, fake, pair)
    s_real, s_refined = 2.0 * 0.5 - 0.5, 2.0 * (0.5 * x) - 0.5
    assert loss.item() == pytest.approx(softplus(-s_real) + softplus(s_refined).mean(), rel=1e-6)
    assert float(stats["d_real"]) == pytest.approx(1 / (1 + numpy.exp(-s_real)), rel=1e-6)
    assert float(stats["d_fake"]) == pytest.approx((1 / (1 + numpy.exp(-s_refined))).mean(), rel=1e-6)


def test_the_refiner_loss_is_eq_4_adversarial_per_patch_plus_lambda_l1():
    """L_R = mean over patches of −log(1 − D_φ(R(x))) = softplus(−s) + λ·mean |R(x) − x|, R(x) = 0.5·x, λ = 3."""
    gan = hand_made()
    pair, x = checkerboard_pair(gan)
    loss, stats = gan.objective.generator_loss(gan, gan.call_generator(None, pair), pair)
    s = 2.0 * (0.5 * x) - 0.5
    l1 = numpy.abs(0.5 * x - x).mean()                                   # (0.125 + 0.375) / 2 = 0.25
    assert l1 == 0.25 and float(stats["self_regularisation"]) == pytest.approx(l1, rel=1e-6)
    assert loss.item() == pytest.approx(softplus(-s).mean() + 3.0 * l1, rel=1e-6)
    no_l1 = Refinement(0.0).generator_loss(gan, gan.call_generator(None, pair), pair)[0]
    assert no_l1.item() == pytest.approx(softplus(-s).mean(), rel=1e-6)


def test_pretraining_descends_the_self_regularisation_alone_then_adds_the_adversarial_term():
    gan = hand_made(pretrain=2)
    pair, x = checkerboard_pair(gan)
    for step, adversarial in ((0, False), (1, False), (2, True)):
        gan.generator_step_count = step
        loss = gan.objective.generator_loss(gan, gan.call_generator(None, pair), pair)[0].item()
        alone = 0.25  # mean |R(x) − x|, unweighted
        assert (loss == pytest.approx(alone, rel=1e-6)) is not adversarial


def test_the_self_regularisation_gradient_is_lambda_sign_and_d_gets_none_in_rs_step(xp):
    """With D's weight 0 only the L1 term moves R: d/da λ·mean |a·x − x| = λ·mean(sign((a − 1)x)·x) = λ·(a<1: −mean |x|)."""
    gan = hand_made(a=0.5, d=(0.0, 0.3), weight=3.0)
    pair, x = checkerboard_pair(gan)
    gan.generator.zero_grad()
    gan.discriminator.zero_grad()
    gan.generator_step(2, pair)  # R's step of the loop: D frozen
    assert float(to_numpy(gan.generator.factor.grad)[0]) == pytest.approx(-3.0 * numpy.abs(x).mean(), rel=1e-6)
    assert gan.discriminator.weight.grad is None or not numpy.any(to_numpy(gan.discriminator.weight.grad))


def test_the_refiner_loss_passes_a_float64_gradcheck_through_r_and_the_patch_d(xp):
    gan = hand_made(a=0.8, d=(1.5, -0.2), weight=2.0, dtype=numpy.float64)
    x, y = (Tensor(random_array(xp, (3, 4, 4, 1), seed, low=-1, high=1, dtype=numpy.float64)) for seed in (1, 2))
    pair = Pair(x, y)

    def loss(a):
        gan.generator.factor = a
        return gan.objective.generator_loss(gan, gan.call_generator(None, pair), pair)[0]

    assert max(gradcheck(loss, [Tensor(xp.full(1, 0.8, numpy.float64), requires_grad=True)])) < 1e-6


def test_the_objective_refuses_settings_it_cannot_use():
    with pytest.raises(ValueError, match=r"Refinement: self_regularisation \(λ\) must be ≥ 0"):
        Refinement(-1.0)
    with pytest.raises(ValueError, match="Refinement: pretrain_steps must be an int ≥ 0"):
        Refinement(1.0, pretrain_steps=-1)
    with pytest.raises(TypeError, match="Refinement: history must be a HistoryBuffer or None"):
        Refinement(1.0, history=[])
    with pytest.raises(ValueError, match=r"HistoryBuffer: size \(B\)"):
        HistoryBuffer(0)


# ----- the history buffer (§2.3) -----------------------------------------------------------------------
def numbered(xp, start, m):
    """m 2×2 images, image i filled with the number start + i: each image names itself."""
    return xp.asarray(numpy.broadcast_to(numpy.arange(start, start + m, dtype=numpy.float32)[:, None, None, None], (m, 2, 2, 1)).copy())


def names(images):
    return [int(v) for v in to_numpy(images.data if isinstance(images, Tensor) else images)[:, 0, 0, 0]]


def test_the_buffer_fills_first_then_gives_half_of_each_minibatch_and_swaps_those_slots_for_current_images(xp):
    """B = 8, m = 4. Step 1 (empty): D sees the 4 current images, which fill slots 0–3. Step 2: 2 current
    + 2 drawn from the 4 stored, and the 2 current enter new slots 4–5. Once full (B = 8), each step D sees
    2 current + 2 distinct stored, and exactly the 2 drawn slots now hold the 2 current images shown."""
    buffer = HistoryBuffer(8, seed=5)
    assert names(buffer.mix(numbered(xp, 0, 4))) == [0, 1, 2, 3] and buffer.filled == 4
    judged = names(buffer.mix(numbered(xp, 10, 4)))
    assert judged[:2] == [10, 11] and len(set(judged[2:])) == 2 and set(judged[2:]) <= {0, 1, 2, 3}
    assert buffer.filled == 6 and names(buffer.images[:6]) == [0, 1, 2, 3, 10, 11]
    buffer.mix(numbered(xp, 20, 4))                               # slots 6–7: full
    assert buffer.filled == 8 and names(buffer.images) == [0, 1, 2, 3, 10, 11, 20, 21]
    for start in (30, 40, 50, 60):
        before = names(buffer.images)
        judged = names(buffer.mix(numbered(xp, start, 4)))
        after = names(buffer.images)
        assert judged[:2] == [start, start + 1] and len(set(judged[2:])) == 2 and set(judged[2:]) <= set(before)
        changed = [slot for slot in range(8) if before[slot] != after[slot]]
        assert sorted(before[slot] for slot in changed) == sorted(judged[2:])   # the drawn slots, and only they,
        assert sorted(after[slot] for slot in changed) == [start, start + 1]    # now hold the current half
    assert buffer.updates == 7


def test_an_odd_minibatch_gives_m_minus_half_current_images_and_a_refused_shape_is_one_line(xp):
    buffer = HistoryBuffer(4)
    buffer.mix(numbered(xp, 0, 3))
    judged = names(buffer.mix(numbered(xp, 10, 3)))
    assert judged[:2] == [10, 11] and judged[2] in {0, 1, 2} and buffer.filled == 4
    with pytest.raises(ValueError, match=r"HistoryBuffer.mix: the buffer holds images of shape \(2, 2, 1\)"):
        buffer.mix(xp.zeros((3, 4, 4, 1), numpy.float32))


def test_a_restored_buffer_draws_and_replaces_what_the_original_does(xp):
    original = HistoryBuffer(6, seed=2)
    for start in (0, 10, 20):
        original.mix(numbered(xp, start, 4))
    state = {key: numpy.array(value) for key, value in original.state_dict().items()}
    restored = HistoryBuffer(6, seed=2).load_state_dict(state)
    for start in (30, 40, 50):
        assert names(original.mix(numbered(xp, start, 4))) == names(restored.mix(numbered(xp, start, 4)))
        assert names(original.images) == names(restored.images)
    with pytest.raises(ValueError, match="HistoryBuffer: the state holds 6 images"):
        HistoryBuffer(4).load_state_dict(state)
    assert HistoryBuffer(4).load_state_dict(HistoryBuffer(4).state_dict()).filled == 0  # an empty buffer round-trips


# ----- Algorithm 1 ----------------------------------------------------------------------------------------
def batches(xp, m=4, seed=0):
    while True:
        yield tuple(to_numpy(random_array(xp, (m, 28, 28, 1), seed + i, low=-1, high=1, dtype=numpy.float32)) for i in (0, 1))
        seed += 2


def tiny(seed=0, history_size=8):
    minigan.seed(seed)
    return build_simgan(width=2, blocks=1, discriminator_widths=(2, 2, 2), history_size=history_size, pretrain_steps=1, seed=seed)


def test_iterations_train_both_networks_and_the_checkpoint_holds_the_buffer(xp):
    gan = tiny()
    refiner_before = [to_numpy(p.data).copy() for p in gan.generator.parameters()]
    d_before = [to_numpy(p.data).copy() for p in gan.discriminator.parameters()]
    data = batches(xp)
    history = [{k: float(v) for k, v in gan.train_iteration(data).items()} for _ in range(3)]
    assert all(numpy.isfinite(list(stats.values())).all() for stats in history)
    assert all(not numpy.array_equal(b, to_numpy(p.data)) for b, p in zip(refiner_before, gan.generator.parameters()))
    assert any(not numpy.array_equal(b, to_numpy(p.data)) for b, p in zip(d_before, gan.discriminator.parameters()))
    state = gan.state_dict()
    assert int(state["history"]["filled"]) == 8 and int(state["history"]["updates"]) == 3
    assert "history" not in tiny(history_size=0).state_dict()  # no buffer (the ablation): nothing to keep


def test_the_same_seed_gives_the_same_losses():
    def losses(seed):
        gan, data = tiny(seed=seed), batches(backend.get_backend().xp)
        return [{k: float(v) for k, v in gan.train_iteration(data).items()} for _ in range(3)]

    assert losses(0) == losses(0) and losses(0) != losses(1)


# ----- the example ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    return write_mnist_subset(tmp_path_factory, 64, 40)


def run(small_mnist, out, *flags):
    return simgan_example.main([*map(str, ["--data", small_mnist, "--out", out, "--batch-size", 16, "--width", 2, "--blocks", 1,
                                           "--history-size", 16, "--pretrain-steps", 1, "--classifier-epochs", 1, "--classifier-seeds", 2, "--log-every", 1, *flags])])


def test_the_example_refines_measures_three_classifiers_and_a_checkpoint_is_measured_again(small_mnist, tmp_path, capsys):
    """64 images in minibatches of 16: 4 iterations an epoch."""
    out = tmp_path / "run"
    assert run(small_mnist, out, "--steps", 3) == 0
    printed = capsys.readouterr().out
    assert "simgan: 3 iterations (4 per epoch" in printed
    assert (out / "simgan" / "figure_epoch_001.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (out / "comparison.png").read_bytes()[:8] == PNG_SIGNATURE
    state, metadata = load_checkpoint(out / "simgan" / "checkpoint.npz")
    assert int(state["gan"]["counters"]["iteration"]) == 3 and int(state["gan"]["history"]["filled"]) == 16
    measured = json.loads((out / "measurements.json").read_text())
    assert set(measured["rows"]) == {"synthetic", "synthetic, thickened", "refined (simgan)", "real"} and measured["test_images"] == 40
    for row in measured["rows"].values():
        assert 0 <= row["test_accuracy_min"] <= row["test_accuracy"] <= row["test_accuracy_max"] <= 1 and 0 <= row["labels_read"] <= 1
    again = tmp_path / "again"
    assert run(small_mnist, again, "--checkpoint", out / "simgan" / "checkpoint.npz") == 0
    remeasured = json.loads((again / "measurements.json").read_text())["rows"]
    assert remeasured["refined (simgan)"]["self_regularisation"] == measured["rows"]["refined (simgan)"]["self_regularisation"]
    untimed = lambda row: {key: value for key, value in row.items() if not key.endswith("cpu_seconds")}  # noqa: E731
    assert untimed(remeasured["synthetic"]) == untimed(measured["rows"]["synthetic"])  # the same classifiers, the same accuracies


def test_the_example_resumes_bit_for_bit_with_its_history_buffer(small_mnist, tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--epochs", "2", "--classifier-epochs", "1"]
    assert run(small_mnist, whole, "--steps", 6, *common) == 0
    assert run(small_mnist, parts, "--steps", 3, *common) == 0  # cut inside epoch 1
    assert simgan_example.main(["--resume", str(parts), "--steps", "6", *common]) == 0
    assert_same_history_files(whole / "simgan", parts / "simgan", "g_loss", 6)
    capsys.readouterr()
    assert simgan_example.main(["--resume", str(parts), "--steps", "7", "--self-regularisation", "0.5", *common]) == 2
    error = capsys.readouterr().err.strip()
    assert "--self-regularisation 0.5 contradicts the checkpoint" in error and len(error.splitlines()) == 1


@pytest.mark.parametrize("flags, message", [
    (["--self-regularisation", "-1"], "--self-regularisation: expected a non-negative finite number, got -1"),
    (["--history-size", "0"], "--history-size: expected a positive integer, got 0"),
    (["--pretrain-steps", "-1"], "--pretrain-steps: expected a non-negative integer, got -1"),
    (["--classifier-epochs", "0"], "--classifier-epochs: expected a positive integer, got 0"),
    (["--variants", "cyclegan"], "--variants: invalid choice: 'cyclegan'"),
    (["--checkpoint", "a.npz", "--resume", "runs/simgan"], "--checkpoint: measures a trained refiner; it cannot be given with --resume"),
])
def test_bad_flags_are_one_line_errors(flags, message, capsys):
    assert_usage_error(simgan_example.parse_args, flags, message, capsys)


def test_a_checkpoint_that_is_not_a_refiners_is_a_one_line_error(small_mnist, tmp_path, capsys):
    assert run(small_mnist, tmp_path / "x", "--checkpoint", tmp_path / "nowhere.npz") == 2
    error = capsys.readouterr().err.strip()
    assert error == f"simgan.py: error: --checkpoint: no checkpoint at {str(tmp_path / 'nowhere.npz')!r}"
    other = tmp_path / "other.npz"
    save_checkpoint(other, {"weights": numpy.zeros(2)}, metadata={"config": {"variant": "cgan"}})
    assert run(small_mnist, tmp_path / "y", "--checkpoint", other) == 2
    error = capsys.readouterr().err.strip()
    assert "was not written by simgan.py" in error and len(error.splitlines()) == 1
