"""The record of a run, and reading it back: the checkpoint written after every epoch, the history, and
the checks that make ``--resume`` continue the very run that wrote the checkpoint.

A checkpoint (``EpochCheckpoints``) records the run's settings, the GAN's state with its iteration
counter t, the history, the training data's checksum and the position (epoch, step within it, data
order). Resuming is the old run continued, bit for bit, from step t:

    read_resume(...)       read the checkpoint and check it as its flags are checked (a hand-edited batch
                           size 0 is refused as --batch-size 0 would be), with its history and counters
    resume_flags(...)      its settings become the run's; a flag typed with another value is an error
    check_same_data(...)   the --data trained on now has the checksum the checkpoint recorded
    resume_position(...)   (epochs done, step) from t, checked against the recorded position;
                           ``train_epochs`` then skips the minibatches of the epoch already used

Every problem is a one-line ``RunError`` or ``FileFormatError`` naming --resume's file (or the flag).
"""

import argparse
import hashlib
import os
import time

import numpy

from minigan.engine import backend
from minigan.gans.training import STATISTICS, position, steps_per_epoch
from minigan.tools import plots
from minigan.tools.io import FileFormatError, load_checkpoint, save_checkpoint, save_npz
from minigan.tools.runs.flags import flag_of
from minigan.tools.runs.folders import RunError

CHECKPOINT = "checkpoint.npz"
COUNTERS = ("iteration", "discriminator_step_count", "generator_step_count")  # what GAN.state_dict() counts


# ----- writing: after every epoch -------------------------------------------------------------------
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

    def __init__(self, out, gan, history, config, save_grid, log=None, loader=None, data=None, last=None, notes=None, average=None,
                 before=None):
        self.out, self.gan, self.history, self.config, self.save_grid, self.before = out, gan, history, config, save_grid, before
        self.log = log or (lambda line: print(line, flush=True))
        self.loader, self.data, self.last, self.notes, self.average = loader, data, last, notes or {}, average
        self.started = time.perf_counter()

    def position(self, epoch):
        """Where the run stands at the end of ``epoch`` (finished or cut short), as the checkpoint records it."""
        return position_record(self.gan, self.loader, epoch)

    def __call__(self, epoch):
        if self.before is not None:  # a measurement the checkpoint keeps (in the history)
            self.before(epoch)
        where = self.position(epoch)
        path = os.path.join(self.out, "checkpoint.npz")
        state = {"gan": self.gan.state_dict(), "epoch": numpy.array(epoch),
                 "history": {k: numpy.asarray(v, numpy.float64) for k, v in self.history.items()}}
        if self.average is not None:
            state["average"] = self.average.state_dict()
        try:
            save_checkpoint(path, state,
                            metadata={"config": self.config, "epoch": epoch, "position": where, "data": self.data,
                                      "backend": backend.get_backend().name, **self.notes})
        except OSError as error:
            raise OSError(error.errno, f"could not write the checkpoint {path} ({error.strerror}); {last_good(self.last)}") from None
        self.last = path
        try:  # the epoch's pictures come after the checkpoint they show: never a picture of a state that was not saved
            grid = self.save_grid(epoch)
        except OSError as error:
            raise OSError(error.errno, f"could not write the pictures of epoch {epoch} ({error.strerror}: "
                                       f"{error.filename or 'a file'}); the checkpoint {path} was written") from None
        cut = "" if where.get("finished", True) else f" (cut at step {where['step']} of {where['steps_per_epoch']})"
        self.log(f"epoch {epoch}{cut}: wrote {grid} and checkpoint.npz ({time.perf_counter() - self.started:.0f} s so far)")


def position_record(gan, loader, epoch):
    """What a checkpoint written at the end of ``epoch`` records of the run's position: the epoch, the GAN's
    iteration, and with a ``loader`` the step within the epoch and the data order (the loader's seed and
    the minibatches of that epoch already used), so that a resumed run continues at the very step."""
    where = {"epoch": epoch, "iteration": gan.iteration}
    if loader is not None:
        per_epoch, k = steps_per_epoch(gan, loader), gan.discriminator_steps
        step = gan.iteration - (epoch - 1) * per_epoch
        where.update(step=step, steps_per_epoch=per_epoch, finished=step == per_epoch,
                     data_order={"loader_seed": int(loader.seed), "batch_size": loader.batch_size,
                                 "examples": len(loader.images), "epoch_shuffled_by": [int(loader.seed), epoch - 1],
                                 "minibatches_used": step * k})
    return where


def last_good(last):
    """Where to go on from after a failure: the last checkpoint written, or that there is none yet."""
    if last is None:
        return "no checkpoint was written before it (the first is written at the end of epoch 1)"
    return f"the last good checkpoint is {last}"


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



# ----- reading: what --resume continues ----------------------------------------------------------
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


# ----- reading and checking a checkpoint -------------------------------------------------------------
def read_resume(path, parser, config_keys, script, fixed=None, flag="--resume"):
    """The checkpoint behind ``--resume path``, checked as a flag would be: returns (state, metadata, config).
    ``flag``: the flag that named it, for the errors (``--checkpoint`` where a script measures a trained run).

    A checkpoint can be hand-edited or come from another script, so before it is used: its ``config``
    must hold each of ``config_keys``, and each value must pass the check of its own flag (a recorded
    batch size 0 is refused as ``--batch-size 0`` would be); ``fixed`` {key: value} must match exactly
    (which script wrote it); the GAN's counters must be non-negative integers; the history must hold
    one entry per generator step for each statistic; the epoch must be a non-negative integer.
    """
    try:
        state, metadata = load_checkpoint(path)
    except FileNotFoundError:
        raise RunError(f"{flag}: no checkpoint at {path!r}") from None
    except FileFormatError as error:
        raise FileFormatError(f"{flag}: {error}") from None

    def bad(problem):
        return FileFormatError(f"{flag}: {path!r} {problem} (was it edited by hand, or written by another script?)")

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
    unknown = sorted(set(counters) - set(COUNTERS))
    if unknown:
        raise bad(f"records the counter(s) {', '.join(unknown)}; a GAN counts only {', '.join(COUNTERS)}")
    for name, value in counters.items():
        if not is_count(value):
            raise bad(f"records the counter {name} as {_shown(value)}; expected a non-negative integer")
    iteration = int(counters["iteration"])
    if not is_count(state["epoch"]):
        raise bad(f"records epoch {_shown(state['epoch'])}; expected a non-negative integer")
    history = state.get("history")
    if not isinstance(history, dict) or set(STATISTICS) - set(history):
        raise bad(f"has no training history (expected arrays {', '.join(STATISTICS)})")
    for name in STATISTICS:
        values = history[name]
        if getattr(values, "ndim", None) != 1 or len(values) != iteration or values.dtype.kind != "f":
            raise bad(f"holds a history {name!r} of shape {getattr(values, 'shape', None)}; expected {iteration} "
                      f"floats, one per generator step made")
        if not numpy.isfinite(values).all():  # a run stops at its first non-finite statistic and writes no checkpoint after it
            raise bad(f"holds a history {name!r} with a value that is not finite, at step {int(numpy.argmin(numpy.isfinite(values))) + 1}; "
                      f"no run writes one")
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


def is_count(value):
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
        if gan.iteration:  # every other field of the position, and of its data order, as this run would write it
            should = position_record(gan, loader, expected[0])
            for key, value in recorded.items():
                wanted = should.get(key)
                fields = value.items() if isinstance(value, dict) and isinstance(wanted, dict) else [(None, value)]
                for field, found in fields:
                    right = wanted if field is None else wanted.get(field)
                    if field is not None and field not in wanted:
                        continue
                    if found != right:
                        name = key if field is None else f"{key}.{field}"
                        raise FileFormatError(f"--resume: {path!r} records position {name} {found!r}, and its GAN's "
                                              f"{gan.iteration} steps with these settings and data give {right!r} (was it "
                                              f"edited by hand?)")
    k = gan.discriminator_steps
    made = {"generator_step_count": gan.iteration, "discriminator_step_count": k * gan.iteration}
    for name, value in made.items():
        if getattr(gan, name, value) != value:
            raise FileFormatError(f"--resume: {path!r} records the counter {name} {getattr(gan, name)}, and {gan.iteration} "
                                  f"iterations of {k} discriminator step(s) and one generator step make {value} (was it edited by hand?)")
    if epochs * per_epoch <= gan.iteration:
        raise RunError(f"--epochs {epochs}: the checkpoint has already made {gan.iteration} generator steps, "
                       f"{epochs_done} full epochs of {per_epoch}; ask for more epochs")
    if steps is not None and steps <= gan.iteration:
        raise RunError(f"--steps {steps}: the checkpoint has already made {gan.iteration} generator steps; ask for more")
    return epochs_done, step


def load_gan_state(gan, state, path, history, flag="--resume"):
    """Load the checkpoint's GAN state and history into ``gan`` and ``history``; a state that does not fit
    the networks (a hand-edited or foreign checkpoint) is a ``FileFormatError`` naming ``flag`` and the file."""
    try:
        gan.load_state_dict(state["gan"])
    except (KeyError, ValueError, TypeError) as error:
        message = error.args[0] if error.args else repr(error)
        if isinstance(error, KeyError) and isinstance(message, str) and " " not in message:
            message = f"it has no entry {message!r}"  # a bare KeyError('m') from a state dict
        raise FileFormatError(f"{flag}: {path!r} holds a GAN state that does not fit these networks: {message}") from None
    for name in STATISTICS:
        history[name] = list(state["history"][name])
