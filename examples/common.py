"""What the example scripts share: seeded side streams, mapping G's samples to [0, 1], the record of a
run (checkpoints that say exactly where they stopped, the history), and the guard rails every script
puts around its work:

    run_script(name, body)        one line and an exit status for every way a run can end early:
                                  2 a mistake in a flag, a file or a checkpoint; 3 training diverged;
                                  130 Ctrl-C. No traceback reaches the user for any of them.
    check_output_folder(...)      before anything is trained: --out is a folder we can write into, and
                                  it holds no earlier run (unless --resume continues it or --overwrite
                                  replaces it); temporary files of writes killed midway are cleared
    check_trainable(...)          the data, the batch size and k make at least one generator step, and
                                  batch norm gets the two examples it needs
    check_sample_budget(...)      a --samples (or --pool) that fits in memory and on the disk
    read_resume(...)              a checkpoint checked the way its flags are checked, then the flags
                                  checked against it
    guarded_training(...)         Ctrl-C finishes the iteration, writes a checkpoint and history.npz;
                                  divergence writes history.npz and names the last good checkpoint

The scripts run as ``python examples/NAME.py``, which puts this folder on ``sys.path``, so they import it
as ``common``; the tests load the scripts through ``tests/conftest.py``'s ``load_example``, which does
the same.
"""

import argparse
import contextlib
import fnmatch
import hashlib
import os
import shutil
import sys
import tempfile
import time

import numpy

from minigan import backend, nn
from minigan.gans.training import STATISTICS, Diverged, StopOnInterrupt, position, steps_per_epoch
from minigan.tools import plots
from minigan.tools.data import DataError
from minigan.tools.io import FileFormatError, is_temporary, load_checkpoint, remove_stale_temporaries, save_checkpoint, save_npz

# Training reseeds iteration t from (seed, t) (``GAN.seed_iteration``), t < 2³¹; the streams below use
# (seed, 2³¹ + stream), which no iteration ever draws from.
SIDE_STREAM_BASE = 2**31

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130  # 130 = 128 + SIGINT, what a shell reports for Ctrl-C

EXIT_STATUS_HELP = ("Exit status: 0 done; 2 a mistake in a flag, a file or a checkpoint (one line names it); "
                    "3 training diverged (the line names the step, the statistic and the last good checkpoint); "
                    "130 stopped by Ctrl-C.")
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


# ----- flags ----------------------------------------------------------------------------------------
def parse_flags(parser, argv=None):
    """``parser.parse_args(argv)``, plus ``args.given``: the names (dests) of the flags actually typed.

    Resuming needs to tell "--lr 2e-4 typed" from "--lr left at its default": only a typed flag can
    contradict the checkpoint. argparse fills in a default only for a name the namespace does not hold
    yet, so every name starts as a marker, and the names still holding it afterwards were not typed.
    """
    unset = object()
    actions = [action for action in parser._actions if action.dest != argparse.SUPPRESS]  # _actions: every flag
    args = parser.parse_args(argv, namespace=argparse.Namespace(**{action.dest: unset for action in actions}))
    args.given = {action.dest for action in actions if getattr(args, action.dest) is not unset}
    for action in actions:
        if getattr(args, action.dest) is unset:
            setattr(args, action.dest, action.default)
    return args


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each flag's default, except a default of None: there the help text says what happens."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def flag_of(parser, dest):
    """The action behind ``args.<dest>`` and its flag as typed (``"--batch-size"``)."""
    action = next(action for action in parser._actions if action.dest == dest)
    return action, action.option_strings[0]


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


# ----- the data a run trains on -----------------------------------------------------------------------
def data_record(path, *arrays):
    """What a checkpoint records of its training data: the --data path (None: the shipped MNIST), the
    number of examples and the sha256 of the arrays' bytes as trained on (images, and labels if given)."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(numpy.ascontiguousarray(array).data)
    return {"path": None if path is None else os.path.abspath(path), "examples": int(len(arrays[0])), "sha256": digest.hexdigest()}


def _describe_data(record):
    where = "the shipped MNIST" if record.get("path") is None else repr(record["path"])
    return f"{where} ({record.get('examples')} images, sha256 {str(record.get('sha256'))[:12]}…)"


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
    """

    def __init__(self, out, gan, history, config, save_grid, log=None, loader=None, data=None, last=None, notes=None):
        self.out, self.gan, self.history, self.config, self.save_grid = out, gan, history, config, save_grid
        self.log = log or (lambda line: print(line, flush=True))
        self.loader, self.data, self.last, self.notes = loader, data, last, notes or {}
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
        save_checkpoint(path, {"gan": self.gan.state_dict(), "epoch": numpy.array(epoch),
                               "history": {k: numpy.asarray(v, numpy.float64) for k, v in self.history.items()}},
                        metadata={"config": self.config, "epoch": epoch, "position": where, "data": self.data,
                                  "backend": backend.get_backend().name, **self.notes})
        self.last = path
        cut = "" if where.get("finished", True) else f" (cut at step {where['step']} of {where['steps_per_epoch']})"
        self.log(f"epoch {epoch}{cut}: wrote {grid} and checkpoint.npz ({time.perf_counter() - self.started:.0f} s so far)")


def checkpoint_each_epoch(out, gan, history, config, save_grid, log=None, **record):
    """``EpochCheckpoints(out, gan, history, config, save_grid, log, **record)``: the ``on_epoch_end`` of the MNIST scripts."""
    return EpochCheckpoints(out, gan, history, config, save_grid, log=log, **record)


def save_history(out, history, title):
    """``out/training.png`` (the losses and mean D per iteration) and ``out/history.npz`` (the same as arrays)."""
    plots.plot_training(os.path.join(out, "training.png"), history, title=title)
    save_history_arrays(out, history)


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


# ----- resuming -------------------------------------------------------------------------------------
def read_resume(path, parser, config_keys, script, fixed=None):
    """The checkpoint behind ``--resume path``, checked as a flag would be: returns (state, metadata, config).

    A checkpoint can be hand-edited or come from another script, so before it is used: its ``config``
    must hold each of ``config_keys``, and each value must pass the check of its own flag (a recorded
    batch size 0 is refused as ``--batch-size 0`` would be); ``fixed`` {key: value} must match exactly
    (which script wrote it); the GAN's counters must be non-negative integers; the history must hold
    one entry per generator step for each statistic; the epoch must be a non-negative integer.
    """
    try:
        state, metadata = load_checkpoint(path)
    except FileNotFoundError:
        raise RunError(f"--resume: no checkpoint at {path!r}") from None
    except FileFormatError as error:
        raise FileFormatError(f"--resume: {error}") from None

    def bad(problem):
        return FileFormatError(f"--resume: {path!r} {problem} (was it edited by hand, or written by another script?)")

    recorded = metadata.get("config") if isinstance(metadata, dict) else None
    missing = [key for key in (*config_keys, *(fixed or {})) if not isinstance(recorded, dict) or key not in recorded]
    if missing or not isinstance(state.get("gan"), dict) or "epoch" not in state:
        raise bad(f"is a minigan checkpoint but not one written by {script}: expected its config "
                  f"{tuple(config_keys)}, its GAN state and its epoch; missing {', '.join(missing) or 'the GAN state or the epoch'}")
    for key, value in (fixed or {}).items():
        if recorded[key] != value:
            raise bad(f"records {key} {recorded[key]!r}, and {script} trains {key} {value!r}")
    config = {key: _recorded_flag(parser, key, recorded[key], bad) for key in config_keys}

    parts = [name for name in ("generator", "discriminator", "generator_optimizer", "discriminator_optimizer", "counters")
             if not isinstance(state["gan"].get(name), dict)]
    if parts:
        raise bad(f"has a GAN state without {', '.join(parts)}")
    counters = state["gan"]["counters"]
    if "iteration" not in counters:
        raise bad("has no iteration counter in its GAN state")
    for name, value in counters.items():
        if not _is_count(value):
            raise bad(f"records the counter {name} as {_shown(value)}; expected a non-negative integer")
    iteration = int(counters["iteration"])
    if not _is_count(state["epoch"]):
        raise bad(f"records epoch {_shown(state['epoch'])}; expected a non-negative integer")
    history = state.get("history")
    if not isinstance(history, dict) or set(STATISTICS) - set(history):
        raise bad(f"has no training history (expected arrays {', '.join(STATISTICS)})")
    for name in STATISTICS:
        values = history[name]
        if getattr(values, "ndim", None) != 1 or len(values) != iteration or values.dtype.kind != "f":
            raise bad(f"holds a history {name!r} of shape {getattr(values, 'shape', None)}; expected {iteration} "
                      f"floats, one per generator step made")
    return state, metadata, config


def _recorded_flag(parser, key, value, bad):
    """A recorded config value, checked and converted by the type and choices of its flag."""
    action, flag = flag_of(parser, key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad(f"records {key} {value!r}; {flag} takes a {'number' if action.type else 'name'}")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        converted = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
        raise bad(f"records {key} {value!r}, which {flag} refuses: {error}") from None
    if action.choices is not None and converted not in action.choices:
        raise bad(f"records {key} {value!r}; {flag} must be one of {', '.join(map(str, action.choices))}")
    return converted


def _shown(value):
    """A recorded value as the user would write it: an array's numbers, not ``array(-3)``."""
    return repr(value.tolist()) if hasattr(value, "tolist") else repr(value)


def _is_count(value):
    value = numpy.asarray(value)
    return value.shape == () and value.dtype.kind in "iu" and int(value) >= 0


def resume_flags(args, parser, config, path, log=print):
    """Set ``args``' run settings from the checkpoint's ``config``; a flag typed with another value is an error.

    A resumed run is the old run continued: changing its batch size, k, loss, learning rate, seed or
    model would make it a different run that neither matches the uninterrupted one nor starts afresh.
    """
    for key, recorded in config.items():
        _, flag = flag_of(parser, key)
        if key in args.given and getattr(args, key) != recorded:
            raise RunError(f"{flag} {getattr(args, key)} contradicts the checkpoint {path!r}, whose run has {flag} {recorded}: "
                           f"a resumed run keeps its settings; leave {flag} out to continue it, or start a new run "
                           f"in a new --out to change it")
        setattr(args, key, recorded)
    log(f"resuming {path} with " + ", ".join(f"{key} {value}" for key, value in config.items()))


def resume_data(args, metadata, path):
    """The --data to resume on: as typed, else the one the checkpoint records (None: the shipped MNIST)."""
    recorded = metadata.get("data")
    if "data" in args.given or not isinstance(recorded, dict):
        return args.data
    if recorded.get("path") is not None and not os.path.exists(recorded["path"]):
        raise RunError(f"--resume: {path!r} was trained on --data {recorded['path']!r}, which no longer exists; "
                       f"pass --data with the same data")
    return recorded.get("path")


def check_same_data(metadata, current, path, log=print):
    """Refuse to resume on other training data than the checkpoint's (by the sha256 of ``data_record``)."""
    recorded = metadata.get("data")
    if not isinstance(recorded, dict) or "sha256" not in recorded:
        log(f"note: {path} records no checksum of its training data (an older minigan wrote it), so --data is not checked")
        return
    if recorded["sha256"] != current["sha256"]:
        raise RunError(f"--data: the training data {_describe_data(current)} is not what the checkpoint {path!r} was "
                       f"trained on, {_describe_data(recorded)}; resume on the same data, or start a new run")


def resume_position(gan, loader, state, metadata, epochs, steps, path):
    """Where to continue: ``(epochs_done, step)`` from the GAN's iteration counter, checked against the
    position the checkpoint records; refuses an --epochs or --steps that the checkpoint has already reached.
    """
    per_epoch = steps_per_epoch(gan, loader)
    epochs_done, step = position(gan.iteration, per_epoch)
    recorded = metadata.get("position")
    if isinstance(recorded, dict) and "step" in recorded:  # checkpoints before this field labelled a cut epoch as finished
        if recorded.get("steps_per_epoch") != per_epoch:
            raise RunError(f"--resume: {path!r} was trained with {recorded.get('steps_per_epoch')!r} generator steps an epoch, "
                           f"and its settings on this data give {per_epoch}")
        expected = (epochs_done + (step > 0), step or per_epoch) if gan.iteration else (0, 0)
        if (recorded.get("epoch"), recorded.get("step")) != expected or int(state["epoch"]) != expected[0]:
            raise FileFormatError(f"--resume: {path!r} records epoch {recorded.get('epoch')!r} step {recorded.get('step')!r}, "
                                  f"but its GAN has made {gan.iteration} generator steps, which is epoch {expected[0]} "
                                  f"step {expected[1]} (was it edited by hand?)")
    if epochs * per_epoch <= gan.iteration:
        raise RunError(f"--epochs {epochs}: the checkpoint has already made {gan.iteration} generator steps, "
                       f"{epochs_done} full epochs of {per_epoch}; ask for more epochs")
    if steps is not None and steps <= gan.iteration:
        raise RunError(f"--steps {steps}: the checkpoint has already made {gan.iteration} generator steps; ask for more")
    return epochs_done, step


def load_gan_state(gan, state, path, history):
    """Load the checkpoint's GAN state and history into ``gan`` and ``history``; a state that does not fit
    the networks (a hand-edited or foreign checkpoint) is a ``FileFormatError`` naming the file."""
    try:
        gan.load_state_dict(state["gan"])
    except (KeyError, ValueError, TypeError) as error:
        message = error.args[0] if error.args else repr(error)
        if isinstance(error, KeyError) and isinstance(message, str) and " " not in message:
            message = f"it has no entry {message!r}"  # a bare KeyError('m') from a state dict
        raise FileFormatError(f"--resume: {path!r} holds a GAN state that does not fit these networks: {message}") from None
    for name in STATISTICS:
        history[name] = list(state["history"][name])


def open_run(args, parser, config_keys, script, default_out, outputs, fixed=None, log=print):
    """How every MNIST training script starts, before it loads data or builds a network.

    With ``--resume``: the checkpoint is read and checked (``read_resume``), its settings become ``args``'
    (``resume_flags``: a typed flag that contradicts one is an error), and so do its --data and its
    --epochs unless typed (``resume_data``; a typed --epochs may differ, with a note). Then --out (default: the checkpoint's folder when resuming, else
    ``default_out``) is checked (``check_output_folder``); a resumed run may write into the folder of its
    own checkpoint. Returns ``(state, metadata, output)``, state and metadata None for a fresh run.
    Nothing is removed from --out until the script calls ``output.clear()``.
    """
    if args.backend:
        backend.set_backend(args.backend)
    state = metadata = None
    if args.resume:
        state, metadata, recorded = read_resume(args.resume, parser, config_keys, script, fixed)
        resume_flags(args, parser, recorded, args.resume, log)
        args.data = resume_data(args, metadata, args.resume)
        planned = metadata.get("epochs")  # --epochs may change: the run goes on to the end it was meant to reach, or to the new one
        if "epochs" not in args.given and _is_count(planned) and int(planned) > 0:
            args.epochs = int(planned)
        elif planned is not None and planned != args.epochs:
            log(f"note: the run was started for {planned} epochs; it now goes on to --epochs {args.epochs}")
        if args.backend and args.backend != metadata.get("backend"):
            log(f"note: the checkpoint was trained on {metadata.get('backend')}; on {args.backend} the losses will "
                f"not match the uninterrupted run's bit for bit")
    folder = os.path.dirname(os.path.abspath(args.resume)) if args.resume else None
    out = args.out or folder or default_out
    in_place = folder is not None and os.path.isdir(out) and os.path.samefile(out, folder)
    output = check_output_folder(out, overwrite=args.overwrite, outputs=outputs, continuing=in_place, resumable=True, log=log)
    return state, metadata, output


def continue_run(gan, loader, history, state, metadata, args):
    """Load a resumed run's state into ``gan`` and ``history`` and put ``loader`` at its epoch; returns the
    ``(start_epoch, start_step)`` for ``train_epochs`` ((0, 0) for a fresh run, ``state`` None)."""
    if state is None:
        return 0, 0
    load_gan_state(gan, state, args.resume, history)
    start_epoch, start_step = resume_position(gan, loader, state, metadata, args.epochs, args.steps, args.resume)
    loader.epoch = start_epoch
    return start_epoch, start_step
