"""Train a conditional GAN on MNIST (Mirza & Osindero 2014) and draw any digit on demand.

    python examples/conditional_gan.py                 # 5 epochs of the conditional MLP GAN, on NumPy
    python examples/conditional_gan.py --steps 50 --out runs/quick_conditional   # a quick look
    python examples/conditional_gan.py --resume runs/conditional_gan/checkpoint.npz --epochs 10

The training loop is Algorithm 1 of Goodfellow et al. 2014 with the label added to both players
(minigan/gans/conditional_gan.py): each iteration takes a real minibatch of (images, labels), makes one
discriminator step on it and on fakes drawn for the same labels, then one generator step.

Writes into --out (default runs/conditional_gan) digits_epoch_NNN.png after every epoch, a 10×10 grid of
G(z | y): row r is the digit r, and column c uses the same noise z_c in every row, so a column shows one
"style" as ten digits; checkpoint.npz, training.png and history.npz; and samples.npy, the samples of the
measurement at the end: the shipped MNIST classifier (minigan.tools.classifier) reads --eval-per-digit
samples drawn for each digit d, and the script prints how often it sees d, per digit and for all, beside
the classifier's own accuracy on the real test digits. The run itself (--out, --resume, Ctrl-C, errors)
is minigan/tools/runs/harness.py's.
"""

import os
import sys
import time
import types

import numpy

import minigan
from minigan.gans.conditional_gan import NUM_CLASSES, build_conditional_gan
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_int, positive_float, positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import atomic_write

GRID_STREAM, EVALUATION_STREAM = 0, 1  # the side streams (runs.side_rng) of the grid's noise and of the evaluation's
OUTPUTS = ("digits_epoch_*.png", "samples.npy")  # beside the run's record: what --overwrite removes
SETTINGS = ("batch_size", "lr", "seed")  # kept on --resume

# What this script trains. examples/acgan.py runs the same script with another of these: the flags, the
# grids, the measurement and the record are the same for every GAN that draws the digit it is asked for.
# ``model`` is what the checkpoint's config records, so that no other script's checkpoint is resumed.
CONDITIONAL = types.SimpleNamespace(
    build=build_conditional_gan, model="conditional-mlp", script="conditional_gan.py", out=os.path.join("runs", "conditional_gan"),
    what="a conditional MLP GAN", title="conditional GAN on MNIST", names=("D(x|y)", "D(G(z|y)|y)"),
    description="Train a conditional GAN on MNIST with minigan (Mirza & Osindero 2014): "
                "G and D both see the digit's label, so G draws any digit on demand.",
)


def train(args, variant=CONDITIONAL):
    run = runs.Run(variant.script, args, parser(variant), SETTINGS, OUTPUTS, variant.out, fixed={"model": variant.model})
    images, labels = load_mnist(args.data, split="train", scale="sigmoid")  # (n, 28, 28, 1) in [0, 1], (n,) int64
    minigan.seed(args.seed)
    gan = variant.build(lr=args.lr, seed=args.seed, images=images)
    run.start(gan, images, labels)  # minibatches of (images, labels) pairs
    grid_noise, grid_labels = grid_inputs(gan, args.seed)

    def grid(path):  # the digit-per-row grid after this epoch
        plots.save_image_grid(path, gan.generate(grid_noise, grid_labels).numpy(), rows=NUM_CLASSES, value_range=(0.0, 1.0), zoom=3)

    run.train(grid, "digits_epoch_{epoch:03d}.png", title=variant.title, names=variant.names, what=f"training {variant.what}")
    if args.eval_per_digit:
        from minigan.tools.classifier import accuracy, shipped_classifier

        measured = time.perf_counter()
        samples = []
        confusion = label_accuracy(gan, args.eval_per_digit, args.seed, keep=samples)
        with atomic_write(os.path.join(run.out, "samples.npy")) as f:  # for python -m minigan.tools.evaluate
            numpy.save(f, numpy.concatenate(samples))
        test_images, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
        real_accuracy = accuracy(shipped_classifier(), test_images, test_labels)
        print("\n".join(accuracy_report(confusion, real_accuracy)))
        print(f"(measured in {time.perf_counter() - measured:.0f} s)")


def parser(variant=CONDITIONAL):
    parser = runs.training_parser(variant.description)
    runs.add_run_flags(parser, variant.out, epochs=5, settings=SETTINGS, epochs_help="passes over the 50,000 training images",
                       seed_help="fixes initial weights, noise, dropout, data order and the grid's noise")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="minibatch size m")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for both networks")
    parser.add_argument("--eval-per-digit", type=non_negative_int, default=1000,
                        help="samples drawn for each digit and read by the shipped classifier at the end (0 skips that)")
    return parser


def parse_args(argv=None, variant=CONDITIONAL):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(parser(variant), argv)


# ----- the pictures and the measurement -------------------------------------------------------------
def grid_inputs(gan, seed, rows=NUM_CLASSES, columns=10):
    """Noise (rows·columns, noise_dim) and labels (rows·columns,) for the grid: row r draws digit r, and
    column c uses the same z_c in every row.

    The grid is filled row by row (``plots.image_grid``): image i sits in row i // columns, column i % columns.
    The noise comes from G's own distribution, from a generator that training never touches, so the
    grids of successive epochs show G changing and nothing else.
    """
    column_noise = gan.sample_noise(columns, rng=runs.side_rng(seed, GRID_STREAM))          # (columns, noise_dim)
    noise = column_noise.xp.tile(column_noise.data, (rows, 1))                         # image i gets z_{i % columns}
    labels = numpy.repeat(numpy.arange(rows), columns)                                  # image i gets digit i // columns
    return noise, labels


def label_accuracy(gan, per_digit, seed, batch=500, keep=None):
    """Draw ``per_digit`` samples G(z | d) for each digit d and let the shipped classifier read them.

    Returns ``confusion`` (10, 10) int: confusion[d, p] = how many samples drawn for d were read as p.
    The fraction read as asked is then confusion[d, d] / per_digit. ``keep``: a list to which each batch
    of samples (n, 28, 28) float32 in [0, 1] is appended, digit after digit.
    """
    from minigan.tools.classifier import predict  # loads the shipped weights on first use

    rng = runs.side_rng(seed, EVALUATION_STREAM)
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


def main(argv=None, variant=CONDITIONAL):
    args = parse_args(argv, variant)
    return runs.run_script(variant.script, lambda: train(args, variant))


if __name__ == "__main__":
    sys.exit(main())
