"""Train a conditional GAN on MNIST (Mirza & Osindero 2014) and draw any digit on demand.

    python examples/conditional_gan.py                 # 5 epochs of the conditional MLP GAN, on NumPy
    python examples/conditional_gan.py --steps 50 --out runs/quick_conditional   # a quick look
    python examples/conditional_gan.py --resume runs/conditional_gan/checkpoint.npz --epochs 10

Writes into --out (default runs/conditional_gan), which must be new or empty (--overwrite replaces an
earlier run there; --resume continues the run whose checkpoint it names):
    digits_epoch_NNN.png   after every epoch, a 10×10 grid of G(z | y): row r is the digit r, and column c
                           uses the same noise z_c in every row, so a column shows one "style" as ten digits
    checkpoint.npz         networks, optimisers, counters, history and the exact position (epoch, step
                           within it, data order), after every epoch, at --steps and at Ctrl-C (atomic)
    training.png           D and G losses, and mean D(x | y) against mean D(G(z | y) | y), per iteration
    history.npz            those statistics as arrays
    samples.npy            the samples of the measurement below, --eval-per-digit of each digit in turn, float32
                           in [0, 1], shape (10 · per digit, 28, 28), for ``python -m minigan.tools.evaluate``

and at the end asks the shipped MNIST classifier (minigan.tools.classifier, 98.7% on the test set) which digit
it sees in --eval-per-digit samples drawn for each digit d, and prints how often that is d: per digit, for
all digits together, and, for scale, the classifier's own accuracy on the real test digits.

The training loop is Algorithm 1 of Goodfellow et al. 2014 with the label added to both players (see
minigan/gans/conditional_gan.py): each iteration takes a real minibatch of (images, labels), makes one
discriminator step on it and on fakes drawn for the same labels, then one generator step. Resuming,
Ctrl-C, divergence and mistakes are handled as in examples/mnist_gan.py (see its --help).
"""

import argparse
import os
import sys
import time
import types

import numpy

import minigan
from minigan import backend
from minigan.gans.conditional_gan import NUM_CLASSES, build_conditional_gan
from minigan.gans.training import STATISTICS, steps_per_epoch, train_epochs
from minigan.tools import plots
from minigan.tools.cli import non_negative_int, positive_float, positive_int, seed_value
from minigan.tools.data import DataLoader, load_mnist
from minigan.tools.io import atomic_write

from common import (EXIT_STATUS_HELP, OUTPUT_HELP, TRAINING_HELP, EpochCheckpoints, HelpFormatter, check_trainable, guarded_training,
                    run_script, save_history, side_rng)
from resuming import check_same_data, continue_run, data_record, open_run, parse_flags

GRID_STREAM, EVALUATION_STREAM = 0, 1  # the side streams (common.side_rng) of the grid's noise and of the evaluation's
OUTPUTS = ("digits_epoch_*.png", "checkpoint.npz", "training.png", "history.npz", "samples.npy")  # what --overwrite removes
CONFIG_KEYS = ("batch_size", "lr", "seed")

# What this script trains. examples/acgan.py runs the same script with another of these: the flags, the
# grids, the measurement and the record are the same for every GAN that draws the digit it is asked for.
# ``model`` is what the checkpoint's config records, so that no other script's checkpoint is resumed.
CONDITIONAL = types.SimpleNamespace(
    build=build_conditional_gan, model="conditional-mlp", script="conditional_gan.py", out=os.path.join("runs", "conditional_gan"),
    what="a conditional MLP GAN", title="conditional GAN on MNIST", names=("D(x|y)", "D(G(z|y)|y)"),
    description="Train a conditional GAN on MNIST with minigan (Mirza & Osindero 2014): "
                "G and D both see the digit's label, so G draws any digit on demand.",
)


def parser(variant=CONDITIONAL):
    parser = argparse.ArgumentParser(
        description=variant.description,
        formatter_class=HelpFormatter, epilog=" ".join([OUTPUT_HELP.format(resume=", or continued with --resume"), TRAINING_HELP, EXIT_STATUS_HELP]),
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the 50,000 training images (with --resume: the run's own, unless given)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop after this many generator steps in all (a cap for quick runs; default: none); the checkpoint then records the step, and --resume continues from it")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="minibatch size m")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for both networks")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes initial weights, noise, dropout, data order and the grid's noise")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--out", default=None, help=f"output directory, new or empty (default: {variant.out}, or with --resume the checkpoint's folder)")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing that run's files")
    parser.add_argument("--resume", metavar="CHECKPOINT", default=None,
                        help="continue the run of a checkpoint.npz (or of the folder holding it) from the very step it stopped at; batch size, lr, seed "
                             "and --data come from it (typing one with another value is an error)")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--eval-per-digit", type=non_negative_int, default=1000,
                        help="samples drawn for each digit and read by the shipped classifier at the end (0 skips that)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many generator steps")
    return parser


def parse_args(argv=None, variant=CONDITIONAL):
    """The flags, with ``args.given`` the set of those typed (see ``resuming.parse_flags``)."""
    return parse_flags(parser(variant), argv)


# ----- the pictures and the measurement -------------------------------------------------------------
def grid_inputs(gan, seed, rows=NUM_CLASSES, columns=10):
    """Noise (rows·columns, noise_dim) and labels (rows·columns,) for the grid: row r draws digit r, and
    column c uses the same z_c in every row.

    The grid is filled row by row (``plots.image_grid``): image i sits in row i // columns, column i % columns.
    The noise comes from G's own distribution, from a generator that training never touches, so the
    grids of successive epochs show G changing and nothing else.
    """
    column_noise = gan.sample_noise(columns, rng=side_rng(seed, GRID_STREAM))          # (columns, noise_dim)
    noise = column_noise.xp.tile(column_noise.data, (rows, 1))                         # image i gets z_{i % columns}
    labels = numpy.repeat(numpy.arange(rows), columns)                                  # image i gets digit i // columns
    return noise, labels


def save_grid(gan, noise, labels, path):
    images = gan.generate(noise, labels).numpy()                                        # (100, 28, 28, 1) in [0, 1]
    plots.save_image_grid(path, images, rows=NUM_CLASSES, value_range=(0.0, 1.0), zoom=3)


def label_accuracy(gan, per_digit, seed, batch=500, keep=None):
    """Draw ``per_digit`` samples G(z | d) for each digit d and let the shipped classifier read them.

    Returns ``confusion`` (10, 10) int: confusion[d, p] = how many samples drawn for d were read as p.
    The fraction read as asked is then confusion[d, d] / per_digit. ``keep``: a list to which each batch
    of samples (n, 28, 28) float32 in [0, 1] is appended, digit after digit.
    """
    from minigan.tools.classifier import predict  # loads the shipped weights on first use

    rng = side_rng(seed, EVALUATION_STREAM)
    confusion = numpy.zeros((NUM_CLASSES, NUM_CLASSES), dtype=numpy.int64)
    for digit in range(NUM_CLASSES):
        for start in range(0, per_digit, batch):
            n = min(batch, per_digit - start)
            images = gan.generate(gan.sample_noise(n, rng=rng), numpy.full(n, digit)).numpy()[..., 0]  # (n, 28, 28)
            images = numpy.clip(images, 0.0, 1.0).astype(numpy.float32)  # G ends in a sigmoid: already in [0, 1]
            predicted = predict(images)
            if keep is not None:
                keep.append(images)
            confusion[digit] += numpy.bincount(predicted, minlength=NUM_CLASSES)
    return confusion


def accuracy_report(confusion, real_accuracy=None):
    """The printed lines: per digit the fraction read as asked (and the commonest other reading), then all."""
    lines = ["the shipped classifier reads a sample drawn for digit d as d:"]
    for digit, row in enumerate(confusion):
        others = row.copy()
        others[digit] = 0
        mistaken = int(others.argmax())
        note = f"   (else mostly {mistaken}: {others[mistaken] / row.sum():.1%})" if others.any() else ""
        lines.append(f"  digit {digit}: {row[digit] / row.sum():6.1%} of {row.sum()}{note}")
    lines.append(f"  all digits: {numpy.trace(confusion) / confusion.sum():.1%} of {confusion.sum()} samples")
    if real_accuracy is not None:
        lines.append(f"  for scale, the classifier reads {real_accuracy:.1%} of the real test digits correctly")
    return lines


# ----- training -------------------------------------------------------------------------------------
def train(args, variant=CONDITIONAL):
    state, metadata, output = open_run(args, parser(variant), CONFIG_KEYS, variant.script, variant.out, OUTPUTS,
                                       fixed={"model": variant.model})
    out = output.path
    config = {"model": variant.model, **{key: getattr(args, key) for key in CONFIG_KEYS}}
    images, labels = load_mnist(args.data, split="train", scale="sigmoid")  # (n, 28, 28, 1) in [0, 1], (n,) int64
    data = data_record(args.data, images, labels)
    if metadata is not None:
        check_same_data(metadata, data, args.resume)
    minigan.seed(args.seed)
    gan = variant.build(lr=args.lr, seed=args.seed, images=images)
    check_trainable(gan, len(images), args.batch_size, data=args.data or "the shipped MNIST")
    loader = DataLoader(images, args.batch_size, seed=args.seed, labels=labels)  # yields (images, labels) pairs
    grid_noise, grid_labels = grid_inputs(gan, args.seed)
    history = {name: [] for name in STATISTICS}
    start_epoch, start_step = continue_run(gan, loader, history, state, metadata, args)
    output.clear()  # every check passed: now (with --overwrite) the earlier run's files go

    per_epoch = steps_per_epoch(gan, loader)
    remaining_steps = args.epochs * per_epoch - gan.iteration
    if args.steps is not None:
        remaining_steps = min(remaining_steps, args.steps - gan.iteration)
    print(f"training {variant.what} on {len(images)} labelled images, batch {args.batch_size}, "
          f"backend {backend.get_backend().name}: {remaining_steps} generator steps ({per_epoch} per epoch), "
          f"writing to {out}", flush=True)

    def grid(epoch):  # the digit-per-row grid after this epoch
        path = os.path.join(out, f"digits_epoch_{epoch:03d}.png")
        save_grid(gan, grid_noise, grid_labels, path)
        return path

    # Algorithm 1 with labels, epoch after epoch (minigan/gans/training.py keeps the history and the progress
    # lines); after every epoch (and where --steps or Ctrl-C cuts one), the grid and a checkpoint
    started = time.perf_counter()
    checkpoints = EpochCheckpoints(out, gan, history, config, grid, loader=loader, data=data, last=args.resume,
                                   notes={"epochs": args.epochs})
    with guarded_training(out, history, checkpoints) as stop:
        train_epochs(gan, loader, args.epochs, history, start_epoch=start_epoch, start_step=start_step,
                     max_steps=remaining_steps, log_every=args.log_every, on_epoch_end=checkpoints,
                     names=variant.names, should_stop=stop)

    save_history(out, history, title=variant.title)
    print(f"training took {time.perf_counter() - started:.0f} s; wrote training.png and history.npz", flush=True)

    if args.eval_per_digit:
        from minigan.tools.classifier import accuracy, shipped_classifier

        measured = time.perf_counter()
        samples = []
        confusion = label_accuracy(gan, args.eval_per_digit, args.seed, keep=samples)
        with atomic_write(os.path.join(out, "samples.npy")) as f:  # for python -m minigan.tools.evaluate
            numpy.save(f, numpy.concatenate(samples))
        test_images, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
        real_accuracy = accuracy(shipped_classifier(), test_images, test_labels)
        print("\n".join(accuracy_report(confusion, real_accuracy)))
        print(f"(measured in {time.perf_counter() - measured:.0f} s)")
    return history


def main(argv=None, variant=CONDITIONAL):
    args = parse_args(argv, variant)
    return run_script(variant.script, lambda: train(args, variant))


if __name__ == "__main__":
    sys.exit(main())
