"""The smallest complete GAN, and the first example to read: G learns to draw numbers from N(4, 1.25²).

    python examples/gaussian_1d.py                      # 2000 iterations, a few seconds on one CPU core
    python examples/gaussian_1d.py --iterations 4000 --seed 1

The data is the normal distribution N(4, 1.25²), sampled afresh for every minibatch. The generator G
maps noise z ~ N(0, I) in 4 dimensions to a number through 32 ReLUs; the discriminator D maps a number
to a logit through 32 leaky ReLUs. minigan's ``GAN`` (``minigan/gans/gan.py``) trains them with
Algorithm 1 of Goodfellow et al. 2014, k = 1, G's non-saturating loss, and Adam (lr 2e-3, β₁ = 0.5) for
both. Prints progress, then the mean and std G learned; writes ``--out``/histogram.png (default
runs/gaussian_1d; a new or empty folder, or --overwrite): a histogram of real samples against G's.

Read next: ``minigan/gans/gan.py`` (the loop), ``minigan/gans/objectives.py`` (the losses), then
``examples/mnist_gan.py`` (the same loop on images).
"""

import argparse
import os
import sys

import numpy

import minigan
from minigan import nn, optim
from minigan.gans.gan import GAN
from minigan.gans.training import check_statistics, fetch_statistics
from minigan.tools.cli import positive_int, seed_value
from minigan.tools.io import atomic_write
from minigan.tools.runs import EXIT_STATUS_HELP, OUTPUT_HELP, prepare_output_folder, run_script, side_rng

MEAN, STD = 4.0, 1.25        # the data: N(MEAN, STD²)
NOISE_DIM, HIDDEN = 4, 32    # z ∈ ℝ⁴; one hidden layer of 32 units in each network
BATCH, LEARNING_RATE = 64, 2e-3
SAMPLES = 5000               # drawn from the data and from G for the printed numbers and the histogram
LOG_EVERY = 250              # iterations between progress lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train a GAN on a 1-D Gaussian with minigan (Goodfellow et al. 2014, Algorithm 1).",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     epilog=OUTPUT_HELP.format(resume="") + " " + EXIT_STATUS_HELP)
    parser.add_argument("--iterations", type=positive_int, default=2000, help="iterations of Algorithm 1 (one D step, one G step)")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the initial weights, the noise and the data")
    parser.add_argument("--out", default=os.path.join("runs", "gaussian_1d"), help="output directory, new or empty")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing its histogram.png")
    return parser.parse_args(argv)


def real_batches(m, seed):
    """Minibatches of m fresh samples x ~ N(MEAN, STD²), (m, 1) float32, forever."""
    rng = numpy.random.default_rng(seed)
    while True:
        yield (MEAN + STD * rng.standard_normal((m, 1))).astype(numpy.float32)


def build_gan(seed):
    minigan.seed(seed)  # the initial weights
    generator = nn.Sequential(nn.Linear(NOISE_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))       # z (m, 4) → x (m, 1)
    discriminator = nn.Sequential(nn.Linear(1, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, 1))   # x (m, 1) → logit (m, 1)
    return GAN(generator, discriminator,
               optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=(0.5, 0.999)),
               optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=(0.5, 0.999)),
               noise_dim=NOISE_DIM, generator_loss="non-saturating", seed=seed)


def train(args, log=print):
    """Train, report, draw; returns the mean and std of G's samples at the end."""
    out = prepare_output_folder(args.out, overwrite=args.overwrite, outputs=("histogram.png",), log=log)
    gan = build_gan(args.seed)
    batches = real_batches(BATCH, args.seed)
    watch = gan.sample_noise(SAMPLES, rng=side_rng(args.seed))  # the same z at every report, drawn outside training
    for iteration in range(1, args.iterations + 1):
        # ---- Algorithm 1, one iteration (k = 1), which gan.train_iteration runs: -------------------------
        # (1) sample m noise samples z and m examples x; update D by ascending its stochastic gradient
        #         ∇_θd (1/m) Σᵢ [log D(x⁽ⁱ⁾) + log(1 − D(G(z⁽ⁱ⁾)))]
        # (2) sample m noise samples z; update G by descending its stochastic gradient
        #         ∇_θg (1/m) Σᵢ log(1 − D(G(z⁽ⁱ⁾)))
        #     here in the non-saturating form of the paper's §3: by ascending ∇_θg (1/m) Σᵢ log D(G(z⁽ⁱ⁾))
        stats = gan.train_iteration(batches)  # on the device; fetched to the host only for the lines printed
        if iteration % LOG_EVERY == 0 or iteration == args.iterations:
            stats = fetch_statistics([stats])[0]
            check_statistics(stats, None, None, iteration)  # not finite: the run stops here (Diverged)
            fake = gan.generate(watch).numpy()
            log(f"iteration {iteration:5d}  d_loss {stats['d_loss']:.3f}  g_loss {stats['g_loss']:.3f}  "
                f"D(x) {stats['d_real']:.3f}  D(G(z)) {stats['d_fake']:.3f}  G's samples: mean {fake.mean():.3f}, std {fake.std():.3f}")
    real = next(real_batches(SAMPLES, args.seed + 1))
    path = os.path.join(out, "histogram.png")
    save_histogram(path, real[:, 0], fake[:, 0])
    log(f"G learned mean {fake.mean():.3f} and std {fake.std():.3f} (the data: {MEAN} and {STD}); wrote {path}")
    return float(fake.mean()), float(fake.std())


def save_histogram(path, real, fake):
    """Histograms of real and generated samples on shared bins, as a PNG written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)  # headless: render to memory, as minigan.tools.plots does
    axes = figure.subplots()
    bins = numpy.linspace(MEAN - 4 * STD, MEAN + 4 * STD, 61)
    axes.hist(real, bins=bins, density=True, alpha=0.5, label=f"real: N({MEAN:g}, {STD:g}²)")
    axes.hist(fake, bins=bins, density=True, alpha=0.5, label=f"G(z): mean {fake.mean():.2f}, std {fake.std():.2f}")
    axes.set_xlabel("x")
    axes.legend()
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")


def main(argv=None):
    args = parse_args(argv)
    return run_script("gaussian_1d.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
