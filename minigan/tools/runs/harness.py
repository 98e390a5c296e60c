"""A training run, from the command line to the last checkpoint: what every training script does around
its GAN, written once, so that a script is its docstring, its own flags, its GAN and its pictures.

A script uses it like this (``examples/infogan.py`` is a short, whole one)::

    parser = runs.training_parser("InfoGAN on MNIST")
    runs.add_run_flags(parser, out="runs/infogan", epochs=5, settings=SETTINGS)     # the flags every run takes
    parser.add_argument("--batch-size", ...)                                          # the script's own
    args = runs.parse_flags(parser, argv)

    run = runs.Run("infogan.py", args, parser, SETTINGS, outputs=OUTPUTS, default_out="runs/infogan")
    images, _ = load_mnist(run.args.data, ...)      # with --resume, args hold the checkpoint's settings and --data
    gan = build_infogan(...)
    run.start(gan, images)
    run.train(draw_grid, "codes_epoch_{epoch:03d}.png", title="InfoGAN on MNIST")
    # ... the script's own pictures and measurements

and ``runs.run_script("infogan.py", lambda: train(args))`` around it turns every way it can end early into
one line and an exit status (2 a mistake in a flag, a file or a checkpoint; 3 training diverged; 130 Ctrl-C).

What ``Run`` does, in order:

    Run(...)       with --resume: read and check the checkpoint, and take its settings, --data and --epochs
                   (``checkpoints.read_resume``, ``resume_flags``); check --out: new or empty, unless --resume
                   continues it or --overwrite replaces it (``folders.check_output_folder``)
    run.start(...) the data are those the checkpoint was trained on; at least one step can be made; the
                   GAN's state, history and data position come back from the checkpoint
    run.train(...) only now are an earlier run's files removed (--overwrite); then Algorithm 1 epoch after
                   epoch (``minigan/gans/training.py``), a figure and a checkpoint after every epoch, Ctrl-C
                   finishing the iteration and writing a checkpoint, a divergence stopping the run with the
                   last good checkpoint named (``guarded_training``); then training.png and history.npz

A run of several *variants* (a method and its baselines, ``examples/pix2pix.py``) is one folder with a
sub-folder per variant: ``Run(..., variants=names)``, then ``run.variant(name)`` is the ``Run`` of each.
"""

import contextlib
import json
import os
import sys
import time

import numpy

from minigan.engine import backend
from minigan.gans.training import STATISTICS, Diverged, StopOnInterrupt, steps_per_epoch, train_epochs
from minigan.tools.data import DataError, DataLoader
from minigan.tools.io import FileFormatError, atomic_write
from minigan.tools.runs.checkpoints import (CHECKPOINT, EpochCheckpoints, check_same_data, data_record, is_count, last_good, load_gan_state,
                                            read_resume, resume_data, resume_flags, resume_position, save_history,
                                            save_history_arrays)
from minigan.tools.runs.folders import (RunError, begin_script, check_free_space, check_output_folder, check_trainable, release_folders,
                                        state_bytes, write_manifest)

# Training reseeds iteration t from (seed, t) (``GAN.seed_iteration``), t < 2³¹; the streams below use
# (seed, 2³¹ + stream), which no iteration ever draws from.
SIDE_STREAM_BASE = 2**31

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130  # 130 = 128 + SIGINT, what a shell reports for Ctrl-C


RECORD = (CHECKPOINT, "training.png", "history.npz")
FIGURES_MARGIN = 2**20  # bytes kept free for an epoch's pictures and the manifest  # what every run writes beside its figures: --overwrite removes them


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
    begin_script(script)
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
    except MemoryError as error:  # NumPy's says how much it could not allocate; the settings are the user's to change
        print(f"{script}: error: out of memory: {error} (a --batch-size, --width or --samples too large for this machine?)",
              file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # the disk filled up, a file vanished under us: not the user's mistake, but one line
        print(f"{script}: error: {error}", file=sys.stderr)
        return 1
    finally:
        release_folders()  # each folder's manifest written, its lock let go
    return 0


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


def save_samples(path, count, draw, batch=500):
    """``count`` samples, drawn ``batch`` at a time by ``draw(m)`` as (m, 28, 28) in [0, 1], saved as float32
    (count, 28, 28) in ``path`` (atomic), for ``python -m minigan.tools.evaluate``; returns them."""
    chunks = [draw(min(batch, count - start)) for start in range(0, count, batch)]
    samples = numpy.concatenate(chunks).astype(numpy.float32) if chunks else numpy.zeros((0, 28, 28), numpy.float32)
    with atomic_write(path) as f:
        numpy.save(f, samples)
    return samples


# ----- the run ----------------------------------------------------------------------------------------
class Run:
    """One training run of ``script`` in one folder (``--out``), opened from the parsed ``args``.

    Args:
        script: the script's name, for messages and to refuse another script's checkpoint.
        args: the flags, from ``parse_flags`` (with ``args.given``); ``parser``: the parser that made them.
        settings: the names of the flags that make the run what it is (batch size, learning rate, seed ...):
            recorded in every checkpoint, taken from it on --resume, and a typed one that contradicts it
            is an error.
        outputs: glob patterns of the files the script writes beside ``RECORD`` (its figures, samples):
            what --overwrite removes of an earlier run.
        default_out: --out when neither it nor --resume is given.
        fixed: {key: value} recorded beside the settings that a resumed checkpoint must match exactly
            (``{"model": "infogan"}``: no other script's checkpoint is continued).
        kept: flags recorded beside the settings (in the checkpoint's metadata) that may be absent, meaning
            "none" (mnist_gan.py's --ema: an older checkpoint has no average); kept on --resume too.
        variants: names of sub-folders, one a variant (see the module's docstring); then ``run.variant(name)``.

    After it: ``run.args`` (with a resumed run's settings, --data and --epochs), ``run.out`` (the checked
    folder), ``run.state`` and ``run.metadata`` (the resumed checkpoint's, else None). Nothing has been
    removed from --out yet.
    """

    def __init__(self, script, args, parser, settings, outputs=(), default_out=None, fixed=None, variants=None, kept=(), log=print):
        self.script, self.args, self.parser, self.settings, self.fixed = script, args, parser, tuple(settings), dict(fixed or {})
        self.kept = tuple(kept)
        self.log, self.state, self.metadata, self.checkpoint, self.name = log, None, None, None, None
        self._variants, self._folders = {}, []
        if args.backend:
            backend.set_backend(args.backend)
        if variants is not None:
            self._open_variants(tuple(variants), outputs, default_out)
            return
        if args.resume and os.path.isdir(args.resume):  # the folder of a run: its checkpoint
            args.resume = os.path.join(args.resume, CHECKPOINT)
        if args.resume:
            self.state, self.metadata, recorded = read_resume(args.resume, parser, self.settings, script, self.fixed)
            self.checkpoint = args.resume
            resume_flags(args, parser, recorded, args.resume, log)
            self._resume_kept(self.metadata)
            args.data = resume_data(args, self.metadata, args.resume)
            self._resume_epochs(self.metadata)
            trained_on, now = self.metadata.get("backend"), backend.get_backend().name
            if trained_on != now:
                log(f"note: the checkpoint was trained on {trained_on}; on {now} the losses will not match the uninterrupted "
                    f"run's bit for bit")
        folder = os.path.dirname(os.path.abspath(args.resume)) if args.resume else None
        out = default_out if args.out is None and folder is None else (args.out if args.out is not None else folder)
        in_place = folder is not None and os.path.isdir(out) and os.path.samefile(out, folder)
        if in_place:
            in_place = not self._older_than_its_folder(out)
        self._folders = [check_output_folder(out, overwrite=args.overwrite, outputs=(*RECORD, *outputs), continuing=in_place,
                                             resumable=True, log=log, script=script, keep=[args.resume] if args.resume else [])]
        self.out = self._folders[0].path

    def _older_than_its_folder(self, out):
        """Resuming a copy of an earlier checkpoint (``backup.npz``) in the folder of its run would replace that
        run's later checkpoint, history and pictures: refused, unless --overwrite says to replace that run
        (then True: the folder is not continued but cleared)."""
        own = os.path.join(out, CHECKPOINT)
        if not os.path.exists(own) or os.path.samefile(own, self.args.resume):
            return False
        if not self.args.overwrite:
            raise RunError(f"--resume {self.args.resume!r} is not the latest checkpoint of its folder, which holds {own}: "
                           f"continuing it there would replace that run's later checkpoint, history and pictures; pass --out "
                           f"with a new folder to continue it there, or --overwrite to replace the later run")
        return True

    def _resume_kept(self, metadata):
        """The ``kept`` settings of a resumed run are the checkpoint's (absent: the run had none, None); one
        typed with another value is an error, as for ``settings``."""
        for key in self.kept:
            recorded, typed, flag = metadata.get(key), getattr(self.args, key), "--" + key.replace("_", "-")
            if key in self.args.given and typed != recorded:
                had = f"whose run has no {flag}" if recorded is None else f"whose run has {flag} {recorded}"
                raise RunError(f"{flag} {typed} contradicts the checkpoint {self.checkpoint!r}, {had}: a resumed run keeps its "
                               f"settings; leave {flag} out to continue it, or start a new run in a new --out")
            setattr(self.args, key, recorded)

    def _resume_epochs(self, metadata):
        """--epochs may change on --resume: the run goes on to the end it was meant to reach, or to the new one."""
        planned = metadata.get("epochs")
        if "epochs" not in self.args.given and is_count(planned) and int(planned) > 0:
            self.args.epochs = int(planned)
        elif planned is not None and planned != self.args.epochs:
            self.log(f"note: the run was started for {planned} epochs; it now goes on to --epochs {self.args.epochs}")

    @property
    def config(self):
        """What every checkpoint records of the run's settings: ``fixed``, each of ``settings``, and a variant's name."""
        config = {**self.fixed, **{key: getattr(self.args, key) for key in self.settings}}
        return config if self.name is None else {**config, "variant": self.name}

    def clear(self):
        """Remove an earlier run's files (with --overwrite) and the temporary files of killed writes; done
        once, by ``train``, when every check has passed."""
        for folder in self._folders:
            folder.clear()

    # ----- before training ------------------------------------------------------------------------
    def start(self, gan, images, labels=None, average=None, epochs=None, loader=None):
        """Get ready to train ``gan`` on ``images`` (and ``labels``, or a paired task's targets).

        Checks that the data are those a resumed checkpoint was trained on (by their checksum) and that
        they make at least one step; makes the loader, seeded minibatches of --batch-size (of (images,
        labels) pairs if labels are given; ``loader()`` makes another kind); loads the checkpoint's GAN
        state, history and ``average`` (a ``WeightAverage``) and puts the loader at its epoch.
        ``epochs``: where this run ends (default ``args.epochs``). Sets ``run.history``,
        ``run.steps_per_epoch`` and ``run.steps_left``; returns the run.
        """
        args = self.args
        self.gan, self.average = gan, average
        self.epochs = args.epochs if epochs is None else epochs
        self.data = data_record(args.data, *([images] if labels is None else [images, labels]))
        self.examples = len(images)
        self.history = {name: [] for name in STATISTICS}
        if self.state is not None:  # first whether the state fits these networks, then whether the data are the same
            load_gan_state(gan, self.state, self.checkpoint, self.history)
            check_same_data(self.metadata, self.data, self.checkpoint, self.log)
        check_trainable(gan, self.examples, args.batch_size, data=args.data or "the shipped MNIST")
        self.loader = loader = DataLoader(images, args.batch_size, seed=args.seed, labels=labels) if loader is None else loader()
        self.start_epoch = self.start_step = 0
        self.steps_per_epoch = steps_per_epoch(gan, loader)
        target = self.epochs * self.steps_per_epoch
        target = target if args.steps is None else min(target, args.steps)
        if self.state is not None:
            if average is not None:
                try:
                    average.load_state_dict(self.state["average"])
                except (KeyError, ValueError, TypeError) as error:
                    raise FileFormatError(f"--resume: {self.checkpoint!r} holds no averaged weights that fit this network "
                                          f"({error})") from None
            if self.parent is not None and gan.iteration >= target:  # a finished variant is only measured;
                self.finished = True                                    # a single run refuses it (resume_position)
                return self
            self.start_epoch, self.start_step = resume_position(gan, loader, self.state, self.metadata, self.epochs,
                                                                args.steps, self.checkpoint)
            loader.epoch = self.start_epoch
        self.steps_left = target - gan.iteration
        # Room for what training writes: the checkpoint (written beside the old one, then renamed over it),
        # the history (four float64 a step) and a margin for the pictures.
        record = state_bytes(gan.state_dict()) + state_bytes(average.state_dict() if average is not None else {})
        check_free_space(self.out if os.path.isdir(self.out) else os.path.dirname(self.out),
                         record + 32 * target + FIGURES_MARGIN, "the checkpoint, history and pictures of this run")
        return self

    parent, finished = None, False

    # ----- training -------------------------------------------------------------------------------
    def train(self, figure, figure_name, title, what=None, step="generator step", critic=False, names=("D(x)", "D(G(z))"),
              notes=None, before_checkpoint=None, after_checkpoint=None):
        """Train from where ``start`` left to the end of its epochs (or --steps), with the run's record.

        After every epoch (the last, partial one too, and one cut by Ctrl-C): ``before_checkpoint(epoch)``,
        if given (a measurement that the checkpoint keeps in the history); the checkpoint; then the epoch's
        outputs, which therefore never show a state that was not saved: ``figure(path)`` draws the picture
        into ``out/figure_name`` (formatted with ``epoch``), and ``after_checkpoint(epoch)`` writes anything
        else. At the end ``training.png`` titled ``title`` (``critic``: D is a Wasserstein critic) and
        ``history.npz``. ``notes``: more fields for the checkpoint's metadata. Returns the history.
        """
        (self.parent or self).clear()  # every check passed: now (with --overwrite) the earlier run's files go
        os.makedirs(self.out, exist_ok=True)  # a variant's folder
        gan, args = self.gan, self.args
        if self.finished:
            self.log(f"{self.name}: already trained ({gan.iteration} iterations in {self.checkpoint}); measuring it")
            self.seconds = 0.0
            return self.history
        self.log(f"{what or 'training'}: {self.steps_left} {step}s ({self.steps_per_epoch} per epoch of {self.examples} examples, "
                 f"batch {self.loader.batch_size}), backend {backend.get_backend().name}, writing to {self.out}"
                 + (f", resumed at {step} {gan.iteration}" if self.state is not None else ""))

        def draw(epoch):  # after the checkpoint: the epoch's figure, the script's other outputs, the manifest
            path = os.path.join(self.out, figure_name.format(epoch=epoch))
            figure(path)
            if after_checkpoint is not None:
                after_checkpoint(epoch)
            write_manifest((self.parent or self).out, self.script)
            return path

        checkpoints = EpochCheckpoints(self.out, gan, self.history, self.config, draw, loader=self.loader, data=self.data,
                                       last=self.checkpoint, notes={"epochs": args.epochs, **{key: getattr(args, key) for key in self.kept}, **(notes or {})},
                                       average=self.average, before=before_checkpoint)
        started, before = time.perf_counter(), gan.iteration
        steps = ["--" + key.replace("_", "-") for key in self.settings  # what scales a step: what to try smaller
                 if key == "r1" or any(word in key for word in ("lr", "weight", "lambda"))]
        with guarded_training(self.out, self.history, checkpoints, hint=" or ".join(steps) or "--lr") as stop:
            train_epochs(gan, self.loader, self.epochs, self.history, start_epoch=self.start_epoch, start_step=self.start_step,
                         max_steps=self.steps_left, log_every=args.log_every, on_epoch_end=checkpoints, names=names,
                         should_stop=stop, average=self.average)
        self.seconds = time.perf_counter() - started
        save_history(self.out, self.history, title, critic=critic)
        self.log(f"{self.name + ': ' if self.name else ''}trained in {self.seconds:.0f} s ({self.seconds / max(gan.iteration - before, 1):.2f} s per {step}); "
                 f"wrote training.png and history.npz")
        return self.history

    # ----- a run of several variants --------------------------------------------------------------
    def _open_variants(self, names, outputs, default_out):
        """The run folder and each variant's, checked; with --resume, each variant's checkpoint read and its
        settings taken (they must agree), and the recorded --data and --epochs."""
        args = self.args
        run = resumed_folder(args.resume) if args.resume else None
        out = args.out or run or default_out
        if run is not None and not (os.path.isdir(out) and os.path.samefile(out, run)):
            raise RunError(f"--out {out!r}: a resumed run writes into its own folder {run!r}; leave --out out")
        earlier = [os.path.join(name, CHECKPOINT) for name in names if os.path.exists(os.path.join(out, name, CHECKPOINT))]
        if run is None and earlier and not args.overwrite:
            raise RunError(f"--out {out!r} already holds a run of {self.script} ({', '.join(earlier)}); continue it with "
                           f"--resume {out}, pass --overwrite to replace it, or choose a new --out")
        recorded = {}
        for name in names:
            path = os.path.join(out, name, CHECKPOINT)
            if run is not None and os.path.exists(path):
                state, metadata, config = read_resume(path, self.parser, self.settings, self.script, fixed={"variant": name})
                resume_flags(args, self.parser, config, path, self.log)
                recorded[name] = (state, metadata, path)
        if run is not None and not recorded:
            others = sorted(name for name in os.listdir(run) if os.path.isfile(os.path.join(run, name, CHECKPOINT)))
            if others:
                raise RunError(f"--resume {args.resume!r}: this run trained {', '.join(others)}, not {', '.join(names)}; continue "
                               f"it with --variants {' '.join(others)}, or train {', '.join(names)} in a new --out")
            raise RunError(f"--resume {args.resume!r}: no checkpoint of {', '.join(names)} in {run!r}; expected the --out of an "
                           f"earlier run of {self.script}")
        if recorded:
            first = next(iter(recorded.values()))
            args.data = resume_data(args, first[1], first[2])
            planned = first[1].get("epochs")
            if "epochs" not in args.given and isinstance(planned, int) and planned > 0:
                args.epochs = planned
        each = [os.path.join(name, pattern) for name in names for pattern in (*RECORD, *VARIANT_OUTPUTS)]
        self._folders = [check_output_folder(out, overwrite=args.overwrite, outputs=(*outputs, *each), continuing=run is not None,
                                             resumable=True, log=self.log, script=self.script)]
        for name in names:
            variant = self._variants[name] = Run.__new__(Run)
            variant.__dict__.update(script=self.script, args=args, parser=self.parser, settings=self.settings, log=self.log,
                                    fixed=self.fixed, kept=self.kept, parent=self, name=name, out=os.path.join(out, name),
                                    _folders=[], _variants={})
            variant.state, variant.metadata, variant.checkpoint = recorded.get(name, (None, None, None))
        args.out = self.out = self._folders[0].path

    def variant(self, name):
        """The ``Run`` of variant ``name``, in its sub-folder; its checkpoints record ``variant: name``."""
        return self._variants[name]


VARIANT_OUTPUTS = ("figure_epoch_*.png", "generator_epoch_*.npz")  # what a variant writes beside RECORD


def resumed_folder(path):
    """The run folder behind ``--resume``: the folder itself, or the one above a variant's folder or checkpoint."""
    path = os.path.abspath(path)
    if os.path.isfile(path):
        path = os.path.dirname(path)
    if os.path.isfile(os.path.join(path, CHECKPOINT)):  # a variant's folder
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise RunError(f"--resume {path!r}: no such run folder; expected the --out of an earlier run")
    return path


# ----- the measurements of a run of variants -----------------------------------------------------------
def write_measurements(rows, columns, out, extra=None):
    """Print ``rows`` ({method: {column: value}}) as a table and write them to ``out/measurements.json`` (atomic)."""
    width = max(len(method) for method in rows)
    lines = ["  ".join([" " * width] + [f"{label:>{max(len(label), 9)}}" for label, _ in columns])]
    for method, values in rows.items():
        cells = [f"{format(values[key], spec) if key in values else '-':>{max(len(label), 9)}}" for label, (key, spec) in columns]
        lines.append("  ".join([f"{method:<{width}}"] + cells))
    print("\n".join(lines), flush=True)
    with atomic_write(os.path.join(out, "measurements.json"), "w") as handle:
        json.dump({"rows": rows, **(extra or {})}, handle, indent=2)
    return lines


# ----- Ctrl-C and divergence -------------------------------------------------------------------------
@contextlib.contextmanager
def guarded_training(out, history, checkpoints, hint="--lr"):
    """Around ``train_epochs(..., should_stop=stop)``: ``with guarded_training(out, history, checkpoints) as stop:``

    * Ctrl-C: the iteration in progress finishes, its epoch's checkpoint is written (``train_epochs``
      ends the epoch there), then ``history.npz``; raises ``RunStopped`` (exit status 130) saying where
      the checkpoint is and how to resume it. A second Ctrl-C stops at once, mid-iteration: then only
      ``history.npz`` is written (the networks are half-updated) and the line names the last checkpoint.
    * divergence (``Diverged``): ``history.npz`` is written, with the non-finite row, and ``RunStopped``
      (exit status 3) names the step, the statistic, the last good checkpoint and the flags to try
      smaller (``hint``: the learning rates and loss weights). A loss past
      ``training.LOSS_WARNING_BOUND`` gets a warning line before that (``train_epochs``).
    """
    # NumPy's overflow warnings are silenced: they would name a line inside an op, while the loop checks
    # every statistic and stops at the first that is not finite, naming it and the step.
    with StopOnInterrupt(notice=lambda line: print(line, file=sys.stderr, flush=True)) as stop, \
            numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            yield stop
        except Diverged as error:
            raise RunStopped(f"stopped: {error}; {last_good(checkpoints.last)}; wrote {save_history_arrays(out, history)} "
                             f"(try a smaller {hint})", EXIT_DIVERGED) from None
        except KeyboardInterrupt:
            raise RunStopped(f"interrupted (second Ctrl-C) in the middle of an iteration, whose state was not saved; "
                             f"{last_good(checkpoints.last)}; wrote {save_history_arrays(out, history)}", EXIT_INTERRUPTED) from None
    if stop.requested:
        raise RunStopped(f"interrupted (Ctrl-C) after generator step {checkpoints.gan.iteration}: wrote {checkpoints.last} "
                         f"and {save_history_arrays(out, history)}; continue with --resume {checkpoints.last}", EXIT_INTERRUPTED)
