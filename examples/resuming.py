"""Continuing a run from its checkpoint, for the MNIST training scripts (``--resume``).

A checkpoint (``common.EpochCheckpoints``) records the run's settings, the GAN's state with its
iteration counter t, the history, the training data's checksum and the position (epoch, step within it,
data order). Resuming is then the old run continued, bit for bit, from step t:

    open_run(...)        read the checkpoint and check it as its flags are checked (a hand-edited batch
                         size 0 is refused as --batch-size 0 would be); its settings become the run's,
                         and a flag typed with another value is an error naming both; then --out
    check_same_data(...) the --data trained on now has the checksum the checkpoint recorded
    continue_run(...)    load the state, find (epochs done, step) from t, check it against the recorded
                         position, and set the loader to that epoch; ``train_epochs`` skips the
                         minibatches of the epoch that were already used

Every problem is a one-line ``RunError`` or ``FileFormatError`` naming --resume's file (or the flag),
reported by ``common.run_script`` with exit status 2.
"""

import argparse
import hashlib
import os

import numpy

from minigan import backend
from minigan.gans.training import STATISTICS, position, steps_per_epoch
from minigan.tools.io import FileFormatError, load_checkpoint

from common import RunError, check_output_folder


# ----- flags ----------------------------------------------------------------------------------------
def parse_flags(parser, argv=None):
    """``parser.parse_args(argv)``, plus ``args.given``: the names (dests) of the flags actually typed.

    Resuming needs to tell "--lr 2e-4 typed" from "--lr left at its default": only a typed flag can
    contradict the checkpoint. argparse fills in a default only for a name the namespace does not hold
    yet, so every name starts as a marker, and the names still holding it afterwards were not typed.
    """
    unset = object()
    actions = [action for action in parser._actions  # _actions: every flag of the parser
               if action.dest != argparse.SUPPRESS and action.default != argparse.SUPPRESS]  # not --help
    args = parser.parse_args(argv, namespace=argparse.Namespace(**{action.dest: unset for action in actions}))
    args.given = {action.dest for action in actions if getattr(args, action.dest) is not unset}
    for action in actions:
        if getattr(args, action.dest) is unset:
            setattr(args, action.dest, action.default)
    return args


def flag_of(parser, dest):
    """The action behind ``args.<dest>`` and its flag as typed (``"--batch-size"``)."""
    action = next(action for action in parser._actions if action.dest == dest)
    return action, action.option_strings[0]


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


# ----- reading and checking a checkpoint -------------------------------------------------------------
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
    if args.resume and os.path.isdir(args.resume):  # the folder of a run: its checkpoint
        args.resume = os.path.join(args.resume, "checkpoint.npz")
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
