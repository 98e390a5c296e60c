"""Train a GAN on MNIST, offline, with progress and pictures.

    python examples/mnist_gan.py                       # DCGAN, 5 epochs, on NumPy
    python examples/mnist_gan.py --model mlp           # the MLP GAN of Goodfellow et al. 2014
    python examples/mnist_gan.py --steps 50 --out runs/quick   # a quick look
    python examples/mnist_gan.py --resume runs/mnist_gan/checkpoint.npz --epochs 10
    python examples/mnist_gan.py --objective wgan-gp    # also wgan, lsgan, lsgan-chi2, bgan; or --r1 10, --ema 0.99

Training is Algorithm 1 of Goodfellow et al. 2014 (minigan/gans/gan.py): each iteration takes k real
minibatches for k discriminator steps, then makes one generator step. Writes into --out (default
runs/mnist_gan) samples_epoch_NNN.png (G(z) for the same fixed z after every epoch), checkpoint.npz,
training.png, history.npz and samples.npy (--samples final samples in [0, 1]; with --ema from the averaged
G, and the raw G's in samples_raw.npy), which it judges as ``python -m minigan.tools.evaluate`` does. The
run itself (--out, --resume, Ctrl-C, one-line errors) is minigan/tools/runs/harness.py's.
"""

import contextlib
import os
import sys

import numpy

import minigan
from minigan.gans import models
from minigan.gans.averaging import BETA, WeightAverage
from minigan.gans.objectives import GENERATOR_LOSSES
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_float, non_negative_int, open_unit_interval, positive_float, positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import atomic_write

DEFAULT_OUT = os.path.join("runs", "mnist_gan")
SETTINGS = ("model", "batch_size", "k", "generator_loss", "lr", "seed", "objective", "r1", "r1_every")  # kept on --resume
OUTPUTS = ("samples_epoch_*.png", "samples.npy", "samples_raw.npy")  # beside the run's record: what --overwrite removes
NORM_STREAM, NORM_BATCHES = 2, 20  # the side stream, and minibatches, of noise that re-estimate the averaged G's batch norm


def train(args):
    run = runs.Run("mnist_gan.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, kept=("ema",))
    args.ema = BETA if args.ema is True else args.ema  # a checkpoint written before beta could be chosen records True
    recipe = models.OBJECTIVES[args.objective]  # the objective's paper's k and learning rate unless given
    args.batch_size = args.batch_size or (64 if args.model == "dcgan" else 100)
    args.k, args.lr = args.k or recipe.discriminator_steps, args.lr or recipe.lr or 2e-4
    runs.check_sample_budget("--samples", args.samples, 28 * 28 * 4, "the final samples", folder=run.out)

    images, _ = load_mnist(args.data, split="train", scale=models.IMAGE_RANGE[args.model])
    minigan.seed(args.seed)
    gan = models.build_gan(args.model, lr=args.lr, generator_loss=args.generator_loss, discriminator_steps=args.k,
                           seed=args.seed, images=images, objective=args.objective, r1_gamma=args.r1, r1_every=args.r1_every)
    average = WeightAverage(gan.generator, beta=args.ema) if args.ema is not None else None  # θ_EMA⁽⁰⁾ = θ⁽⁰⁾
    run.start(gan, images, average=average)

    # The same noise every epoch, from a generator that training never touches: the grids show G changing, nothing else.
    fixed_noise = gan.sample_noise(100, rng=runs.side_rng(args.seed))

    def grid(path):  # the averaged G's with --ema
        with averaged(average, gan, args):
            plots.save_image_grid(path, gan.generate(fixed_noise).numpy(), rows=10, value_range=models.OUTPUT_RANGE[args.model], zoom=3)

    run.train(grid, "samples_epoch_{epoch:03d}.png", title=f"{args.model} on MNIST, {args.objective}", critic=recipe.critic,
              what=f"training {args.model}, objective {gan.objective!r}, k={args.k}, lr {args.lr:g}" + (f", averaged G (beta {args.ema:g})" if average else ""))
    write_samples(run, gan, average, args)


def write_samples(run, gan, average, args, batch=500):
    """samples.npy (and with --ema samples_raw.npy: the raw G on the same z), each judged by the evaluator."""
    noise = [gan.sample_noise(min(batch, args.samples - start)) for start in range(0, args.samples, batch)]
    for name, which in [("samples.npy", average), ("samples_raw.npy", None)] if average else [("samples.npy", None)]:
        with averaged(which, gan, args):
            chunks = [runs.to_unit_range(gan.generate(z).numpy()[..., 0], models.OUTPUT_RANGE[args.model]) for z in noise]
        samples = numpy.concatenate(chunks) if chunks else numpy.zeros((0, 28, 28), numpy.float32)
        with atomic_write(os.path.join(run.out, name)) as f:
            numpy.save(f, samples)
        print(f"wrote {len(samples)} samples{' of the averaged G' if which else ''} to {os.path.join(run.out, name)}")
        if not args.no_evaluate and len(samples) < 2:
            print(f"not evaluated: --samples {args.samples} (the evaluation needs at least 2)")
        if not args.no_evaluate and len(samples) >= 2:
            from minigan.tools.evaluate import evaluate_samples, format_report

            result = evaluate_samples(samples, parzen=not args.no_parzen, log=print)
            print("\n".join(format_report(result, os.path.join(run.out, name))))


def averaged(average, gan, args):
    """The block in which G holds its averaged weights, batch norm re-estimated for them on the same
    NORM_BATCHES minibatches of side-stream noise every time; a block that changes nothing without ``average``."""
    if average is None:
        return contextlib.nullcontext()
    rng = runs.side_rng(args.seed, NORM_STREAM)
    return average.applied([gan.sample_noise(args.batch_size, rng=rng) for _ in range(NORM_BATCHES)])


def parser():
    parser = runs.training_parser("Train a GAN on MNIST with minigan (Goodfellow et al. 2014, Algorithm 1).")
    runs.add_run_flags(parser, DEFAULT_OUT, epochs=5, settings=SETTINGS, epochs_help="passes over the 50,000 training images",
                       seed_help="fixes initial weights, noise, dropout and data order")
    parser.add_argument("--model", choices=("dcgan", "mlp"), default="dcgan", help="dcgan: Radford et al. 2015, images in [-1, 1]; mlp: Goodfellow et al. 2014, in [0, 1]")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="minibatch size m (default: 64 for dcgan, 100 for mlp)")
    parser.add_argument("--objective", choices=tuple(models.OBJECTIVES), default="standard",
                        help="standard: Goodfellow et al. 2014; wgan: weight clipping (Arjovsky et al. 2017); wgan-gp: gradient penalty (Gulrajani et al. 2017); "
                             "lsgan, lsgan-chi2: least squares with a=0, b=c=1 or a=-1, b=1, c=0 (Mao et al. 2017); "
                             "bgan: G seeks D's decision boundary, D(G(z)) = 1/2 (Hjelm et al. 2018)")
    parser.add_argument("--r1", metavar="GAMMA", type=non_negative_float, default=0.0, help="the R1 penalty (GAMMA/2) E||grad D(x)||^2 on real data (Mescheder et al. 2018); 0: off")
    parser.add_argument("--r1-every", metavar="N", type=positive_int, default=1, help="lazy R1: apply it every N D steps, scaled by N")
    parser.add_argument("--k", type=positive_int, default=None, help="discriminator steps per generator step (Algorithm 1's k; default: the objective's, 1 or 5)")
    parser.add_argument("--generator-loss", choices=GENERATOR_LOSSES, default="non-saturating", help="minimax: minimise log(1 - D(G(z))); non-saturating: maximise log D(G(z))")
    parser.add_argument("--ema", nargs="?", type=open_unit_interval, const=BETA, default=None, metavar="BETA",
                        help=f"draw the grids and samples.npy from an average of G's weights (beta {BETA} unless given, Yazıcı et al. 2019); samples_raw.npy: the raw G's")
    parser.add_argument("--lr", type=positive_float, default=None, help="learning rate for both networks (default: the objective's, 2e-4, 5e-5 or 1e-4)")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="final samples to save in samples.npy (refused if they would not fit in memory or on the disk)")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation of the final samples (python -m minigan.tools.evaluate)")
    parser.add_argument("--no-parzen", action="store_true", help="evaluate without the Parzen-window log-likelihood (its slowest part)")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``), checked together."""
    flags = parser()
    args = runs.parse_flags(flags, argv)
    if args.r1_every != 1 and not args.r1:
        flags.error(f"--r1-every {args.r1_every}: it spaces the R1 penalty, which is off; give --r1 GAMMA > 0 with it")
    if args.r1 and args.objective != "standard":
        flags.error(f"--r1 {args.r1:g}: R1 is an option of the standard objective, not of --objective {args.objective}")
    if args.generator_loss != "non-saturating" and models.OBJECTIVES[args.objective].critic:
        flags.error(f"--generator-loss {args.generator_loss}: a Wasserstein critic's G descends −E[D(G(z))]; "
                    f"the choice is the standard objective's, not --objective {args.objective}'s")
    if args.generator_loss != "non-saturating" and args.objective != "standard":
        flags.error(f"--generator-loss {args.generator_loss}: G's loss is fixed by --objective {args.objective} "
                    f"({models.OBJECTIVES[args.objective].generator_formula}); the choice is the standard objective's")
    return args


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("mnist_gan.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
