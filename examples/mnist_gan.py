"""Train a GAN on MNIST, offline, with progress and pictures.

    python examples/mnist_gan.py                       # DCGAN, 5 epochs, on NumPy
    python examples/mnist_gan.py --model mlp           # the MLP GAN of Goodfellow et al. 2014
    python examples/mnist_gan.py --steps 50            # a quick look
    python examples/mnist_gan.py --resume runs/mnist_gan/checkpoint.npz --epochs 10

Writes into --out (default runs/mnist_gan):
    samples_epoch_NNN.png   a grid of G(z) for the same fixed noise after every epoch
    checkpoint.npz          networks, optimisers, counters and history, after every epoch (atomic)
    training.png            D and G losses, and mean D(x) against mean D(G(z)), per iteration
    history.npz             those statistics as arrays
    samples.npy             --samples final samples, float32 in [0, 1], shape (n, 28, 28)

and then evaluates the samples as ``python -m minigan.tools.evaluate`` does (digit classes present, Fréchet
distance on classifier features, Parzen-window log-likelihood); --no-evaluate skips that.

Training is Algorithm 1 of Goodfellow et al. 2014 (minigan/gans/gan.py), run epoch after epoch by
minigan/gans/training.py: each iteration takes k real minibatches for k discriminator steps, then makes one
generator step.
"""

import argparse
import os
import sys

import numpy

import minigan
from minigan import backend
from minigan.gans import models
from minigan.gans.objectives import GENERATOR_LOSSES
from minigan.gans.training import STATISTICS, steps_per_epoch, train_epochs
from minigan.tools import plots
from minigan.tools.cli import non_negative_int, positive_float, positive_int
from minigan.tools.data import DataError, DataLoader, load_mnist
from minigan.tools.io import FileFormatError, atomic_write, load_checkpoint

from common import RunError, checkpoint_each_epoch, save_history, side_rng, to_unit_range

GRID_NOISE = 100  # a 10×10 grid


# ----- command line ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a GAN on MNIST with minigan (Goodfellow et al. 2014, Algorithm 1).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=("dcgan", "mlp"), default="dcgan",
                        help="dcgan: Radford et al. 2015 (conv nets, images in [-1, 1]); mlp: Goodfellow et al. 2014 (maxout D, images in [0, 1])")
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the 50,000 training images")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop after this many generator steps in all (a cap for quick runs); the last, partial epoch still writes its grid and checkpoint")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="minibatch size m (default: 64 for dcgan, 100 for mlp)")
    parser.add_argument("--k", type=positive_int, default=1, help="discriminator steps per generator step (Algorithm 1's k)")
    parser.add_argument("--generator-loss", choices=GENERATOR_LOSSES, default="non-saturating",
                        help="minimax: minimise log(1 - D(G(z))); non-saturating: maximise log D(G(z))")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for both networks")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="fixes initial weights, noise, dropout and data order")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--out", default=os.path.join("runs", "mnist_gan"), help="output directory")
    parser.add_argument("--resume", metavar="CHECKPOINT", default=None,
                        help="continue from a checkpoint.npz; model, batch size, k, loss, lr and seed come from it")
    parser.add_argument("--data", metavar="PATH", default=None, help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples to save in samples.npy")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation of the final samples (python -m minigan.tools.evaluate)")
    parser.add_argument("--no-parzen", action="store_true", help="evaluate without the Parzen-window log-likelihood (its slowest part)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many generator steps")
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = 64 if args.model == "dcgan" else 100
    return args


# ----- training -------------------------------------------------------------------------------------
CONFIG_KEYS = ("model", "batch_size", "k", "generator_loss", "lr", "seed")


def save_grid(gan, fixed_noise, path, model):
    images = gan.generate(fixed_noise).numpy()
    plots.save_image_grid(path, images, rows=10, value_range=models.OUTPUT_RANGE[model], zoom=3)


def final_samples(gan, count, model, batch=500):
    """``count`` samples as float32 in [0, 1], shape (count, 28, 28), drawn in batches."""
    chunks = [to_unit_range(gan.generate(gan.sample_noise(min(batch, count - start))).numpy()[..., 0], models.OUTPUT_RANGE[model])
              for start in range(0, count, batch)]  # (≤ batch, 28, 28) each, G's range -> [0, 1]
    return numpy.concatenate(chunks) if chunks else numpy.zeros((0, 28, 28), numpy.float32)


def train(args):
    if args.backend:
        backend.set_backend(args.backend)
    config = {key: getattr(args, key) for key in CONFIG_KEYS}
    state = None
    if args.resume:
        state, metadata = load_checkpoint(args.resume)
        if set(CONFIG_KEYS) - set(metadata.get("config", {})) or "gan" not in state or "epoch" not in state:
            raise FileFormatError(f"--resume: {args.resume!r} is a minigan checkpoint but not one written by mnist_gan.py "
                                  f"(expected the run's config {CONFIG_KEYS}, its GAN state and its epoch)")
        config = {key: metadata["config"][key] for key in CONFIG_KEYS}
        print(f"resuming from {args.resume} at epoch {metadata['epoch']} with {config}")
        if args.epochs <= metadata["epoch"]:
            raise RunError(f"--epochs {args.epochs}: the checkpoint has already finished epoch {metadata['epoch']}; ask for more epochs")

    images, _ = load_mnist(args.data, split="train", scale=models.IMAGE_RANGE[config["model"]])
    minigan.seed(config["seed"])
    gan = models.build_gan(config["model"], lr=config["lr"], generator_loss=config["generator_loss"],
                           discriminator_steps=config["k"], seed=config["seed"], images=images)
    loader = DataLoader(images, config["batch_size"], seed=config["seed"])
    history = {name: [] for name in STATISTICS}
    start_epoch = 0
    if state is not None:
        gan.load_state_dict(state["gan"])
        history = {name: list(state["history"][name]) for name in STATISTICS}
        start_epoch = loader.epoch = int(state["epoch"])

    # The same noise every epoch, from G's own noise distribution and from a generator that training
    # never touches, so the grids show G changing and nothing else.
    fixed_noise = gan.sample_noise(GRID_NOISE, rng=side_rng(config["seed"]))
    os.makedirs(args.out, exist_ok=True)
    per_epoch = steps_per_epoch(gan, loader)
    remaining_steps = (args.epochs - start_epoch) * per_epoch
    if args.steps is not None:
        remaining_steps = min(remaining_steps, max(args.steps - gan.iteration, 0))
    print(f"training {config['model']} on {len(images)} images, batch {config['batch_size']}, k={config['k']}, "
          f"{config['generator_loss']} loss, backend {backend.get_backend().name}: {remaining_steps} generator steps "
          f"({per_epoch} per epoch), writing to {args.out}")

    def grid(epoch):  # the fixed noise's samples after this epoch
        path = os.path.join(args.out, f"samples_epoch_{epoch:03d}.png")
        save_grid(gan, fixed_noise, path, config["model"])
        return path

    # Algorithm 1, epoch after epoch: minigan/gans/training.py keeps the history and prints the progress
    # lines; after every epoch, a grid and a checkpoint to resume from
    train_epochs(gan, loader, args.epochs, history, start_epoch=start_epoch, max_steps=remaining_steps,
                 log_every=args.log_every, on_epoch_end=checkpoint_each_epoch(args.out, gan, history, config, grid))

    if history["d_loss"]:
        save_history(args.out, history, title=f"{config['model']} on MNIST")
    samples = final_samples(gan, args.samples, config["model"])
    with atomic_write(os.path.join(args.out, "samples.npy")) as f:
        numpy.save(f, samples)
    print(f"wrote {len(samples)} samples to {os.path.join(args.out, 'samples.npy')} and training.png")
    if not args.no_evaluate and len(samples) >= 2:
        # What python -m minigan.tools.evaluate prints: digit classes present, Fréchet distance, Parzen window.
        from minigan.tools.evaluate import evaluate_samples, format_report

        result = evaluate_samples(samples, parzen=not args.no_parzen, log=print)
        print("\n".join(format_report(result, os.path.join(args.out, "samples.npy"))))
    return history


def main(argv=None):
    args = parse_args(argv)
    try:
        train(args)
    except (DataError, FileFormatError, FileNotFoundError, backend.BackendError, RunError) as error:
        print(f"mnist_gan.py: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
