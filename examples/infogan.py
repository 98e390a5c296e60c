"""InfoGAN on MNIST (Chen et al. 2016, §6.1): a categorical code that comes to mean the digit, without labels.

    python examples/infogan.py                 # 5 epochs (the released code's budget is about 13), on NumPy
    python examples/infogan.py --steps 50 --out runs/quick_infogan   # a quick look
    python examples/infogan.py --resume runs/infogan/checkpoint.npz --epochs 10

G draws G(z, c) from 62 noise variables z and a code c = (c₁, c₂, c₃): c₁ one of 10 categories, c₂ and c₃
in [−1, 1]. Q, a head on D's body, learns to read c back from G's samples, and both players are rewarded
for the mutual information it recovers (minigan/gans/infogan.py). No label is used in training.

Writes into --out (default runs/infogan): codes_epoch_NNN.png after every epoch, the paper's Figure 2(a)
(row r is c₁ = r, each column one noise z, c₂ = c₃ = 0: if c₁ means the digit, each row is one digit);
c2.png and c3.png at the end, Figure 2(c) and (d) (row r is c₁ = r, columns vary c₂ or c₃ from −2 to 2,
beyond the [−1, 1] trained on, for one fixed z; the paper finds rotation and width); checkpoint.npz,
training.png, history.npz; samples.npy (--samples samples with c from its prior, in [0, 1]).

At the end it measures what c₁ learnt, as the paper does: Q reads c₁ off real digits, each code value is
mapped to the digit it most often carries (on the 10,000 validation images x_train[50000:]), and the error
of that classifier is counted on the 10,000 test images (the paper: about 5%). The last line is that error.
The run itself (--out, --resume, Ctrl-C, errors) is minigan/tools/runs/harness.py's.
"""

import os
import sys

import numpy

import minigan
from minigan.gans.infogan import CATEGORIES, Codes, build_infogan, code_error, sample_codes
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_float, non_negative_int, positive_float, positive_int
from minigan.tools.data import DataError, load_mnist

PAPER_ERROR = 0.05  # Chen et al. 2016, §6.1: "5% error rate"
SWEEP = numpy.linspace(-2.0, 2.0, 10)  # Figure 2(c), (d): c₂ or c₃ from −2 to 2
GRID_STREAM, SWEEP_STREAM, SAMPLES_STREAM = 0, 1, 2  # the side streams (runs.side_rng) of the grids' z, the sweeps' z, the samples' z and c
DEFAULT_OUT = os.path.join("runs", "infogan")
OUTPUTS = ("codes_epoch_*.png", "c2.png", "c3.png", "samples.npy")  # beside the run's record: what --overwrite removes
SETTINGS = ("batch_size", "generator_lr", "discriminator_lr", "lambda_continuous", "seed")  # kept on --resume


def train(args):
    run = runs.Run("infogan.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, fixed={"model": "infogan"})
    runs.check_sample_budget("--samples", args.samples, 28 * 28 * 4, "the final samples", folder=run.out)
    images, train_labels = load_mnist(args.data, split="train", scale="sigmoid")  # the labels are never used in training
    minigan.seed(args.seed)
    gan = build_infogan(seed=args.seed, generator_lr=args.generator_lr, discriminator_lr=args.discriminator_lr,
                        lambda_continuous=args.lambda_continuous)
    run.start(gan, images)
    grid_noise, grid_codes = category_grid_inputs(gan, args.seed)
    run.train(lambda path: save_grid(gan, grid_noise, grid_codes, path), "codes_epoch_{epoch:03d}.png", title="InfoGAN on MNIST",
              what="training InfoGAN on unlabelled images")
    for which, name in ((0, "c2"), (1, "c3")):
        save_grid(gan, *sweep_inputs(gan, args.seed, which), os.path.join(run.out, f"{name}.png"))
    rng = runs.side_rng(args.seed, SAMPLES_STREAM)  # z and c from their priors
    runs.save_samples(os.path.join(run.out, "samples.npy"), args.samples,
                      lambda m: gan.generate(gan.sample_noise(m, rng=rng), sample_codes(m, rng=rng)).numpy()[..., 0])
    print(f"wrote c2.png, c3.png and {args.samples} samples", flush=True)
    if not args.no_measure:
        measure(gan, args.data, images, train_labels)


def measure(gan, data, images, train_labels):
    """Chen et al.'s §6.1 measurement: the error of c₁ read by Q, each code mapped to its commonest digit."""
    try:
        mapping_images, mapping_labels = load_mnist(data, split="validation", scale="sigmoid")
        mapped_on = "the 10,000 validation images"
    except DataError:  # a small --data without x_train[50000:]: map on the training images (their labels still unused in training)
        mapping_images, mapping_labels, mapped_on = images, train_labels, f"the {len(images)} training images"
    test_images, test_labels = load_mnist(data, split="test", scale="sigmoid")
    error, mapping, counts = code_error(gan, mapping_images, mapping_labels, test_images, test_labels)
    print(f"c₁ read by Q off the {len(test_labels)} test digits (rows: code value; columns: true digit 0-9):")
    for code, row in enumerate(counts):
        target = f"digit {mapping[code]}" if mapping[code] >= 0 else "no digit"
        print(f"  c1={code} → {target:8s} " + " ".join(f"{c:5d}" for c in row))
    used = sorted({int(d) for d in mapping if d >= 0})
    print(f"the mapping (each code to its commonest digit on {mapped_on}) covers {len(used)} of 10 digits: {used}")
    print(f"c₁ → digit error: {error:.2%} of {len(test_labels)} test digits (Chen et al. 2016 report about {PAPER_ERROR:.0%})")


def parser():
    parser = runs.training_parser("InfoGAN on MNIST (Chen et al. 2016): a categorical and two continuous codes, learnt without labels.")
    runs.add_run_flags(parser, DEFAULT_OUT, epochs=5, settings=SETTINGS, epochs_help="passes over the 50,000 training images",
                       seed_help="fixes initial weights, noise, codes, data order and the grids' noise")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="minibatch size m (the released code's 128)")
    parser.add_argument("--generator-lr", type=positive_float, default=1e-3, help="Adam learning rate of G (the released code's)")
    parser.add_argument("--discriminator-lr", type=positive_float, default=2e-4, help="Adam learning rate of D and Q (the released code's)")
    parser.add_argument("--lambda-continuous", type=non_negative_float, default=1.0,
                        help="λ of the continuous codes' part of the information term (λ of c₁ is 1)")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples to save in samples.npy")
    parser.add_argument("--no-measure", action="store_true", help="skip the c₁ → digit error at the end")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(parser(), argv)


# ----- the pictures of Figure 2, and the samples ---------------------------------------------------------
def category_grid_inputs(gan, seed, columns=10):
    """Figure 2(a): image i (row r = i // columns, column j) gets c₁ = r, z_j, c₂ = c₃ = 0."""
    column_noise = gan.sample_noise(columns, rng=runs.side_rng(seed, GRID_STREAM))        # (columns, 62)
    noise = column_noise.xp.tile(column_noise.data, (CATEGORIES, 1))                  # image i gets z_{i % columns}
    categories = numpy.repeat(numpy.arange(CATEGORIES), columns)                      # image i gets c₁ = i // columns
    return noise, Codes(categories, numpy.zeros((len(categories), 2), numpy.float32))


def sweep_inputs(gan, seed, which):
    """Figure 2(c)/(d): row r has c₁ = r, column j has c_which = SWEEP[j] (the other continuous code 0), one z."""
    z = gan.sample_noise(1, rng=runs.side_rng(seed, SWEEP_STREAM))                         # (1, 62): one noise for the whole grid
    noise = z.xp.tile(z.data, (CATEGORIES * len(SWEEP), 1))
    categories = numpy.repeat(numpy.arange(CATEGORIES), len(SWEEP))
    continuous = numpy.zeros((len(categories), 2), numpy.float32)
    continuous[:, which] = numpy.tile(SWEEP, CATEGORIES)                              # image i gets SWEEP[i % 10]
    return noise, Codes(categories, continuous)


def save_grid(gan, noise, codes, path):
    plots.save_image_grid(path, gan.generate(noise, codes).numpy(), rows=CATEGORIES, value_range=(0.0, 1.0), zoom=3)
    return path


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("infogan.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
