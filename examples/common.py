"""What the example scripts share: seeded side streams, the end-of-epoch checkpoint, the training record,
mapping G's samples to [0, 1], and the one-line error for a bad request.

The scripts run as ``python examples/NAME.py``, which puts this folder on ``sys.path``, so they import it
as ``common``; the tests load the scripts through ``tests/conftest.py``'s ``load_example``, which does
the same.
"""

import os
import time

import numpy

from minigan import backend
from minigan.tools import plots
from minigan.tools.io import save_checkpoint, save_npz

# Training reseeds iteration t from (seed, t) (``GAN.seed_iteration``), t < 2³¹; the streams below use
# (seed, 2³¹ + stream), which no iteration ever draws from.
SIDE_STREAM_BASE = 2**31


class RunError(Exception):
    """A problem with what the user asked for (reported as one line, not a traceback)."""


# ----- seeds ----------------------------------------------------------------------------------------
def seeded_rng(*entropy):
    """A generator of the current backend seeded from the integers ``entropy`` (via ``numpy.random.SeedSequence``)."""
    return backend.get_backend().rng(int(numpy.random.SeedSequence(list(entropy)).generate_state(1)[0]))


def side_rng(seed, stream=0):
    """A generator that training never touches, for noise that must not change as training goes on (a
    fixed grid, an evaluation): seeded from (seed, 2³¹ + stream). Different streams are independent."""
    return seeded_rng(seed, SIDE_STREAM_BASE + stream)


# ----- samples --------------------------------------------------------------------------------------
def to_unit_range(images, value_range):
    """Samples in G's output range ``value_range`` = (low, high) mapped linearly to float32 in [0, 1]
    (clipped, for the rounding at the ends), the range the classifier and ``samples.npy`` use."""
    low, high = value_range
    return numpy.clip((images - low) / (high - low), 0, 1).astype(numpy.float32)


# ----- the record of a run --------------------------------------------------------------------------
def checkpoint_each_epoch(out, gan, history, config, save_grid, log=None):
    """The ``on_epoch_end`` of ``train_epochs`` for the MNIST scripts: after every epoch a grid and a checkpoint.

    ``save_grid(epoch)`` draws the epoch's grid and returns the path it wrote. The checkpoint
    (``out/checkpoint.npz``, atomic) holds the GAN's state, the history so far (float64) and the epoch,
    with ``config`` (the run's settings), the epoch and the backend in its metadata: enough to resume.
    """
    log = log or (lambda line: print(line, flush=True))
    started = time.perf_counter()

    def end_of_epoch(epoch):
        grid = save_grid(epoch)
        save_checkpoint(os.path.join(out, "checkpoint.npz"),
                        {"gan": gan.state_dict(), "history": {k: numpy.asarray(v, numpy.float64) for k, v in history.items()},
                         "epoch": numpy.array(epoch)},
                        metadata={"config": config, "epoch": epoch, "backend": backend.get_backend().name})
        log(f"epoch {epoch}: wrote {grid} and checkpoint.npz ({time.perf_counter() - started:.0f} s so far)")

    return end_of_epoch


def save_history(out, history, title):
    """``out/training.png`` (the losses and mean D per iteration) and ``out/history.npz`` (the same as arrays)."""
    plots.plot_training(os.path.join(out, "training.png"), history, title=title)
    save_npz(os.path.join(out, "history.npz"), **{name: numpy.asarray(values) for name, values in history.items()})
