"""CTGAN (Xu et al. 2019): the Gumbel-softmax's gradient, each loss against its formula, the gradient reaching
G, training by sampling, and a tiny table on which G learns to honour its condition."""

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import Tensor, nn
from minigan.engine.ops import gumbel_softmax, softmax
from minigan.engine.ops.activations import gumbel_noise
from minigan.gans.ctgan import (CTGANObjective, ConditionSampler, PackedCritic, TrainingBySampling, activate, build_ctgan,
                                condition_loss)
from minigan.tools.data.camera_records import Column
from minigan.tools.data.tabular import Span, TableEncoder

from conftest import assert_close, to_numpy


# ----- the Gumbel-softmax -------------------------------------------------------------------------------
@given(rows=st.integers(1, 4), classes=st.integers(2, 6), temperature=st.sampled_from([0.2, 0.5, 1.0, 3.0]), seed=st.integers(0, 99))
@settings(max_examples=15, deadline=None)
def test_gumbel_softmax_gradient_matches_finite_differences(xp, rows, classes, temperature, seed):
    rng = numpy.random.default_rng(seed)
    noise = gumbel_noise((rows, classes), numpy.float64, xp, rng)    # the same g for every evaluation
    # logits with (z + g)/τ ~ N(0, 1): a softmax far from saturation, whose gradient finite differences resolve
    logits = Tensor(temperature * xp.asarray(rng.standard_normal((rows, classes))) - noise, requires_grad=True)
    assert max(minigan.gradcheck(lambda z: gumbel_softmax(z, temperature, noise=noise), [logits])) < 1e-6
    assert max(minigan.gradgradcheck(lambda z: gumbel_softmax(z, temperature, noise=noise), [logits])) < 1e-6


def test_gumbel_softmax_is_softmax_of_the_perturbed_logits_over_tau_and_samples_the_categorical(xp):
    rng = numpy.random.default_rng(0)
    logits = xp.asarray(numpy.log(numpy.array([[0.6, 0.3, 0.1]])).repeat(20000, axis=0))
    noise = gumbel_noise(logits.shape, numpy.float64, xp, rng)
    y = gumbel_softmax(Tensor(logits), 0.2, noise=noise)
    assert_close(y.data, softmax(Tensor((logits + noise) / 0.2)).data, rtol=1e-12, atol=1e-15)
    assert_close(y.data.sum(axis=1), numpy.ones(20000), rtol=1e-12)
    frequencies = numpy.bincount(to_numpy(y.data).argmax(axis=1), minlength=3) / 20000   # the Gumbel-max trick
    numpy.testing.assert_allclose(frequencies, [0.6, 0.3, 0.1], atol=0.015)


def test_gumbel_softmax_refuses_a_bad_temperature_and_noise(xp):
    logits = Tensor(xp.zeros((2, 3), dtype=numpy.float32))
    with pytest.raises(ValueError, match="temperature"):
        gumbel_softmax(logits, 0)
    with pytest.raises(ValueError, match="noise has shape"):
        gumbel_softmax(logits, 0.2, noise=xp.zeros((3, 2)))


# ----- a tiny table: one category (a, b) and one value whose mode the category sets ------------------------------
TINY_SCHEMA = (Column("kind", "categorical", ("a", "b")), Column("value", "continuous", low=-3.0, high=3.0))


def tiny_table(n=400, seed=0, rare=0.2):
    rng = numpy.random.default_rng(seed)
    kind = (rng.uniform(size=n) < rare).astype(numpy.int64)                   # b is rare
    value = numpy.where(kind == 1, 1.5, -1.5) + 0.2 * rng.standard_normal(n)
    return {"kind": kind, "value": value.astype(numpy.float32)}


def tiny_ctgan(table, seed=0, pac=5, lr=2e-3):
    encoder = TableEncoder(TINY_SCHEMA, modes=2).fit(table)
    sampler = ConditionSampler({"kind": table["kind"]}, [2])
    minigan.seed(seed)
    gan = build_ctgan(encoder, sampler, lr=lr, noise_dim=8, hidden=(32, 32), pac=pac, seed=seed)
    rows = encoder.encode(table, numpy.random.default_rng(seed))
    return gan, encoder, sampler, rows


def test_training_by_sampling_draws_categories_by_log_frequency_and_rows_that_match():
    table = tiny_table(4000, rare=0.1)
    sampler = ConditionSampler({"kind": table["kind"]}, [2])
    counts = numpy.bincount(table["kind"], minlength=2)
    expected = numpy.log(counts + 1.0) / numpy.log(counts + 1.0).sum()
    conditions, rows = sampler.sample(20000, numpy.random.default_rng(0))
    numpy.testing.assert_allclose(conditions.mean(axis=0), expected, atol=0.01)    # not the 0.1 of the data: rare kinds more often
    numpy.testing.assert_array_equal(table["kind"][rows], conditions.argmax(axis=1))
    loader = TrainingBySampling(numpy.zeros((4000, 3), numpy.float32), sampler, 100, seed=3)
    first = [c for _, c in loader]
    loader.epoch = 0
    again = [c for _, c in loader]
    assert len(first) == 40 and all((a == b).all() for a, b in zip(first, again))   # epoch e is fixed by (seed, e)


def test_condition_loss_is_the_cross_entropy_of_the_chosen_column(xp):
    spans = [(Span("x", "softmax", 0, 3), 0), (Span("y", "softmax", 4, 6), 3)]   # row: x (3), a tanh (1), y (2)
    rng = numpy.random.default_rng(0)
    logits = rng.standard_normal((4, 6))
    condition = numpy.zeros((4, 5))
    condition[[0, 1, 2, 3], [2, 3, 0, 4]] = 1                                   # rows 0, 2 chose x; rows 1, 3 chose y
    got = condition_loss(Tensor(xp.asarray(logits)), Tensor(xp.asarray(condition)), spans)

    def ce(l, k):
        return numpy.log(numpy.exp(l).sum()) - l[k]
    expected = (ce(logits[0, 0:3], 2) + ce(logits[1, 4:6], 0) + ce(logits[2, 0:3], 0) + ce(logits[3, 4:6], 1)) / 4
    assert_close(got.data, expected, rtol=1e-12)


def test_critic_and_penalty_against_their_formulas_for_a_linear_critic(xp):
    """For a linear critic D(pack) = w·pack + b the gradient is w at every x̂, so the penalty is λ(‖w‖ − 1)²
    exactly, and the critic's loss is the mean score of the fake packs minus that of the real ones."""
    table = tiny_table(100)
    gan, encoder, sampler, rows = tiny_ctgan(table, pac=5)
    critic = PackedCritic(encoder.width, sampler.width, pac=5, hidden=())            # one Linear: pack -> score
    gan.discriminator = critic
    weight = to_numpy(critic.net.layers[0].weight.data).astype(numpy.float64).reshape(-1)   # (1, pac·(width + cond)) -> flat
    bias = to_numpy(critic.net.layers[0].bias.data)
    rng = numpy.random.default_rng(1)
    conditions = numpy.eye(2, dtype=numpy.float32)[rng.integers(2, size=20)]
    real, fake = rows[:20], rows[20:40]
    c = gan.check_condition(conditions, 20, "test")
    loss, stats = CTGANObjective(penalty_weight=10.0, pac=5).discriminator_loss(gan, Tensor(xp.asarray(real)), Tensor(xp.asarray(fake)), c)

    def scores(x):
        packs = numpy.concatenate([x, conditions], axis=1).reshape(4, -1)        # (m/pac, pac·(width + cond))
        return packs @ weight + bias
    penalty = 10.0 * (numpy.linalg.norm(weight.reshape(5, encoder.width + 2)[:, :encoder.width]) - 1) ** 2   # ∂/∂rows only
    expected = scores(fake).mean() - scores(real).mean() + penalty
    assert_close(stats["gradient_penalty"], penalty, rtol=1e-4)
    assert_close(loss.data, expected, rtol=1e-4, atol=1e-5)


def test_generator_loss_is_minus_the_critic_score_plus_the_condition_loss_and_reaches_g(xp):
    table = tiny_table(200)
    gan, encoder, sampler, rows = tiny_ctgan(table)
    conditions, _ = sampler.sample(20, numpy.random.default_rng(0))
    before = [to_numpy(p.data).copy() for p in gan.discriminator.parameters()]
    stats = gan.generator_step(20, conditions)
    assert_close(stats["g_loss"], -stats["d_fake_after"] + stats["condition_loss"], rtol=1e-5)
    for parameter in gan.generator.parameters():                                # every parameter of G got a gradient
        assert parameter.grad is not None and numpy.abs(to_numpy(parameter.grad)).max() > 0
    for old, parameter in zip(before, gan.discriminator.parameters()):          # the critic did not move
        numpy.testing.assert_array_equal(old, to_numpy(parameter.data))


def test_generator_rows_have_tanh_and_one_hot_like_blocks(xp):
    spans = (Span("x", "softmax", 0, 3), Span("v", "tanh", 3, 4), Span("v", "softmax", 4, 6))
    values = numpy.random.default_rng(0).standard_normal((50, 6)).astype(numpy.float32) * 5
    rows = to_numpy(activate(Tensor(xp.asarray(values)), spans, 0.2).data)
    assert rows.dtype == numpy.float32 and rows.shape == (50, 6)
    numpy.testing.assert_allclose(rows[:, 3], numpy.tanh(values[:, 3]), rtol=1e-6)
    numpy.testing.assert_allclose(rows[:, 0:3].sum(axis=1), 1, rtol=1e-5)
    assert numpy.median(rows[:, 0:3].max(axis=1)) > 0.9                          # τ = 0.2: nearly one-hot


def test_a_packed_critic_refuses_a_batch_that_does_not_split_into_packs(xp):
    critic = PackedCritic(3, 2, pac=4, hidden=(8,))
    with pytest.raises(ValueError, match="packs of pac = 4"):
        critic(Tensor(xp.zeros((6, 3), dtype=numpy.float32)), Tensor(xp.zeros((6, 2), dtype=numpy.float32)))


def test_g_learns_to_honour_its_condition_on_a_tiny_table(xp):
    table = tiny_table(400)
    gan, encoder, sampler, rows = tiny_ctgan(table)
    loader = TrainingBySampling(rows, sampler, 50, seed=0)
    for _ in range(15):
        batches = iter(loader)
        for _ in range(len(loader)):
            gan.train_iteration(batches)
    for kind in (0, 1):
        conditions = numpy.zeros((200, 2), numpy.float32)
        conditions[:, kind] = 1
        fake = encoder.decode(to_numpy(gan.generate(gan.sample_noise(200), conditions).data))
        assert (fake["kind"] == kind).mean() > 0.9                              # G draws the category it is asked for
        assert abs(numpy.median(fake["value"]) - (1.5 if kind else -1.5)) < 0.5   # and the value that goes with it


def test_the_standard_game_on_packs_is_standards_losses_plus_the_condition_loss(xp):
    from minigan.engine.losses import binary_cross_entropy_with_logits

    table = tiny_table(200)
    encoder = TableEncoder(TINY_SCHEMA, modes=2).fit(table)
    sampler = ConditionSampler({"kind": table["kind"]}, [2])
    minigan.seed(0)
    gan = build_ctgan(encoder, sampler, noise_dim=8, hidden=(16,), pac=5, seed=0, adversarial="standard")
    conditions, picked = sampler.sample(20, numpy.random.default_rng(0))
    rows = encoder.encode(table, numpy.random.default_rng(0))[picked]
    c = gan.check_condition(conditions, 20, "test")
    real, fake = Tensor(xp.asarray(rows)), gan.generate(gan.sample_noise(20), conditions)
    gan.discriminator.eval()  # no dropout: the same logits in both computations
    loss, _ = gan.objective.discriminator_loss(gan, real, fake, c)
    expected = (binary_cross_entropy_with_logits(gan.discriminator(real, c), 1.0)
                + binary_cross_entropy_with_logits(gan.discriminator(fake, c), 0.0))    # −[log D(x|c) + log(1 − D(G(z|c)|c))], per pack
    assert_close(loss.data, expected.data, rtol=1e-6)
    stats = gan.generator_step(20, conditions)
    assert stats["g_loss"] > stats["condition_loss"] > 0                         # −log D(G(z|c)|c) > 0 plus the cross-entropy
    with pytest.raises(ValueError, match="adversarial must be one of"):
        CTGANObjective(adversarial="wgan")
