"""The epoch loop around Algorithm 1: how many steps, what the history holds, when epochs end, NaNs stop it."""

import numpy
import pytest

from minigan.tools.data import DataLoader
from minigan.gans.training import STATISTICS, Diverged, progress_line, steps_per_epoch, train_epochs
from test_gan import tiny_gan


def loader(n=40, batch_size=8, seed=0):
    values = (3.0 + 0.5 * numpy.random.default_rng(seed).standard_normal((n, 1))).astype(numpy.float32)
    return DataLoader(values, batch_size, seed=seed)


def empty_history():
    return {name: [] for name in STATISTICS}


@pytest.mark.parametrize("k", [1, 2])
def test_every_generator_step_of_every_epoch_is_recorded(k):
    gan, data, history, ended = tiny_gan(k=k), loader(), empty_history(), []
    done = train_epochs(gan, data, epochs=3, history=history, on_epoch_end=ended.append, log=lambda line: None)
    assert steps_per_epoch(gan, data) == 5 // k  # 40 examples in minibatches of 8, k per generator step
    assert done == gan.iteration == 3 * (5 // k)
    assert all(len(history[name]) == done for name in STATISTICS)
    assert ended == [1, 2, 3]


def test_max_steps_stops_inside_an_epoch_and_that_epoch_still_ends():
    gan, history, ended = tiny_gan(), empty_history(), []
    done = train_epochs(gan, loader(), epochs=3, history=history, max_steps=7, on_epoch_end=ended.append, log=lambda line: None)
    assert done == 7 and len(history["d_loss"]) == 7
    assert ended == [1, 2]  # 5 steps in epoch 1, 2 in epoch 2, whose grid and checkpoint are still written


def test_resuming_at_an_epoch_continues_the_history_and_the_epoch_count():
    gan, history, ended = tiny_gan(), {name: [0.0] for name in STATISTICS}, []
    data = loader()
    data.epoch = 2
    train_epochs(gan, data, epochs=3, history=history, start_epoch=2, on_epoch_end=ended.append, log=lambda line: None)
    assert ended == [3] and len(history["g_loss"]) == 1 + 5


def test_progress_lines_every_log_every_steps_and_at_the_end_of_each_epoch():
    lines = []
    train_epochs(tiny_gan(), loader(), epochs=2, history=empty_history(), log_every=2, log=lines.append)
    assert [line.split("  ")[:2] for line in lines] == [
        ["epoch 1/2", "step 2/5"], ["epoch 1/2", "step 4/5"], ["epoch 1/2", "step 5/5"],
        ["epoch 2/2", "step 2/5"], ["epoch 2/2", "step 4/5"], ["epoch 2/2", "step 5/5"],
    ]
    assert "D(x)" in lines[0] and "ETA" in lines[0]


@pytest.mark.parametrize("log_every, steps_run", [(1, 3), (50, 5)])
def test_a_non_finite_statistic_stops_training_at_the_next_fetch_naming_its_step(log_every, steps_run):
    """The statistics are fetched every log_every steps (and at each epoch's end), so a NaN at step 3 is seen
    there: the error names step 3, the history ends with it, and the epoch's end (its checkpoint) never runs."""
    gan = tiny_gan()
    real_iteration = gan.train_iteration
    calls = []

    def iteration_that_diverges(real_batches):
        stats = real_iteration(real_batches)
        calls.append(1)
        return dict(stats, g_loss=stats["g_loss"] * float("nan")) if len(calls) == 3 else stats  # NaN on the device

    gan.train_iteration = iteration_that_diverges
    history, ended = empty_history(), []
    with pytest.raises(Diverged, match=r"training diverged at epoch 1 step 3 \(generator step 3\): g_loss is nan") as stopped:
        train_epochs(gan, loader(), epochs=2, history=history, log_every=log_every, on_epoch_end=ended.append, log=lambda line: None)
    assert len(calls) == steps_run and ended == []
    assert len(history["g_loss"]) == 3 and numpy.isnan(history["g_loss"][-1]) and numpy.isfinite(history["g_loss"][:2]).all()
    assert isinstance(stopped.value, FloatingPointError)
    assert (stopped.value.epoch, stopped.value.step, stopped.value.statistic) == (1, 3, "g_loss")


def test_the_history_is_the_same_however_often_the_statistics_are_fetched():
    """Fetching every step or every few steps gives the same history, bit for bit, of Python floats."""
    histories = []
    for log_every in (1, 2, 50):
        history = empty_history()
        train_epochs(tiny_gan(seed=3), loader(), epochs=2, history=history, log_every=log_every, log=lambda line: None)
        histories.append(history)
    assert histories[0] == histories[1] == histories[2]
    assert all(type(value) is float for value in histories[0]["d_loss"]) and len(histories[0]["d_loss"]) == 10


def test_progress_line_names_the_conditional_outputs():
    stats = {"d_loss": 1.0, "g_loss": 2.0, "d_real": 0.75, "d_fake": 0.25}
    line = progress_line(1, 5, 10, 500, stats, 4.0, 125.0, names=("D(x|y)", "D(G(z|y)|y)"))
    assert line == ("epoch 1/5  step 10/500  d_loss 1.000  g_loss 2.000  D(x|y) 0.750  D(G(z|y)|y) 0.250  "
                    "4.00 it/s  ETA 2m05s")
