"""What the example scripts share: seeded side streams, mapping G's samples to [0, 1], the record of a
run (checkpoints that say exactly where they stopped, the history), and the guard rails every script
puts around its work (``resuming.py`` beside it continues a run from its checkpoint):

    run_script(name, body)        one line and an exit status for every way a run can end early:
                                  2 a mistake in a flag, a file or a checkpoint; 3 training diverged;
                                  130 Ctrl-C. No traceback reaches the user for any of them.
    check_output_folder(...)      before anything is trained: --out is a folder we can write into, and
                                  it holds no earlier run (unless --resume continues it or --overwrite
                                  replaces it); temporary files of writes killed midway are cleared
    check_trainable(...)          the data, the batch size and k make at least one generator step, and
                                  batch norm gets the two examples it needs
    check_sample_budget(...)      a --samples (or --pool) that fits in memory and on the disk
    guarded_training(...)         Ctrl-C finishes the iteration, writes a checkpoint and history.npz;
                                  divergence writes history.npz and names the last good checkpoint

The scripts run as ``python examples/NAME.py``, which puts this folder on ``sys.path``, so they import it
as ``common``; the tests load the scripts through ``tests/conftest.py``'s ``load_example``, which does
the same.
"""

import argparse
import contextlib
import fnmatch
import os
import shutil
import sys
import tempfile
import time

import numpy

from minigan import backend, nn
from minigan.gans.training import Diverged, StopOnInterrupt, steps_per_epoch
from minigan.tools import plots
from minigan.tools.data import DataError
from minigan.tools.io import FileFormatError, is_temporary, remove_stale_temporaries, save_checkpoint, save_npz

# Training reseeds iteration t from (seed, t) (``GAN.seed_iteration``), t < 2³¹; the streams below use
# (seed, 2³¹ + stream), which no iteration ever draws from.
SIDE_STREAM_BASE = 2**31

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130  # 130 = 128 + SIGINT, what a shell reports for Ctrl-C

EXIT_STATUS_HELP = ("Exit status: 0 done; 2 a mistake in a flag, a file or a checkpoint (one line names it); "
                    "3 training diverged (the line names the step, the statistic and the last good checkpoint); "
                    "130 stopped by Ctrl-C.")
TRAINING_HELP = ("Ctrl-C finishes the iteration in progress, writes the checkpoint and history.npz and says how to "
                 "resume (a second Ctrl-C stops at once); a loss that is not finite stops the run.")
OUTPUT_HELP = ("--out must be a new or empty folder: a run never overwrites an earlier one unless asked, "
               "with --overwrite (which first removes that run's files){resume}.")


class RunError(Exception):
    """A problem with what the user asked for (reported as one line, not a traceback)."""


class RunStopped(Exception):
    """Training stopped before its end (diverged, or Ctrl-C): the one line to print and the exit status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


# User mistakes: each message already names the flag or the file, and the expected and the found value.
USER_ERRORS = (RunError, DataError, FileFormatError, FileNotFoundError, backend.BackendError)


def run_script(script, body):
    """Run ``body()`` and return the script's exit status: 0 if it returns, else the status of the way it
    ended early, after one line on stderr (see ``EXIT_STATUS_HELP``)."""
    try:
        body()
    except RunStopped as stopped:
        print(f"{script}: {stopped}", file=sys.stderr)
        return stopped.status
    except Diverged as error:  # a loop that keeps no checkpoint (mode_collapse.py, gaussian_1d.py)
        print(f"{script}: stopped: {error}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print(f"{script}: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as error:
        print(f"{script}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # the disk filled up, a file vanished under us: not the user's mistake, but one line
        print(f"{script}: error: {error}", file=sys.stderr)
        return 1
    return 0


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each flag's default, except a default of None: there the help text says what happens."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


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


# ----- outputs: checked before anything is trained ---------------------------------------------------
class OutputFolder:
    """A checked --out (``check_output_folder``): ``path``, and ``old``, the earlier run's files that
    ``clear()`` removes (with --overwrite), together with the temporary files of killed writes."""

    def __init__(self, path, old, log=print):
        self.path, self.old, self.log = path, old, log

    def clear(self):
        for name in self.old:
            os.remove(os.path.join(self.path, name))
        if self.old:
            self.log(f"--overwrite: removed {len(self.old)} file(s) of the earlier run in {self.path}")
        self.old = []
        stale = remove_stale_temporaries(self.path)
        if stale:
            self.log(f"removed {len(stale)} temporary file(s) left in {self.path} by a write killed midway ({', '.join(stale[:3])})")
        return self.path


def check_output_folder(out, overwrite=False, outputs=(), continuing=False, resumable=False, flag="--out", log=print):
    """Check, before anything is trained, that ``out`` can take a run's outputs without losing an earlier one.

    * ``out`` must be a folder or not exist yet (it is created): not a file, ``/dev/null``, or a path
      under a file; and we must be able to create files in it (tried with a temporary file).
    * It must hold nothing yet, so that no earlier result is lost, unless ``continuing`` (the run resumes
      the checkpoint in this very folder) or ``overwrite``: then the files matching ``outputs`` (this
      script's own, as glob patterns) are to be removed first, so that none of the old run's mixes with
      the new one's; other files are left alone. ``resumable``: the refusal suggests ``--resume``.
    * Temporary files of atomic writes killed midway (``io.remove_stale_temporaries``) do not count as
      earlier results; ``clear()`` removes them too.

    Returns an ``OutputFolder``; nothing is removed until its ``clear()``, which the scripts call when
    every other check has passed and training is about to start.
    """
    out = os.fspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise RunError(f"{flag} {out!r} exists and is not a folder; expected a folder to write into (it is created if missing)")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise RunError(f"{flag} {out!r}: cannot create the folder ({error.strerror})") from None
    check_writable_folder(out, flag)
    held = sorted(name for name in os.listdir(out) if not is_temporary(name))
    old = []
    if held and not continuing:
        if not overwrite:
            checkpoint = os.path.join(out, "checkpoint.npz")
            resume = (f"continue it with --resume {checkpoint}, " if resumable and os.path.exists(checkpoint) else "")
            shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
            raise RunError(f"{flag} {out!r} already holds an earlier run's files ({shown}), which this run would "
                           f"overwrite; {resume}pass --overwrite to replace them, or choose a new {flag}")
        old = [name for name in held if any(fnmatch.fnmatch(name, pattern) for pattern in outputs)]
    return OutputFolder(out, old, log)


def prepare_output_folder(out, overwrite=False, outputs=(), flag="--out", log=print):
    """``check_output_folder(...)`` and at once ``clear()``, for a script with nothing else to check; returns the path."""
    return check_output_folder(out, overwrite, outputs, flag=flag, log=log).clear()


def prepare_output_file(path, overwrite=False, flag="--out"):
    """Check, before training, that the file ``path`` can be written and would replace nothing unasked:
    not a folder or a device, its folder creatable and writable, and no file there yet unless ``overwrite``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise RunError(f"{flag} {path!r} is a folder; expected the path of the file to write")
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise RunError(f"{flag} {path!r} exists and is not a regular file; expected the path of a file to write")
        if not overwrite:
            raise RunError(f"{flag} {path!r} already exists; pass --overwrite to replace it, or name a new file")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise RunError(f"{flag} {path!r}: {folder!r} is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise RunError(f"{flag} {path!r}: cannot create the folder {folder!r} ({error.strerror})") from None
    check_writable_folder(folder, flag, path)
    return path


def check_writable_folder(folder, flag="--out", named=None):
    """Create and remove a temporary file in ``folder`` (as ``atomic_write`` will), or raise a ``RunError``."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".minigan-write-check.", suffix=".tmp")
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise RunError(f"{flag} {named or folder!r}: cannot write into {folder!r} ({error.strerror})") from None


def available_memory():
    """Bytes of memory available to a new allocation (Linux: MemAvailable), else the physical total, else None."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def check_sample_budget(flag, count, bytes_each, what, copies=2, folder=None):
    """Refuse a ``flag`` (e.g. ``--samples``) whose ``count`` arrays of ``bytes_each`` bytes would not fit:
    ``copies`` of them in memory at once (the drawn batches and their concatenation), and one on the
    disk holding ``folder`` when they are saved there."""
    memory, limit = count * bytes_each * copies, available_memory()
    if limit is not None and memory > limit:
        raise RunError(f"{flag} {count}: {what} would need about {_size(memory)} of memory ({copies} copies of "
                       f"{bytes_each} bytes each), and {_size(limit)} are available: at most "
                       f"{limit // (copies * bytes_each)} fit")
    if folder is not None:
        free = shutil.disk_usage(folder).free
        if count * bytes_each > free:
            raise RunError(f"{flag} {count}: {what} would take {_size(count * bytes_each)} on the disk of {folder!r}, "
                           f"which has {_size(free)} free: at most {free // bytes_each} fit")


def _size(nbytes):
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.1f} MiB"


# ----- can this run train at all? --------------------------------------------------------------------
def check_trainable_batches(examples, batch_size, k=1, data="the training data"):
    """Refuse, with the numbers, a batch size and k that make no step: ``examples`` training examples in
    minibatches of ``batch_size`` (the last, short one dropped) give examples // batch_size minibatches
    an epoch, and each generator step takes k of them."""
    if batch_size > examples:
        raise RunError(f"--batch-size {batch_size} is larger than the {examples} training images of {data}: no "
                       f"minibatch could be filled; use at most --batch-size {examples}")
    batches = examples // batch_size
    if k > batches:
        raise RunError(f"--k {k}: an epoch of {data} has {batches} minibatches of {batch_size} ({examples} images) and "
                       f"each generator step takes k of them, so no generator step would be made; use at most --k {batches}, "
                       f"or a smaller --batch-size")


def check_trainable(gan, examples, batch_size, data="the training data"):
    """Refuse, with the numbers, a GAN run that would make no generator step (``check_trainable_batches``
    with the GAN's k) or fail at its first one: batch norm of dense features (``BatchNorm1d``) estimates
    a variance across the minibatch, which needs m ≥ 2."""
    check_trainable_batches(examples, batch_size, gan.discriminator_steps, data)
    if batch_size < 2 and any(isinstance(module, nn.BatchNorm1d) for net in (gan.generator, gan.discriminator)
                              for module in net.modules()):
        raise RunError(f"--batch-size {batch_size}: this model's batch norm (BatchNorm1d) estimates each feature's "
                       f"variance across the minibatch, which needs at least 2 examples; use --batch-size 2 or more")


# ----- the record of a run --------------------------------------------------------------------------
class EpochCheckpoints:
    """The ``on_epoch_end`` of ``train_epochs`` for the MNIST scripts: after every epoch (the last, partial
    one too, and one cut short by Ctrl-C) a grid and a checkpoint. ``last`` is the path of the last
    checkpoint written (or the one the run resumed from), for the messages that say where it is.

    ``save_grid(epoch)`` draws the epoch's grid and returns the path it wrote. The checkpoint
    (``out/checkpoint.npz``, atomic) holds the GAN's state, the history so far (float64) and the epoch;
    its metadata holds ``config`` (the run's settings), the backend, ``data`` (``data_record``) and the
    ``position``: the epoch, the generator steps made in it and the data order (the loader's seed and
    the minibatches of that epoch already used), so that a resumed run continues at the very step.
    With an ``average`` (a ``WeightAverage`` of G, ``minigan/gans/averaging.py``) its state is saved too,
    under "average".
    """

    def __init__(self, out, gan, history, config, save_grid, log=None, loader=None, data=None, last=None, notes=None, average=None):
        self.out, self.gan, self.history, self.config, self.save_grid = out, gan, history, config, save_grid
        self.log = log or (lambda line: print(line, flush=True))
        self.loader, self.data, self.last, self.notes, self.average = loader, data, last, notes or {}, average
        self.started = time.perf_counter()

    def position(self, epoch):
        """Where the run stands at the end of ``epoch`` (finished or cut short), as the checkpoint records it."""
        where = {"epoch": epoch, "iteration": self.gan.iteration}
        if self.loader is not None:
            per_epoch, k = steps_per_epoch(self.gan, self.loader), self.gan.discriminator_steps
            step = self.gan.iteration - (epoch - 1) * per_epoch
            where.update(step=step, steps_per_epoch=per_epoch, finished=step == per_epoch,
                         data_order={"loader_seed": int(self.loader.seed), "batch_size": self.loader.batch_size,
                                     "examples": len(self.loader.images), "epoch_shuffled_by": [int(self.loader.seed), epoch - 1],
                                     "minibatches_used": step * k})
        return where

    def __call__(self, epoch):
        grid = self.save_grid(epoch)
        where = self.position(epoch)
        path = os.path.join(self.out, "checkpoint.npz")
        state = {"gan": self.gan.state_dict(), "epoch": numpy.array(epoch),
                 "history": {k: numpy.asarray(v, numpy.float64) for k, v in self.history.items()}}
        if self.average is not None:
            state["average"] = self.average.state_dict()
        save_checkpoint(path, state,
                        metadata={"config": self.config, "epoch": epoch, "position": where, "data": self.data,
                                  "backend": backend.get_backend().name, **self.notes})
        self.last = path
        cut = "" if where.get("finished", True) else f" (cut at step {where['step']} of {where['steps_per_epoch']})"
        self.log(f"epoch {epoch}{cut}: wrote {grid} and checkpoint.npz ({time.perf_counter() - self.started:.0f} s so far)")


def checkpoint_each_epoch(out, gan, history, config, save_grid, log=None, **record):
    """``EpochCheckpoints(out, gan, history, config, save_grid, log, **record)``: the ``on_epoch_end`` of the MNIST scripts."""
    return EpochCheckpoints(out, gan, history, config, save_grid, log=log, **record)


def save_history(out, history, title, critic=False):
    """``out/training.png`` (the losses and mean D per iteration) and ``out/history.npz`` (the same as arrays).

    ``critic``: D is a Wasserstein critic, so ``d_real`` and ``d_fake`` are its raw mean scores; the
    history then also keeps ``wasserstein`` = d_real − d_fake, the critic's estimate, and the plot shows it."""
    arrays = {name: numpy.asarray(values) for name, values in history.items()}
    if critic:
        arrays["wasserstein"] = arrays["d_real"] - arrays["d_fake"]
    plots.plot_training(os.path.join(out, "training.png"), arrays, title=title, critic=critic)
    save_history_arrays(out, arrays)


def save_history_arrays(out, history):
    """``out/history.npz`` alone (no plot: after a divergence the last values are not finite); returns its path."""
    path = os.path.join(out, "history.npz")
    save_npz(path, **{name: numpy.asarray(values) for name, values in history.items()})
    return path


@contextlib.contextmanager
def guarded_training(out, history, checkpoints):
    """Around ``train_epochs(..., should_stop=stop)``: ``with guarded_training(out, history, checkpoints) as stop:``

    * Ctrl-C: the iteration in progress finishes, its epoch's checkpoint is written (``train_epochs``
      ends the epoch there), then ``history.npz``; raises ``RunStopped`` (exit status 130) saying where
      the checkpoint is and how to resume it. A second Ctrl-C stops at once, mid-iteration: then only
      ``history.npz`` is written (the networks are half-updated) and the line names the last checkpoint.
    * divergence (``Diverged``): ``history.npz`` is written, with the non-finite row, and ``RunStopped``
      (exit status 3) names the step, the statistic and the last good checkpoint. A loss past
      ``training.LOSS_WARNING_BOUND`` gets a warning line before that (``train_epochs``).
    """
    # NumPy's overflow warnings are silenced: they would name a line inside an op, while the loop checks
    # every statistic and stops at the first that is not finite, naming it and the step.
    with StopOnInterrupt(notice=lambda line: print(line, file=sys.stderr, flush=True)) as stop, \
            numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            yield stop
        except Diverged as error:
            raise RunStopped(f"stopped: {error}; {_last_checkpoint(checkpoints)}; wrote {save_history_arrays(out, history)} "
                             f"(try a smaller --lr)", EXIT_DIVERGED) from None
        except KeyboardInterrupt:
            raise RunStopped(f"interrupted (second Ctrl-C) in the middle of an iteration, whose state was not saved; "
                             f"{_last_checkpoint(checkpoints)}; wrote {save_history_arrays(out, history)}", EXIT_INTERRUPTED) from None
    if stop.requested:
        raise RunStopped(f"interrupted (Ctrl-C) after generator step {checkpoints.gan.iteration}: wrote {checkpoints.last} "
                         f"and {save_history_arrays(out, history)}; continue with --resume {checkpoints.last}", EXIT_INTERRUPTED)


def _last_checkpoint(checkpoints):
    if checkpoints.last is None:
        return "no checkpoint was written before it (the first is written at the end of epoch 1)"
    return f"the last good checkpoint is {checkpoints.last}"
