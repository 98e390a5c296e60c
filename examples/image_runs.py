"""What the three image-to-image scripts (pix2pix.py, cyclegan.py, srgan.py) share beyond ``common.py`` and
``resuming.py``: the flags every one of them takes, and training one *variant* — the method, or the baseline
it is measured against — in its own folder of the run, with the MNIST scripts' checkpoints, resume and
guard rails.

A run is a folder (``--out``) with one sub-folder per variant, trained one after the other with the same
loop and data, then measured together:

    <variant>/checkpoint.npz        GAN, optimisers, counters, history and position, after every epoch (atomic)
    <variant>/figure_epoch_NNN.png  the script's figure on fixed test digits, after every epoch
    <variant>/training.png          losses and mean D outputs per iteration; history.npz the same as arrays
    measurements.json, comparison.png   the table printed at the end, and the variants side by side

As for ``examples/mnist_gan.py``: a --out holding an earlier run is refused unless ``--resume`` continues
it or ``--overwrite`` replaces it (``common.check_output_folder``); ``--resume RUN`` continues each variant
from the very step its checkpoint recorded, with the settings and data it recorded (``resuming``), and a
finished variant is only measured; Ctrl-C finishes the iteration, writes the checkpoint and says how to
resume (``common.guarded_training``); every mistake is one line and exit status 2 (``common.run_script``).
"""

import argparse
import json
import os
import time

import numpy

from minigan import backend
from minigan.gans.training import STATISTICS, steps_per_epoch, train_epochs
from minigan.tools.cli import positive_int, seed_value
from minigan.tools.data import DataLoader
from minigan.tools.io import atomic_write

from common import (EXIT_STATUS_HELP, OUTPUT_HELP, TRAINING_HELP, EpochCheckpoints, HelpFormatter, RunError, check_output_folder,
                    check_trainable, guarded_training, save_history)
from resuming import check_same_data, data_record, load_gan_state, read_resume, resume_data, resume_flags, resume_position

CHECKPOINT = "checkpoint.npz"
VARIANT_OUTPUTS = ("figure_epoch_*.png", CHECKPOINT, "training.png", "history.npz", "generator_epoch_*.npz")  # what --overwrite removes
RUN_OUTPUTS = ("measurements.json", "comparison.png")


# ----- flags --------------------------------------------------------------------------------------
def parser(description, script_help):
    return argparse.ArgumentParser(description=description, formatter_class=HelpFormatter, epilog=" ".join(
        [script_help, OUTPUT_HELP.format(resume=", or continued with --resume"), TRAINING_HELP, EXIT_STATUS_HELP]))


def add_common_flags(parser, out, epochs, train_images, batch_size, width):
    """The flags of every image-to-image script, with that script's defaults."""
    parser.add_argument("--epochs", type=positive_int, default=epochs,
                        help="passes over the --train-images training images, for each variant (with --resume: the run's own, unless given)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop each variant after this many iterations in all (a cap for a quick look; default: none); its checkpoint records the step, and --resume continues from it")
    parser.add_argument("--train-images", type=positive_int, default=train_images, help="how many of MNIST's 50,000 training images to use (the first N)")
    parser.add_argument("--test-images", type=positive_int, default=10000, help="how many of the 10,000 test images to measure on (the first N)")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size m")
    parser.add_argument("--width", type=positive_int, default=width, help="channels of the networks' first layer (the others are multiples of it)")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the initial weights, dropout, the data order and the data split")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--out", default=None, help=f"output folder, new or empty, one sub-folder per variant (default: runs/{out}, or with --resume the run's folder)")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing that run's files")
    parser.add_argument("--resume", metavar="RUN", default=None,
                        help="continue an earlier run: its --out folder (or a variant's checkpoint.npz in it); each variant goes on from the very step "
                             "its checkpoint recorded, with its settings and --data (typing one with another value is an error); a finished one is only measured")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many iterations")


# ----- the run's folders --------------------------------------------------------------------------
def open_runs(args, parser, config_keys, script, default_out, variants, log=print):
    """Before any data is loaded: the run folder and each variant's, checked; with ``--resume`` the
    recorded settings become ``args``' (a typed flag that contradicts them is an error) and so does the
    recorded --data. Returns {variant: (state, metadata) or None} and the checked folders, to be cleared
    (``clear()``) when training is about to start.
    """
    if args.backend:
        backend.set_backend(args.backend)
    run = resumed_folder(args.resume) if args.resume else None
    out = args.out or run or default_out
    if run is not None and not (os.path.isdir(out) and os.path.samefile(out, run)):
        raise RunError(f"--out {out!r}: a resumed run writes into its own folder {run!r}; leave --out out")
    earlier = [os.path.join(name, CHECKPOINT) for name in variants if os.path.exists(os.path.join(out, name, CHECKPOINT))]
    if run is None and earlier and not args.overwrite:
        raise RunError(f"--out {out!r} already holds a run of {script} ({', '.join(earlier)}); continue it with --resume {out}, "
                       "pass --overwrite to replace it, or choose a new --out")
    recorded, metadata_seen = {}, None
    for name in variants:
        path = os.path.join(out, name, CHECKPOINT)
        if run is None or not os.path.exists(path):
            recorded[name] = None
            continue
        state, metadata, config = read_resume(path, parser, config_keys, script, fixed={"variant": name})
        resume_flags(args, parser, config, path, log)
        if metadata_seen is None:
            metadata_seen = metadata
        recorded[name] = (state, metadata, path)
    if run is not None and metadata_seen is None:
        raise RunError(f"--resume {args.resume!r}: no checkpoint of {', '.join(variants)} in {run!r}; expected the --out of an earlier run of {script}")
    if metadata_seen is not None:
        args.data = resume_data(args, metadata_seen, recorded[next(n for n in variants if recorded[n])][2])
        planned = metadata_seen.get("epochs")
        if "epochs" not in args.given and isinstance(planned, int) and planned > 0:
            args.epochs = planned
    folders = [check_output_folder(out, overwrite=args.overwrite, outputs=RUN_OUTPUTS, continuing=run is not None, resumable=True, log=log)]
    folders += [check_output_folder(os.path.join(out, name), overwrite=args.overwrite, outputs=VARIANT_OUTPUTS,
                                    continuing=recorded[name] is not None, log=log) for name in variants]
    args.out = out
    return recorded, folders


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


# ----- one variant --------------------------------------------------------------------------------
def train_variant(name, gan, config, sources, targets, args, resumed, save_figure, title, epochs=None, after_epoch=None, log=print):
    """Train ``gan`` on the minibatches (sources, targets) to the end of epoch ``epochs`` (default
    ``args.epochs``) in ``args.out/name``, from its checkpoint when ``resumed`` = (state, metadata, path).

    ``config`` (the run's flags and the variant's name) goes into every checkpoint. ``save_figure(gan,
    path)`` draws the epoch's figure; ``after_epoch(gan, epoch)``, if given, runs after it. Returns
    (history, seconds spent training in this call).
    """
    epochs = args.epochs if epochs is None else epochs
    directory = os.path.join(args.out, name)
    loader = DataLoader(sources, config["batch_size"], seed=config["seed"], labels=targets)  # yields (sources, targets)
    data = data_record(args.data, sources, targets)
    check_trainable(gan, len(sources), config["batch_size"], data=args.data or "the shipped MNIST")
    history = {statistic: [] for statistic in STATISTICS}
    start_epoch = start_step = 0
    per_epoch = steps_per_epoch(gan, loader)
    target = epochs * per_epoch if args.steps is None else min(epochs * per_epoch, args.steps)
    last = None
    if resumed is not None:
        state, metadata, last = resumed
        check_same_data(metadata, data, last, log)
        load_gan_state(gan, state, last, history)
        if gan.iteration >= target:
            log(f"{name}: already trained ({gan.iteration} iterations in {last}); measuring it")
            return history, 0.0
        start_epoch, start_step = resume_position(gan, loader, state, metadata, epochs, args.steps, last)
        loader.epoch = start_epoch
    remaining = target - gan.iteration
    log(f"{name}: {remaining} iterations ({per_epoch} per epoch of {len(sources)} images, batch {config['batch_size']}), "
        f"backend {backend.get_backend().name}, writing to {directory}" + (f", resumed at iteration {gan.iteration}" if last else ""))

    def figure(epoch):
        path = os.path.join(directory, f"figure_epoch_{epoch:03d}.png")
        save_figure(gan, path)
        if after_epoch is not None:
            after_epoch(gan, epoch)
        return path

    checkpoints = EpochCheckpoints(directory, gan, history, config, figure, loader=loader, data=data, last=last, notes={"epochs": args.epochs})
    started, before = time.perf_counter(), gan.iteration
    with guarded_training(directory, history, checkpoints) as stop:
        train_epochs(gan, loader, epochs, history, start_epoch=start_epoch, start_step=start_step, max_steps=remaining,
                     log_every=args.log_every, on_epoch_end=checkpoints, should_stop=stop)
    seconds = time.perf_counter() - started
    save_history(directory, history, title)
    log(f"{name}: trained in {seconds:.0f} s ({seconds / max(gan.iteration - before, 1):.2f} s per iteration); wrote training.png and history.npz")
    return history, seconds


# ----- the measurements ---------------------------------------------------------------------------
def report(rows, columns, out, extra=None):
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


def test_rows(labels, per_digit=1):
    """Indices of the first ``per_digit`` test images of each digit 0–9, digit by digit: the figures' columns."""
    return numpy.concatenate([numpy.flatnonzero(labels == digit)[:per_digit] for digit in range(10)])
