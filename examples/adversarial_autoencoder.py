"""The adversarial autoencoder on MNIST (Makhzani et al. 2016): codes pushed towards a prior by a D on codes.

    python examples/adversarial_autoencoder.py                    # N(0, I) prior on 2-D codes, 5 epochs
    python examples/adversarial_autoencoder.py --prior mixture --out runs/aae_mixture   # 10 labelled 2-D Gaussians (§2.3)
    python examples/adversarial_autoencoder.py --code-dim 8 --out runs/aae_8d           # an 8-D Gaussian prior
    python examples/adversarial_autoencoder.py --resume runs/adversarial_autoencoder --epochs 10

Each minibatch trains in the paper's two phases (§2; minigan/gans/adversarial_autoencoder.py): the
encoder E and the decoder reduce the reconstruction error, then D learns to tell samples of the prior from
the codes E(x), and E learns to fool it. The decoder then draws digits from samples of the prior. With
--prior mixture, D is also given each code's digit (one-hot), and each prior sample is drawn from the
component of the same digit: digit k is pushed into petal k.

Writes into --out (default runs/adversarial_autoencoder): samples_epoch_NNN.png after every epoch (the
decoder of 100 fixed prior samples; with --prior mixture, row k from component k); codes.png at the end,
the paper's Figure 2 (the 2-D codes of the 10,000 test digits, coloured by digit, over the prior's
samples in grey; the first two coordinates when --code-dim is larger); checkpoint.npz, training.png,
history.npz; samples.npy (--samples decoded prior samples, in [0, 1], for python -m minigan.tools.evaluate,
whose Parzen estimate is the paper's Table 1 protocol). The last line is the test digits' reconstruction
error. The run itself (--out, --resume, Ctrl-C, errors) is minigan/tools/runs/harness.py's.
"""

import os
import sys

import numpy

import minigan
from minigan.gans.adversarial_autoencoder import GaussianPrior, MixturePrior, build_adversarial_autoencoder
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_int, positive_float, positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import atomic_write

GRID_STREAM, SAMPLES_STREAM, PRIOR_STREAM = 0, 1, 2  # side streams (runs.side_rng): the grid's codes, the samples', the picture's prior
DEFAULT_OUT = os.path.join("runs", "adversarial_autoencoder")
OUTPUTS = ("samples_epoch_*.png", "codes.png", "samples.npy")  # beside the run's record: what --overwrite removes
SETTINGS = ("prior", "code_dim", "batch_size", "lr", "hidden", "seed")  # kept on --resume


def make_prior(args):
    if args.prior == "mixture":
        if "code_dim" in args.given and args.code_dim != 2:
            raise runs.RunError(f"--code-dim {args.code_dim}: the mixture prior of §2.3 is 2-D; give --code-dim 2 or leave it out")
        return MixturePrior()
    return GaussianPrior(args.code_dim)


def train(args):
    run = runs.Run("adversarial_autoencoder.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, fixed={"model": "adversarial_autoencoder"})
    runs.check_sample_budget("--samples", args.samples, 28 * 28 * 4, "the final samples", folder=run.out)
    prior = make_prior(args)
    images, labels = load_mnist(args.data, split="train", scale="sigmoid")
    minigan.seed(args.seed)
    gan = build_adversarial_autoencoder(prior, seed=args.seed, hidden=args.hidden, lr=args.lr)
    run.start(gan, images, labels if prior.labelled else None)  # labels reach D only for the labelled prior
    grid_codes = grid_samples(prior, args.seed)
    run.train(lambda path: save_grid(gan, grid_codes, path), "samples_epoch_{epoch:03d}.png", title="Adversarial autoencoder on MNIST",
              what=f"training the adversarial autoencoder ({prior!r})", names=("D(z ~ prior)", "D(E(x))"))
    test_images, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    codes = gan.encode(test_images)
    save_code_space(codes, test_labels, prior.sample(len(codes), rng=runs.side_rng(args.seed, PRIOR_STREAM)),
                    os.path.join(run.out, "codes.png"), title=f"E(x) of the {len(codes)} test digits; grey: samples of the {args.prior} prior")
    rng = runs.side_rng(args.seed, SAMPLES_STREAM)
    runs.save_samples(os.path.join(run.out, "samples.npy"), args.samples, lambda m: gan.generate(prior.sample(m, rng=rng)).numpy()[..., 0])
    error = float(numpy.mean((gan.generate(codes).numpy() - test_images) ** 2))
    print(f"wrote codes.png and {args.samples} samples", flush=True)
    print(f"reconstruction error of the {len(test_images)} test digits: {error:.4f} (mean squared, per pixel in [0, 1])")


def grid_samples(prior, seed, columns=10):
    """100 fixed prior samples for the epoch grids; for a labelled prior, row k from component k."""
    rng = runs.side_rng(seed, GRID_STREAM)
    labels = numpy.repeat(numpy.arange(10), columns) if prior.labelled else None
    return prior.sample(10 * columns, None if labels is None else minigan.backend.get_backend().asarray(labels), rng=rng)


def save_grid(gan, codes, path):
    plots.save_image_grid(path, gan.generate(codes).numpy(), rows=10, value_range=(0.0, 1.0), zoom=3)
    return path


def save_code_space(codes, labels, prior_samples, path, title):
    """Figure 2: the test digits' codes (first two coordinates) coloured by digit, over prior samples in grey."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    prior_samples = minigan.backend.to_numpy(prior_samples)
    figure, axes = pyplot.subplots(figsize=(6.5, 6))
    axes.scatter(prior_samples[:, 0], prior_samples[:, 1], s=1, c="0.8", label="prior samples")
    points = axes.scatter(codes[:, 0], codes[:, 1], s=2, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5)
    figure.colorbar(points, ticks=range(10), label="digit")
    axes.set_title(title, fontsize=9)
    axes.set_aspect("equal", adjustable="datalim")
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    pyplot.close(figure)
    return path


def parser():
    parser = runs.training_parser("The adversarial autoencoder on MNIST (Makhzani et al. 2016): an autoencoder whose codes a D pushes towards a prior.")
    runs.add_run_flags(parser, DEFAULT_OUT, epochs=5, settings=SETTINGS, epochs_help="passes over the 50,000 training images",
                       seed_help="fixes initial weights, prior samples, data order and the grid's codes")
    parser.add_argument("--prior", choices=("gaussian", "mixture"), default="gaussian",
                        help="N(0, I), or the 10 labelled 2-D Gaussians of §2.3 (D also given the digit)")
    parser.add_argument("--code-dim", type=positive_int, default=2, help="length of the code z (the mixture prior is 2-D)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="minibatch size m")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate (β₁ 0.5) of E, the decoder and D")
    parser.add_argument("--hidden", type=positive_int, default=512, help="units in each of the two hidden layers of E, the decoder and D (the paper's 1000)")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples to save in samples.npy")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(parser(), argv)


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("adversarial_autoencoder.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
