"""The sync budget and the launch budget of training, counted on the strict device double.

On a GPU every copy from the device to the host waits for all the work queued before it, and every call into
the array module is (about) one kernel launch, a few microseconds of Python and driver each. So:

* a training iteration copies nothing to the host: its statistics stay on the device, and
  ``train_epochs`` fetches them once per progress line (``minigan/gans/training.py``);
* a conditional GAN's labels are checked where they enter, on the host, not in every forward pass;
* an iteration makes at most ``CALL_BUDGETS`` array-module calls. A change that needs more must say so:
  measure it (``python3 benchmarks/bench_training.py --count-calls``), record it in benchmarks/README.md and
  raise the budget here.

These tests always run on the double (``tests/device_double.py``), whatever the backend under test:
the counts are the double's.
"""

import itertools

import numpy
import pytest

import device_double
from minigan import backend
from minigan.engine.autograd import Tensor
from minigan.gans import models
from minigan.gans.conditional_gan import build_conditional_gan
from minigan.gans.training import STATISTICS, train_epochs

from test_gan import tiny_gan
from test_training import loader

CALL_BUDGETS = {"dcgan": 948, "mlp": 533, "conditional": 553}  # measured 2026-12-01 (benchmarks/README.md)


@pytest.fixture
def strict():
    """The strict double as the backend for this test, seeded."""
    xp = device_double.install()
    backend.set_backend("strict")
    backend.seed(0)
    return xp


def real_batches(model, xp):
    """Endless minibatches as the examples feed them: host arrays (a DataLoader's), labels for the conditional GAN."""
    rng = numpy.random.default_rng(0)
    if model == "conditional":
        while True:
            yield rng.uniform(0, 1, (100, 28, 28, 1)).astype(numpy.float32), rng.integers(0, 10, 100)
    batch, low = (64, -1.0) if model == "dcgan" else (100, 0.0)
    real = Tensor(xp.asarray(rng.uniform(low, 1.0, (batch, 28, 28, 1)).astype(numpy.float32)))
    yield from itertools.repeat(real)


@pytest.mark.parametrize("model", sorted(CALL_BUDGETS))
def test_a_training_iteration_copies_nothing_to_the_host_and_keeps_to_its_call_budget(strict, model):
    gan = build_conditional_gan(seed=0) if model == "conditional" else models.build_gan(model, seed=0)
    batches = real_batches(model, strict)
    gan.train_iteration(batches)  # the first iteration also creates the optimisers' moments; count a steady one
    with device_double.counting() as counts:
        stats = gan.train_iteration(batches)
    assert counts.syncs == 0, f"{model}: device→host syncs in one iteration: {dict(counts.sync_names)}"
    assert counts.calls <= CALL_BUDGETS[model], (
        f"{model}: {counts.calls} array-module calls in one iteration, budget {CALL_BUDGETS[model]}; "
        f"most frequent: {counts.names.most_common(8)}")
    assert all(type(value) is device_double.DeviceArray for value in stats.values())


def test_the_epoch_loop_fetches_the_statistics_once_per_progress_line(strict):
    lines, history = [], {name: [] for name in STATISTICS}
    with device_double.counting() as counts:
        done = train_epochs(tiny_gan(seed=2), loader(), epochs=2, history=history, log_every=2, log=lines.append)
    # 5 steps per epoch, fetched at steps 2, 4 and 5 (the epoch's end): 3 fetches, 3 lines per epoch
    assert done == 10 and len(lines) == 6
    assert counts.syncs == 6 and counts.sync_names == {"asnumpy": 6}
    assert all(len(values) == 10 and all(type(v) is float for v in values) for values in history.values())


def test_labels_from_the_host_are_checked_without_waiting_for_the_device(strict):
    """check_labels on host labels reads them on the host; only labels already on the device cost a sync (one)."""
    from minigan.gans.conditional_gan import check_labels

    with device_double.counting() as counts:
        check_labels(numpy.array([3, 1, 4]), 3)
    assert counts.syncs == 0
    with device_double.counting() as counts:
        check_labels(strict.asarray([3, 1, 4]), 3)
    assert counts.syncs == 1
    with pytest.raises(ValueError, match="found values from 1 to 12"):
        check_labels(strict.asarray([3, 1, 12]), 3)


def test_one_generator_serves_the_whole_run_restarted_at_each_iteration(strict):
    """seed_iteration restarts the same generator in place (no new cuRAND state on a GPU), at the stream
    (seed, t): iteration t draws what a fresh generator seeded by (seed, t) would draw."""
    gan = tiny_gan(seed=5)
    batches = (numpy.full((8, 1), 3.0, numpy.float32) for _ in itertools.count())
    gan.train_iteration(batches)
    generator = backend.default_rng()
    for _ in range(3):
        gan.train_iteration(batches)
        assert backend.default_rng() is generator
    gan.seed_iteration()  # where iteration 4 starts
    expected_seed = int(numpy.random.SeedSequence([5, 4]).generate_state(1)[0])
    fresh = backend.get_backend().rng(expected_seed)
    numpy.testing.assert_array_equal(backend.to_numpy(generator.standard_normal(6)), backend.to_numpy(fresh.standard_normal(6)))
