"""The epoch loop around Algorithm 1: how many steps, what the history holds, when epochs end, NaNs stop it,
a run cut anywhere continues exactly, and Ctrl-C asks it to stop after the step."""

import os
import signal
import tempfile
import time

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.tools.data import DataLoader
from minigan.tools.io import load_checkpoint, save_checkpoint
from minigan.gans.training import (LOSS_WARNING_BOUND, STATISTICS, Diverged, StopOnInterrupt, check_statistics, epoch_batches,
                                   position, progress_line, steps_per_epoch, train_epochs)
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


# ----- cutting a run anywhere and continuing it --------------------------------------------------------
def quiet(line):
    pass


@given(k=st.sampled_from([1, 2]), data=st.data())
def test_a_run_cut_at_any_step_and_resumed_from_its_checkpoint_matches_the_uninterrupted_run(k, data):
    """Cut at a drawn step (mid-epoch or at an epoch's end), save the GAN's state through a checkpoint
    file, build a fresh GAN from it, and continue from ``position``: the statistics and the final weights
    are those of the run that was never cut, bit for bit."""
    epochs, per_epoch = 3, 5 // k
    cut = data.draw(st.integers(1, epochs * per_epoch - 1), label="cut")
    whole, whole_history = tiny_gan(k=k), empty_history()
    train_epochs(whole, loader(), epochs, whole_history, log=quiet)

    first, history = tiny_gan(k=k), empty_history()
    assert train_epochs(first, loader(), epochs, history, max_steps=cut, log=quiet) == cut
    with tempfile.TemporaryDirectory() as folder:
        save_checkpoint(os.path.join(folder, "checkpoint.npz"), {"gan": first.state_dict()})
        state, _ = load_checkpoint(os.path.join(folder, "checkpoint.npz"))
    resumed, data_loader = tiny_gan(k=k, seed=0), loader()
    resumed.load_state_dict(state["gan"])
    epochs_done, step = position(resumed.iteration, steps_per_epoch(resumed, data_loader))
    assert epochs_done * per_epoch + step == cut and 0 <= step < per_epoch
    data_loader.epoch = epochs_done
    train_epochs(resumed, data_loader, epochs, history, start_epoch=epochs_done, start_step=step, log=quiet)
    assert history == whole_history
    for a, b in zip(resumed.generator.parameters(), whole.generator.parameters()):
        numpy.testing.assert_array_equal(a.numpy(), b.numpy())


def test_epoch_batches_skips_exactly_the_minibatches_already_used():
    data = loader()
    whole = [batch.copy() for batch in epoch_batches(data)]
    data.epoch = 0
    rest = list(epoch_batches(data, skip=2))
    assert len(rest) == len(whole) - 2 and all(numpy.array_equal(a, b) for a, b in zip(rest, whole[2:]))


def test_should_stop_ends_the_epoch_after_the_step_in_progress():
    gan, history, ended = tiny_gan(), empty_history(), []
    asked = lambda: gan.iteration == 3  # noqa: E731  (True once the third iteration has finished)
    done = train_epochs(gan, loader(), epochs=3, history=history, on_epoch_end=ended.append, should_stop=asked, log=quiet)
    assert done == gan.iteration == 3 and len(history["d_loss"]) == 3
    assert ended == [1]  # the cut epoch still ends: its grid and checkpoint are written


def test_a_loss_beyond_the_bound_gets_one_warning_and_training_goes_on():
    gan = tiny_gan()
    real_iteration = gan.train_iteration
    gan.train_iteration = lambda batches: dict(real_iteration(batches), d_loss=8.4e19)  # exploding, still finite
    lines = []
    assert train_epochs(gan, loader(), epochs=1, history=empty_history(), log_every=100, log=lines.append) == 5
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == ["warning: d_loss is 8.4e+19 at epoch 1 step 1 (generator step 1), beyond 1e+04, which no learning "
                        "run reaches: training is probably diverging (too large a learning rate?)"]
    assert check_statistics({"d_loss": 0.7, "g_loss": -LOSS_WARNING_BOUND}, 1, 1, 1) is None  # at the bound: fine


def test_ctrl_c_inside_stop_on_interrupt_asks_to_stop_and_a_second_one_stops_at_once():
    notices = []
    with StopOnInterrupt(notice=notices.append) as stop:
        assert not stop()
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() and stop.requested and len(notices) == 1
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here at the latest
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the old handler is back


def test_a_keyboard_interrupt_inside_an_iteration_keeps_the_statistics_of_the_steps_before_it():
    """Statistics wait on the device until a progress line; a second Ctrl-C (raised inside step 4) must not
    lose steps 1-3, which finished: history.npz is written from them."""
    gan = tiny_gan()
    real_iteration = gan.train_iteration

    def iteration_interrupted_at_the_fourth(real_batches):
        if gan.iteration == 3:
            raise KeyboardInterrupt
        return real_iteration(real_batches)

    gan.train_iteration = iteration_interrupted_at_the_fourth
    history = empty_history()
    with pytest.raises(KeyboardInterrupt):
        train_epochs(gan, loader(), epochs=2, history=history, log_every=50, log=quiet)
    assert all(len(values) == 3 for values in history.values())
