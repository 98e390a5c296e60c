"""BiGAN on MNIST (Donahue et al. 2017): an encoder E learnt beside G, judged by D on (image, code) pairs.

    python examples/bigan.py                   # 8 epochs on NumPy (about 13 minutes on one CPU core)
    python examples/bigan.py --steps 50 --out runs/quick_bigan   # a quick look
    python examples/bigan.py --resume runs/bigan/checkpoint.npz --epochs 20

D is shown real pairs (x, E(x)) and fake pairs (G(z), z) and tells them apart; G and E are trained
together to fool it (minigan/gans/bigan.py). No label is used in training, and no reconstruction is ever
asked for: G(E(x)) ≈ x is what the game alone should bring about.

Writes into --out (default runs/bigan): samples_epoch_NNN.png after every epoch (a 10×10 grid of G(z),
one fixed z per cell); reconstructions.png at the end (rows in pairs: 10 test digits x, then G(E(x))
under them; five pairs of rows); checkpoint.npz, training.png, history.npz; samples.npy (--samples
samples G(z), in [0, 1]: judge them with python -m minigan.tools.evaluate).

At the end it measures E's features as the paper's Table 1 does: each test digit gets the label of its
nearest training digit (Euclidean 1-NN), once on E(x) (50 numbers) and once on the raw pixels (784),
the training images being the ones trained on (x_train[:50000]) or --nn-train of them. The last line
gives both accuracies. The run itself (--out, --resume, Ctrl-C, errors) is minigan/tools/runs/harness.py's.
"""

import os
import sys
import time

import numpy

import minigan
from minigan.gans.bigan import build_bigan, nearest_neighbour_accuracy
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_int, positive_float, positive_int
from minigan.tools.data import load_mnist

GRID_STREAM, SAMPLES_STREAM = 0, 1  # the side streams (runs.side_rng) of the grid's z and of the final samples' z
DEFAULT_OUT = os.path.join("runs", "bigan")
OUTPUTS = ("samples_epoch_*.png", "reconstructions.png", "samples.npy")  # beside the run's record: what --overwrite removes
SETTINGS = ("batch_size", "lr", "hidden", "seed")  # kept on --resume


def train(args):
    run = runs.Run("bigan.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, fixed={"model": "bigan"})
    runs.check_sample_budget("--samples", args.samples, 28 * 28 * 4, "the final samples", folder=run.out)
    images, train_labels = load_mnist(args.data, split="train", scale="sigmoid")  # the labels only for the 1-NN at the end
    minigan.seed(args.seed)
    gan = build_bigan(images, seed=args.seed, hidden=args.hidden, lr=args.lr)
    run.start(gan, images)
    grid_noise = gan.sample_noise(100, rng=runs.side_rng(args.seed, GRID_STREAM))
    run.train(lambda path: save_samples_grid(gan, grid_noise, path), "samples_epoch_{epoch:03d}.png", title="BiGAN on MNIST",
              what="training BiGAN (G, E and D) on unlabelled images", names=("D(x, E(x))", "D(G(z), z)"))
    test_images, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    save_reconstructions(gan, test_images, os.path.join(run.out, "reconstructions.png"))
    rng = runs.side_rng(args.seed, SAMPLES_STREAM)
    runs.save_samples(os.path.join(run.out, "samples.npy"), args.samples,
                      lambda m: gan.generate(gan.sample_noise(m, rng=rng)).numpy()[..., 0])
    print(f"wrote reconstructions.png and {args.samples} samples", flush=True)
    if not args.no_measure:
        measure(gan, images, train_labels, test_images, test_labels, args.nn_train)


def measure(gan, images, train_labels, test_images, test_labels, nn_train=None):
    """Table 1's protocol: 1-NN on E(x), beside 1-NN on the pixels, training features → test features."""
    if nn_train is not None:
        images, train_labels = images[:nn_train], train_labels[:nn_train]
    rows = {}
    for name, features in (("E(x)", gan.encode), ("pixels", lambda x: x.reshape(len(x), -1))):
        started = time.perf_counter()
        accuracy = nearest_neighbour_accuracy(features(images), train_labels, features(test_images), test_labels)
        rows[name] = accuracy
        print(f"1-NN on {name}: {accuracy:.2%} of {len(test_labels)} test digits, from {len(train_labels)} training digits "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"1-NN accuracy: E(x) {rows['E(x)']:.2%}, raw pixels {rows['pixels']:.2%} (Donahue et al. 2017, Table 1: "
          f"BiGAN 97.39% with a 1-NN on E(x))")
    return rows


def save_samples_grid(gan, noise, path):
    plots.save_image_grid(path, gan.generate(noise).numpy(), rows=10, value_range=(0.0, 1.0), zoom=3)
    return path


def reconstruction_rows(images, reconstructions, columns=10, pairs=5):
    """Rows in pairs: ``columns`` originals, then their reconstructions under them; ``pairs`` such pairs."""
    count = columns * pairs
    originals, rebuilt = images[:count].reshape(pairs, columns, 28, 28), reconstructions[:count].reshape(pairs, columns, 28, 28)
    return numpy.stack([originals, rebuilt], axis=1).reshape(2 * count, 28, 28)  # (pairs, 2, columns, …) → row after row


def save_reconstructions(gan, test_images, path, columns=10, pairs=5):
    shown = test_images[: columns * pairs]
    grid = reconstruction_rows(shown[..., 0], gan.reconstruct(shown)[..., 0], columns, pairs)
    plots.save_image_grid(path, grid, rows=2 * pairs, value_range=(0.0, 1.0), zoom=3)
    return path


def parser():
    parser = runs.training_parser("BiGAN on MNIST (Donahue et al. 2017): G, an encoder E and a D on (image, code) pairs.")
    runs.add_run_flags(parser, DEFAULT_OUT, epochs=8, settings=SETTINGS, epochs_help="passes over the 50,000 training images",
                       seed_help="fixes initial weights, noise, data order and the grid's noise")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="minibatch size m")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate of D, and of G with E (β₁ 0.5)")
    parser.add_argument("--hidden", type=positive_int, default=1024, help="units in each hidden layer of G, E and D")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples to save in samples.npy")
    parser.add_argument("--nn-train", type=positive_int, default=None,
                        help="use only the first N training digits as the 1-NN's references (default: all trained on)")
    parser.add_argument("--no-measure", action="store_true", help="skip the 1-NN accuracies at the end")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(parser(), argv)


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("bigan.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
