"""What the three image-to-image scripts (pix2pix.py, cyclegan.py, srgan.py) share: the flags every one of
them takes, training one *variant* (the method, or its baseline) in its own folder with a figure and a
checkpoint after every epoch, resuming it, and the table of measurements at the end.

Each script trains two variants with the same loop and the same data (the paper's method and the
baseline it is measured against), then measures both on the test digits. A variant lives in
``--out/<variant>/``:

    checkpoint.npz          the GAN, its optimisers, counters and history, after every epoch (atomic)
    figure_epoch_NNN.png    the script's figure on fixed test digits, after every epoch
    training.png            the losses and the mean D outputs per iteration; history.npz the same as arrays

A folder that already holds a checkpoint is never overwritten: without ``--resume`` the script stops with
one line saying so; with it, each variant continues from its checkpoint (or is skipped when finished),
and the losses are those of the uninterrupted run (``GAN.seed_iteration`` and ``DataLoader``'s epochs).
The checkpoint is written at the end of each epoch, so a run stopped by ``--steps`` inside an epoch
resumes at the start of the next one (the rest of that epoch is skipped, as in examples/mnist_gan.py).
"""

import argparse
import json
import os
import time

import numpy

from minigan import backend
from minigan.gans.training import STATISTICS, steps_per_epoch, train_epochs
from minigan.tools.cli import non_negative_int, positive_int
from minigan.tools.data import DataLoader
from minigan.tools.io import atomic_write, load_checkpoint

from common import RunError, checkpoint_each_epoch, save_history

CHECKPOINT = "checkpoint.npz"


# ----- flags --------------------------------------------------------------------------------------
def add_common_flags(parser, out, epochs, train_images, batch_size, width):
    """The flags of every image-to-image script, with that script's defaults."""
    parser.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the --train-images training images, for each variant")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop each variant after this many iterations in all (a cap for a quick look); the last, partial epoch still writes its figure and checkpoint")
    parser.add_argument("--train-images", type=positive_int, default=train_images, help="how many of MNIST's 50,000 training images to use (the first N)")
    parser.add_argument("--test-images", type=positive_int, default=10000, help="how many of the 10,000 test images to measure on (the first N)")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size m")
    parser.add_argument("--width", type=positive_int, default=width, help="channels of the networks' first layer (the others are multiples of it)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="fixes the initial weights, dropout, the data order and the data split")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--out", default=os.path.join("runs", out), help="output directory (one folder per variant inside)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the variants in --out from their checkpoints (a finished one is only measured); without it a --out holding a checkpoint is refused")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many iterations")


def check_out(out, variants, resume):
    """Refuse to train over an earlier run (a variant's checkpoint, or the measurements) unless ``--resume`` was given."""
    found = [os.path.join(name, CHECKPOINT) for name in variants if os.path.exists(os.path.join(out, name, CHECKPOINT))]
    found += ["measurements.json"] if os.path.exists(os.path.join(out, "measurements.json")) else []
    if found and not resume:
        raise RunError(f"--out {out!r} already holds a run ({', '.join(found)}); "
                       "pass --resume to continue it, or choose another --out")


# ----- one variant --------------------------------------------------------------------------------
def train_variant(name, gan, config, sources, targets, args, save_figure, title, after_epoch=None):
    """Train ``gan`` on the minibatches (sources, targets) for ``args.epochs`` in ``args.out/name``.

    ``config`` (a dict of plain values: the variant's settings) goes into every checkpoint; resuming
    from a checkpoint with a different config is refused. ``save_figure(gan, path)`` draws the epoch's
    figure; ``after_epoch(gan, epoch)``, if given, runs after it. Returns (history, seconds spent
    training in this call).
    """
    directory = os.path.join(args.out, name)
    os.makedirs(directory, exist_ok=True)
    loader = DataLoader(sources, args.batch_size, seed=config["seed"], labels=targets)  # yields (sources, targets)
    history, start_epoch = {statistic: [] for statistic in STATISTICS}, 0
    path = os.path.join(directory, CHECKPOINT)
    if os.path.exists(path):
        state, metadata = load_checkpoint(path)
        if metadata.get("config") != config or "gan" not in state:
            raise RunError(f"--resume: {path!r} was trained with {metadata.get('config')}, but this run asks for {config}; "
                           "give the same flags as that run, or choose another --out")
        gan.load_state_dict(state["gan"])
        history = {statistic: list(state["history"][statistic]) for statistic in STATISTICS}
        start_epoch = loader.epoch = int(state["epoch"])
    per_epoch = steps_per_epoch(gan, loader)
    remaining = (args.epochs - start_epoch) * per_epoch
    if args.steps is not None:
        remaining = min(remaining, max(args.steps - gan.iteration, 0))
    if remaining <= 0:
        print(f"{name}: already trained ({gan.iteration} iterations in {path}); measuring it", flush=True)
        return history, 0.0
    print(f"{name}: {remaining} iterations ({per_epoch} per epoch of {len(sources)} images, batch {args.batch_size}), "
          f"backend {backend.get_backend().name}, writing to {directory}" + (f", resumed at epoch {start_epoch}" if start_epoch else ""), flush=True)

    def figure(epoch):
        figure_path = os.path.join(directory, f"figure_epoch_{epoch:03d}.png")
        save_figure(gan, figure_path)
        if after_epoch is not None:
            after_epoch(gan, epoch)
        return figure_path

    started, before = time.perf_counter(), gan.iteration
    train_epochs(gan, loader, args.epochs, history, start_epoch=start_epoch, max_steps=remaining, log_every=args.log_every,
                 on_epoch_end=checkpoint_each_epoch(directory, gan, history, config, figure))
    seconds = time.perf_counter() - started
    save_history(directory, history, title)
    print(f"{name}: trained in {seconds:.0f} s ({seconds / max(gan.iteration - before, 1):.2f} s per iteration); "
          "wrote training.png and history.npz", flush=True)
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


def parser(description, epilog=None):
    return argparse.ArgumentParser(description=description, epilog=epilog, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
