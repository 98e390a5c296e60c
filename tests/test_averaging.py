"""The averaged generator (Yazıcı et al. 2019): θ_EMA follows its formula step by step, never changes
training, swaps in and out bit for bit, re-estimates batch-norm statistics for the averaged weights, and a
resumed average continues exactly as the uninterrupted one."""

import numpy
import pytest

import minigan
from minigan import Tensor, nn
from minigan.gans.averaging import BETA, WeightAverage
from minigan.gans.training import STATISTICS, train_epochs

from test_gan import gaussian_batches, tiny_gan


def weights(module):
    return [p.numpy().copy() for p in module.parameters()]


def test_the_average_is_the_formula_after_a_few_steps(xp):
    gan = tiny_gan(seed=1)
    average = WeightAverage(gan.generator, beta=0.9)
    expected = weights(gan.generator)                                   # θ_EMA⁽⁰⁾ = θ⁽⁰⁾
    batches = gaussian_batches(3.0, 0.5, 16, 0)
    for _ in range(5):
        gan.train_iteration(batches)
        average.update()
        expected = [0.9 * e + 0.1 * w for e, w in zip(expected, weights(gan.generator))]  # θ_EMA ← β θ_EMA + (1 − β) θ
    assert average.updates == 5
    for got, want in zip(average.averages, expected):
        numpy.testing.assert_allclose(minigan.backend.to_numpy(got), want, rtol=1e-5, atol=1e-7)
    assert BETA == 0.999  # the paper's β, the default
    assert WeightAverage(gan.generator).beta == 0.999


def test_averaging_leaves_training_unchanged_and_applied_restores_every_bit(xp):
    def run(with_average):
        gan = tiny_gan(seed=2)
        average = WeightAverage(gan.generator)
        batches, losses = gaussian_batches(3.0, 0.5, 16, 0), []
        for _ in range(6):
            losses.append(gan.train_iteration(batches)["g_loss"])
            if with_average:
                average.update()
                before = weights(gan.generator)
                with average.applied():
                    inside = weights(gan.generator)
                assert all(numpy.array_equal(b, w) for b, w in zip(before, weights(gan.generator)))  # restored exactly
                assert all(numpy.array_equal(a, minigan.backend.to_numpy(e)) for a, e in zip(inside, average.averages))
        return losses

    assert run(True) == run(False)


def test_batch_norm_statistics_are_re_estimated_for_the_averaged_weights_and_restored(xp):
    minigan.seed(0)
    generator = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4))
    norm = generator[1]
    norm.running_mean[...], norm.running_var[...] = 7.0, 9.0            # the raw G's statistics
    average = WeightAverage(generator)
    average.averages[0][...] = xp.asarray(numpy.arange(12, dtype=numpy.float32).reshape(4, 3) / 10)
    batches = [Tensor(xp.asarray(numpy.random.default_rng(i).standard_normal((5, 3)).astype(numpy.float32))) for i in range(3)]
    with average.applied(batches):
        w = minigan.backend.to_numpy(average.averages[0])
        outputs = [minigan.backend.to_numpy(b.data) @ w.T for b in batches]       # pre-activations under the average
        numpy.testing.assert_allclose(minigan.backend.to_numpy(norm.running_mean), numpy.mean([o.mean(axis=0) for o in outputs], axis=0), rtol=1e-5)
        numpy.testing.assert_allclose(minigan.backend.to_numpy(norm.running_var), numpy.mean([o.var(axis=0, ddof=1) for o in outputs], axis=0), rtol=1e-5)
    assert float(norm.running_mean[0]) == 7.0 and float(norm.running_var[0]) == 9.0 and norm.momentum == 0.1
    assert generator.training  # the mode it was in


def test_a_resumed_average_continues_exactly(xp):
    batches = lambda: gaussian_batches(3.0, 0.5, 16, 0)  # noqa: E731  (the same data for both runs)

    def train(gan, average, iterations, data):
        for _ in range(iterations):
            gan.train_iteration(data)
            average.update()

    uninterrupted = tiny_gan(seed=4)
    full = WeightAverage(uninterrupted.generator)
    train(uninterrupted, full, 6, batches())

    first = tiny_gan(seed=4)
    data = batches()
    partial = WeightAverage(first.generator)
    train(first, partial, 3, data)
    state, average_state = first.state_dict(), partial.state_dict()
    resumed = tiny_gan(seed=4)
    for p in resumed.generator.parameters():
        p.data *= 2                                                      # other weights, which loading must overwrite
    continued = WeightAverage(resumed.generator)                        # starts from those other weights ...
    resumed.load_state_dict(state)
    continued.load_state_dict(average_state)                            # ... until the saved average is loaded
    train(resumed, continued, 3, data)
    assert continued.updates == full.updates == 6
    for a, b in zip(continued.averages, full.averages):
        numpy.testing.assert_array_equal(minigan.backend.to_numpy(a), minigan.backend.to_numpy(b))


def test_train_epochs_updates_the_average_after_every_iteration():
    gan = tiny_gan(seed=5)
    average = WeightAverage(gan.generator)
    loader = [next(gaussian_batches(3.0, 0.5, 8, i)) for i in range(4)]  # one "epoch" of 4 minibatches
    history = {name: [] for name in STATISTICS}
    train_epochs(gan, loader, 2, history, average=average, log=lambda line: None)
    assert average.updates == 8 == len(history["g_loss"])


def test_a_saved_average_must_fit():
    gan = tiny_gan(seed=6)
    state = WeightAverage(gan.generator).state_dict()
    with pytest.raises(ValueError, match="beta 0.999, this one 0.9"):
        WeightAverage(gan.generator, beta=0.9).load_state_dict(state)
    other = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(KeyError, match="the saved average covers parameters"):
        WeightAverage(other).load_state_dict(state)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\), got 1"):
        WeightAverage(gan.generator, beta=1)
