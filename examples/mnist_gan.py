"""Train a GAN on MNIST, offline, with progress and pictures.

    python examples/mnist_gan.py                       # DCGAN, 5 epochs, on NumPy
    python examples/mnist_gan.py --model mlp           # the MLP GAN of Goodfellow et al. 2014
    python examples/mnist_gan.py --steps 50 --out runs/quick   # a quick look
    python examples/mnist_gan.py --resume runs/mnist_gan/checkpoint.npz --epochs 10
    python examples/mnist_gan.py --objective wgan-gp    # Gulrajani et al. 2017 (wgan: Arjovsky et al. 2017)
    python examples/mnist_gan.py --r1 10                # the standard GAN with the R1 penalty, γ = 10
    python examples/mnist_gan.py --objective lsgan      # the least-squares GAN (Mao et al. 2017; lsgan-chi2: its χ² coding)
    python examples/mnist_gan.py --ema                  # sample from the average of G's weights (Yazıcı et al. 2019)
    python examples/mnist_gan.py --ema 0.99             # the same with beta 0.99 (the default is 0.999)

Writes into --out (default runs/mnist_gan), which must be new or empty (--overwrite replaces an earlier
run there; --resume continues the run whose checkpoint it names):
    samples_epoch_NNN.png   a grid of G(z) for the same fixed noise after every epoch
    checkpoint.npz          networks, optimisers, counters, history and the exact position (epoch, step
                            within it, data order), after every epoch, at --steps and at Ctrl-C (atomic)
    training.png            D and G losses, and mean D(x) against mean D(G(z)), per iteration (for the
                            wgan objectives: the critic's scores and its Wasserstein estimate)
    history.npz             those statistics as arrays
    samples.npy             --samples final samples, float32 in [0, 1], shape (n, 28, 28)
    samples_raw.npy         with --ema: the raw G's samples of the same noise (samples.npy and the grids then
                            come from the averaged G); both are evaluated

and then evaluates the samples as ``python -m minigan.tools.evaluate`` does (digit classes present, Fréchet
distance on classifier features, Parzen-window log-likelihood); --no-evaluate skips that.

Training is Algorithm 1 of Goodfellow et al. 2014 (minigan/gans/gan.py), run epoch after epoch by
minigan/gans/training.py: each iteration takes k real minibatches for k discriminator steps, then makes one
generator step. A resumed run continues bit for bit as the uninterrupted one would have, from the step
where its checkpoint was written. Ctrl-C finishes the iteration in progress, writes the checkpoint and
history.npz and exits with status 130; a non-finite loss stops the run (status 3) naming the step and the
last good checkpoint; a mistake in a flag, a file or a checkpoint is one line and status 2.
"""

import argparse
import contextlib
import os
import sys

import numpy

import minigan
from minigan import backend
from minigan.gans import models
from minigan.gans.averaging import BETA, WeightAverage
from minigan.gans.objectives import GENERATOR_LOSSES
from minigan.gans.training import STATISTICS, steps_per_epoch, train_epochs
from minigan.tools import plots
from minigan.tools.cli import non_negative_float, non_negative_int, open_unit_interval, positive_float, positive_int, seed_value
from minigan.tools.data import DataLoader, load_mnist
from minigan.tools.io import FileFormatError, atomic_write

from common import (EXIT_STATUS_HELP, OUTPUT_HELP, TRAINING_HELP, EpochCheckpoints, HelpFormatter, RunError, check_sample_budget,
                    check_trainable, guarded_training, run_script, save_history, side_rng, to_unit_range)
from resuming import check_same_data, continue_run, data_record, open_run, parse_flags

GRID_NOISE = 100  # a 10×10 grid
DEFAULT_OUT = os.path.join("runs", "mnist_gan")
OUTPUTS = ("samples_epoch_*.png", "checkpoint.npz", "training.png", "history.npz", "samples.npy", "samples_raw.npy")  # what --overwrite removes
SAMPLE_BYTES = 28 * 28 * 4  # one float32 sample in samples.npy
NORM_STREAM = 2  # the side stream (common.side_rng) of the noise that re-estimates the averaged G's batch norm
NORM_BATCHES = 20  # minibatches of that noise


# ----- command line ---------------------------------------------------------------------------------
def parser():
    parser = argparse.ArgumentParser(
        description="Train a GAN on MNIST with minigan (Goodfellow et al. 2014, Algorithm 1).",
        formatter_class=HelpFormatter, epilog=" ".join([OUTPUT_HELP.format(resume=", or continued with --resume"), TRAINING_HELP, EXIT_STATUS_HELP]),
    )
    parser.add_argument("--model", choices=("dcgan", "mlp"), default="dcgan",
                        help="dcgan: Radford et al. 2015 (conv nets, images in [-1, 1]); mlp: Goodfellow et al. 2014 (maxout D, images in [0, 1])")
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the 50,000 training images (with --resume: the run's own, unless given)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop after this many generator steps in all (a cap for quick runs; default: none); the checkpoint then records the step, and --resume continues from it")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="minibatch size m (default: 64 for dcgan, 100 for mlp)")
    parser.add_argument("--objective", choices=tuple(models.OBJECTIVES), default="standard",
                        help="standard: Goodfellow et al. 2014; wgan: weight clipping (Arjovsky et al. 2017); wgan-gp: gradient penalty (Gulrajani et al. 2017); "
                             "lsgan, lsgan-chi2: least squares with a=0, b=c=1 or a=-1, b=1, c=0 (Mao et al. 2017)")
    parser.add_argument("--r1", metavar="GAMMA", type=non_negative_float, default=0.0,
                        help="the R1 penalty (GAMMA/2) E||grad D(x)||^2 on real data (Mescheder et al. 2018), standard objective only; 0: off")
    parser.add_argument("--r1-every", metavar="N", type=positive_int, default=1, help="lazy R1: apply it every N D steps, scaled by N")
    parser.add_argument("--k", type=positive_int, default=None, help="discriminator steps per generator step (Algorithm 1's k; default: the objective's, 1 or n_critic = 5)")
    parser.add_argument("--generator-loss", choices=GENERATOR_LOSSES, default="non-saturating",
                        help="minimax: minimise log(1 - D(G(z))); non-saturating: maximise log D(G(z))")
    parser.add_argument("--ema", nargs="?", type=open_unit_interval, const=BETA, default=None, metavar="BETA",
                        help=f"keep the exponential moving average of G's weights (beta {BETA} unless given, Yazıcı et al. 2019), draw "
                             f"the grids and samples.npy from it and the raw G's samples of the same noise into samples_raw.npy "
                             f"(with --resume: the run's own)")
    parser.add_argument("--lr", type=positive_float, default=None, help="learning rate for both networks (default: the objective's, 2e-4, 5e-5 or 1e-4)")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes initial weights, noise, dropout and data order")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--out", default=None, help=f"output directory, new or empty (default: {DEFAULT_OUT}, or with --resume the checkpoint's folder)")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing that run's files")
    parser.add_argument("--resume", metavar="CHECKPOINT", default=None,
                        help="continue the run of a checkpoint.npz (or of the folder holding it) from the very step it stopped at; model, batch size, k, loss, "
                             "lr, seed and --data come from it (typing one with another value is an error)")
    parser.add_argument("--data", metavar="PATH", default=None, help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples to save in samples.npy (refused if they would not fit in memory or on the disk)")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation of the final samples (python -m minigan.tools.evaluate)")
    parser.add_argument("--no-parzen", action="store_true", help="evaluate without the Parzen-window log-likelihood (its slowest part)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many generator steps")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (see ``resuming.parse_flags``)."""
    flags = parser()
    args = parse_flags(flags, argv)
    if args.r1 and args.objective != "standard":
        flags.error(f"--r1 {args.r1:g}: R1 is an option of the standard objective, not of --objective {args.objective}")
    if args.generator_loss != "non-saturating" and models.OBJECTIVES[args.objective].critic:
        flags.error(f"--generator-loss {args.generator_loss}: a Wasserstein critic's G descends −E[D(G(z))]; "
                    f"the choice is the standard objective's, not --objective {args.objective}'s")
    if args.generator_loss != "non-saturating" and args.objective != "standard":
        flags.error(f"--generator-loss {args.generator_loss}: G's loss is fixed by --objective {args.objective} "
                    f"(for LSGAN ½ E[(D(G(z)) − c)²]); the choice is the standard objective's")
    return args


# ----- training -------------------------------------------------------------------------------------
CONFIG_KEYS = ("model", "batch_size", "k", "generator_loss", "lr", "seed", "objective", "r1", "r1_every")


def resume_average(args, metadata, path):
    """--ema of a resumed run: the checkpoint's ("ema" beside its config; an older checkpoint ran without);
    --ema typed for a run that had none is an error, as a contradicting config flag is (``resuming.resume_flags``)."""
    if metadata is None:
        return
    recorded = metadata.get("ema")  # its β; True from a checkpoint written before β could be chosen; absent: no average
    recorded = BETA if recorded is True else (float(recorded) if recorded else None)
    if args.ema is not None and recorded is None:
        raise RunError(f"--ema contradicts the checkpoint {path!r}, whose run has no averaged generator: a resumed run keeps "
                       f"its settings; leave --ema out to continue it, or start a new run in a new --out")
    if args.ema is not None and args.ema != recorded:
        raise RunError(f"--ema {args.ema:g} contradicts the checkpoint {path!r}, whose average has beta {recorded:g}: a resumed "
                       f"run keeps its settings; leave --ema out to continue it")
    args.ema = recorded


def save_grid(gan, fixed_noise, path, model):
    images = gan.generate(fixed_noise).numpy()
    plots.save_image_grid(path, images, rows=10, value_range=models.OUTPUT_RANGE[model], zoom=3)


def final_noise(gan, count, batch=500):
    """The noise of the final samples, in batches of at most ``batch``: drawn once, so that with --ema the
    averaged and the raw G are shown the very same z."""
    return [gan.sample_noise(min(batch, count - start)) for start in range(0, count, batch)]


def final_samples(gan, noise, model):
    """G's samples of each batch of ``noise``, as float32 in [0, 1], shape (count, 28, 28)."""
    chunks = [to_unit_range(gan.generate(z).numpy()[..., 0], models.OUTPUT_RANGE[model]) for z in noise]  # G's range -> [0, 1]
    return numpy.concatenate(chunks) if chunks else numpy.zeros((0, 28, 28), numpy.float32)


def averaged(average, gan, seed, batch_size):
    """The block in which G holds its averaged weights, batch norm re-estimated for them on NORM_BATCHES
    minibatches of noise from a side stream (the same noise every time); a block that changes nothing
    when ``average`` is None."""
    if average is None:
        return contextlib.nullcontext()
    rng = side_rng(seed, NORM_STREAM)
    return average.applied([gan.sample_noise(batch_size, rng=rng) for _ in range(NORM_BATCHES)])


def train(args):
    state, metadata, output = open_run(args, parser(), CONFIG_KEYS, "mnist_gan.py", DEFAULT_OUT, OUTPUTS)
    resume_average(args, metadata, args.resume)
    if args.ema and state is not None and "average" not in state:
        raise FileFormatError(f"--resume: {args.resume!r} records --ema but holds no averaged generator")
    out = output.path
    if args.batch_size is None:
        args.batch_size = 64 if args.model == "dcgan" else 100
    recipe = models.OBJECTIVES[args.objective]  # the objective's paper's k and learning rate unless given
    args.k = recipe.discriminator_steps if args.k is None else args.k
    args.lr = (recipe.lr or 2e-4) if args.lr is None else args.lr
    config = {key: getattr(args, key) for key in CONFIG_KEYS}
    check_sample_budget("--samples", args.samples, SAMPLE_BYTES, "the final samples", folder=out)

    images, _ = load_mnist(args.data, split="train", scale=models.IMAGE_RANGE[config["model"]])
    data = data_record(args.data, images)
    if metadata is not None:
        check_same_data(metadata, data, args.resume)
    minigan.seed(config["seed"])
    gan = models.build_gan(config["model"], lr=config["lr"], generator_loss=config["generator_loss"],
                           discriminator_steps=config["k"], seed=config["seed"], images=images,
                           objective=config["objective"], r1_gamma=config["r1"], r1_every=config["r1_every"])
    average = WeightAverage(gan.generator, beta=args.ema) if args.ema is not None else None  # θ_EMA⁽⁰⁾ = θ⁽⁰⁾
    check_trainable(gan, len(images), config["batch_size"], data=args.data or "the shipped MNIST")
    loader = DataLoader(images, config["batch_size"], seed=config["seed"])
    history = {name: [] for name in STATISTICS}
    start_epoch, start_step = continue_run(gan, loader, history, state, metadata, args)
    if average is not None and state is not None:
        try:
            average.load_state_dict(state["average"])
        except (KeyError, ValueError, TypeError) as error:
            raise FileFormatError(f"--resume: {args.resume!r} holds an averaged generator that does not fit this G: {error}") from None
    output.clear()  # every check passed: now (with --overwrite) the earlier run's files go

    # The same noise every epoch, from G's own noise distribution and from a generator that training
    # never touches, so the grids show G changing and nothing else.
    fixed_noise = gan.sample_noise(GRID_NOISE, rng=side_rng(config["seed"]))
    per_epoch = steps_per_epoch(gan, loader)
    remaining_steps = args.epochs * per_epoch - gan.iteration
    if args.steps is not None:
        remaining_steps = min(remaining_steps, args.steps - gan.iteration)
    print(f"training {config['model']} on {len(images)} images, batch {config['batch_size']}, k={config['k']}, "
          f"objective {gan.objective!r}{f', averaged G (beta {args.ema:g})' if average else ''}, lr {config['lr']:g}, backend {backend.get_backend().name}: {remaining_steps} generator steps "
          f"({per_epoch} per epoch), writing to {out}")

    def grid(epoch):  # the fixed noise's samples after this epoch (the averaged G's with --ema)
        path = os.path.join(out, f"samples_epoch_{epoch:03d}.png")
        with averaged(average, gan, config["seed"], config["batch_size"]):
            save_grid(gan, fixed_noise, path, config["model"])
        return path

    # Algorithm 1, epoch after epoch: minigan/gans/training.py keeps the history and prints the progress
    # lines; after every epoch (and where --steps or Ctrl-C cuts one), a grid and a checkpoint to resume from
    checkpoints = EpochCheckpoints(out, gan, history, config, grid, loader=loader, data=data, last=args.resume,
                                   notes={"epochs": args.epochs, "ema": args.ema}, average=average)
    with guarded_training(out, history, checkpoints) as stop:
        train_epochs(gan, loader, args.epochs, history, start_epoch=start_epoch, start_step=start_step, max_steps=remaining_steps,
                     log_every=args.log_every, on_epoch_end=checkpoints, should_stop=stop, average=average)

    save_history(out, history, title=f"{config['model']} on MNIST, {config['objective']}",
                 critic=models.OBJECTIVES[config["objective"]].critic)
    noise = final_noise(gan, args.samples)
    outputs = [("samples.npy", average), ("samples_raw.npy", None)] if average else [("samples.npy", None)]
    for name, which in outputs:  # the averaged G's samples (with --ema), then the raw G's, of the same noise
        with averaged(which, gan, config["seed"], config["batch_size"]):
            samples = final_samples(gan, noise, config["model"])
        with atomic_write(os.path.join(out, name)) as f:
            numpy.save(f, samples)
        print(f"wrote {len(samples)} samples{' of the averaged G' if which else ''} to {os.path.join(out, name)}")
        if not args.no_evaluate and len(samples) >= 2:
            # What python -m minigan.tools.evaluate prints: digit classes present, Fréchet distance, Parzen window.
            from minigan.tools.evaluate import evaluate_samples, format_report

            result = evaluate_samples(samples, parzen=not args.no_parzen, log=print)
            print("\n".join(format_report(result, os.path.join(out, name))))
    return history


def main(argv=None):
    args = parse_args(argv)
    return run_script("mnist_gan.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
