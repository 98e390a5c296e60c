"""Semi-supervised MNIST with a GAN (Salimans et al. 2016, §5): a classifier from 100 labels and 60,000 images.

    python examples/semi_supervised.py --labels 100            # 10 labels per digit, chosen by --seed
    python examples/semi_supervised.py --labels 20 --epochs 50 --out runs/semi_supervised_20
    python examples/semi_supervised.py --labels 100 --unlabelled-weight 0 --out runs/labels_only   # the same D from the labels alone
    python examples/semi_supervised.py --resume runs/semi_supervised/checkpoint.npz --epochs 60

The discriminator is a 10-class classifier whose logits also say real or fake (the K + 1 trick), trained
on ``--labels`` labelled images, all 60,000 training images unlabelled, and the generator's fakes; the
generator is trained by feature matching (see minigan/gans/semi_supervised.py). An epoch is one pass over
the 60,000 unlabelled images (600 iterations of 100 by default). After every epoch the classifier's errors on the
10,000 test images are counted (D in eval mode: no noise), for D's weights as they are and for their
exponential moving average (β = 0.9999), on which the released code measured its test error; the average
starts from D's initial weights here (the released code's started from zero).

Writes into --out (default runs/semi_supervised):
    samples_epoch_NNN.png   G's samples for a fixed noise after every epoch (feature matching draws
                            digit-like strokes rather than clean digits: it is trained to help D, not to fool it)
    checkpoint.npz          networks, optimisers, counters, history, D's weight average and the test errors
                            so far, after every epoch (atomic)
    test_error.png          the learning curve: test error (%) after every epoch, the paper's figure dashed
    training.png            losses and mean D(x), D(G(z)) per iteration; history.npz the same as arrays, with
                            the test errors of every epoch (test_errors, averaged_test_errors)
    samples.npy             --samples samples of G, float32 in [0, 1], (n, 28, 28), for ``python -m minigan.tools.evaluate``

and prints, as its LAST line, the test error of the final classifier. The run itself (--out, --resume,
Ctrl-C, errors) is minigan/tools/runs/harness.py's.
"""

import os
import sys
import time
from typing import NamedTuple

import numpy

import minigan
from minigan.gans.averaging import WeightAverage
from minigan.gans.semi_supervised import ADAM_EPS, CLASSES, SemiSupervisedLoader, build_semi_supervised_gan, choose_labelled
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_float, non_negative_int, positive_float, positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import FileFormatError

PAPER_ERRORS = {20: (1677, 452), 50: (221, 136), 100: (93, 6.5), 200: (90, 4.2)}  # Salimans et al. 2016, Table 1: errors of 10,000 ± std
INIT_IMAGES = 500  # the data-dependent initialisation's minibatch (the released code's trainx[:500])
AVERAGE_BETA = 0.9999  # the released code tests an average of D's weights, a ← a + 0.0001 (θ − a)
GRID_STREAM, SAMPLES_STREAM = 0, 1  # the side streams (runs.side_rng) of the grid's noise and of the final samples'
CURVES = ("curve_epochs", "test_errors", "averaged_test_errors")  # per epoch, kept in the history beside the per-step statistics
DEFAULT_OUT = os.path.join("runs", "semi_supervised")
OUTPUTS = ("samples_epoch_*.png", "test_error.png", "samples.npy")  # beside the run's record: what --overwrite removes
SETTINGS = ("labels", "batch_size", "lr", "adam_eps", "unlabelled_weight", "seed")  # kept on --resume


def train(args):
    run = runs.Run("semi_supervised.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, fixed={"model": "semi-supervised"})
    runs.check_sample_budget("--samples", args.samples, 28 * 28 * 4, "the final samples", folder=run.out)
    data = load_data(args)
    minigan.seed(args.seed)
    gan = build_semi_supervised_gan(data.init_images, seed=args.seed, lr=args.lr, unlabelled_weight=args.unlabelled_weight,
                                    adam_eps=args.adam_eps)
    average = start(run, gan, data)
    grid_noise = gan.sample_noise(100, rng=runs.side_rng(args.seed, GRID_STREAM))

    def grid(path):
        plots.save_image_grid(path, gan.generate(grid_noise).numpy(), rows=10, value_range=(0.0, 1.0), zoom=3)

    run.train(grid, "samples_epoch_{epoch:03d}.png", title=f"semi-supervised GAN, {args.labels} labels", step="iteration",
              what=f"training the semi-supervised GAN with {args.labels} labels ({args.labels // CLASSES} per digit)",
              before_checkpoint=test_error_recorder(run, gan, average, data))
    rng = runs.side_rng(args.seed, SAMPLES_STREAM)
    runs.save_samples(os.path.join(run.out, "samples.npy"), args.samples, lambda m: gan.generate(gan.sample_noise(m, rng=rng)).numpy()[..., 0])
    learning_curve(run, len(data.test_labels), "semi-supervised GAN on MNIST", f"test_error.png and {args.samples} samples",
                   PAPER_ERRORS.get(args.labels), "Salimans et al. 2016")


# ----- what examples/ccgan.py shares: the data, D's average, the test errors and the learning curve -------------
class Data(NamedTuple):
    """The 60,000 training images and labels, the test split, the labelled rows and the initialisation minibatch."""

    images: object
    labels: object
    test_images: object
    test_labels: object
    chosen: object
    init_images: object


def load_data(args):
    """MNIST's 60,000 training images (all unlabelled; --labels of them labelled too, chosen by --seed), the
    10,000 test images, and the ``INIT_IMAGES`` of D's data-dependent initialisation, all in [0, 1]."""
    images, labels = load_mnist(args.data, split="all_train", scale="sigmoid")  # the 60,000 training images, [0, 1]
    test_images, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    try:
        chosen = choose_labelled(labels, args.labels // CLASSES, args.seed)
    except ValueError as error:
        raise runs.RunError(f"--labels {args.labels}: {error}") from None
    init_rows = numpy.random.default_rng([args.seed, 2**31 + 4]).permutation(len(images))[:INIT_IMAGES]
    return Data(images, labels, test_images, test_labels, chosen, images[init_rows])


def start(run, gan, data):
    """``run.start`` on the semi-supervised minibatches, with D's weight average (returned) and, resumed, the
    learning curves so far."""
    args = run.args
    average = WeightAverage(gan.discriminator, beta=AVERAGE_BETA)  # D's, on which the released code measured
    run.start(gan, data.images, data.labels, average=average,  # all 60,000 unlabelled, and the labelled few
              loader=lambda: SemiSupervisedLoader(data.images, data.images[data.chosen], data.labels[data.chosen], args.batch_size,
                                                  seed=args.seed))
    try:  # the learning curves go on where the checkpoint's stopped
        for key in CURVES:
            run.history[key] = [int(value) for value in run.state["history"][key]] if run.state is not None else []
    except KeyError as error:
        raise FileFormatError(f"--resume: {run.checkpoint!r} lacks this script's test errors ({error})") from None
    return average


def test_error_recorder(run, gan, average, data):
    """``before_checkpoint(epoch)``: D's test errors, and its weight average's, counted into the curves and printed."""
    history, started, n = run.history, time.perf_counter(), len(data.test_labels)

    def record(epoch):  # before the checkpoint, which keeps the curves
        errors = gan.test_errors(data.test_images, data.test_labels)
        with average.applied():
            averaged = gan.test_errors(data.test_images, data.test_labels)
        if history["curve_epochs"] and history["curve_epochs"][-1] == epoch:  # an epoch cut by Ctrl-C, now finished
            for key in CURVES:
                history[key].pop()
        for key, value in zip(CURVES, (epoch, errors, averaged)):
            history[key].append(value)
        print(f"epoch {epoch}: {errors} test errors of {n} ({errors / n:.2%}); "
              f"D's weight average: {averaged} ({averaged / n:.2%}); {time.perf_counter() - started:.0f} s so far", flush=True)

    return record


def learning_curve(run, n, title, wrote, paper=None, source=None):
    """test_error.png, a paper's figure dashed beside it (``paper``: its errors of 10,000 and their ±, reported by
    ``source``), a line saying what was ``wrote``, and the last line: the final test error."""
    args, history = run.args, run.history
    epochs, curve, averaged_curve = numpy.asarray(history["curve_epochs"]), *(numpy.asarray(history[key]) / n * 100 for key in CURVES[1:])
    references = {f"{source}, {args.labels} labels: {paper[0] / 100:.2f}%": paper[0] / 100} if paper else None
    plots.plot_curves(os.path.join(run.out, "test_error.png"),
                      {f"D, {args.labels} labels, seed {args.seed}": (epochs, curve), "D's weight average (β = 0.9999)": (epochs, averaged_curve)},
                      xlabel=f"epoch ({run.steps_per_epoch} iterations of {args.batch_size})", ylabel="test error (%)",
                      title=title, references=references, log_y=True)
    errors, averaged = history["test_errors"][-1], history["averaged_test_errors"][-1]
    quoted = f"; {source} report {paper[0]} ± {paper[1]} errors with {args.labels} labels" if paper else ""
    print(f"wrote {wrote}", flush=True)
    print(f"test error: {errors / n:.2%} ({errors} of {n}) with {args.labels} labels after {int(epochs[-1])} epochs "
          f"(D's weight average: {averaged / n:.2%}, {averaged} of {n}){quoted}")


def parser():
    parser = runs.training_parser("Semi-supervised MNIST classification with a GAN (Salimans et al. 2016): the K+1-class "
                                  "discriminator, feature matching, weight norm and Gaussian noise.")
    add_flags(parser, DEFAULT_OUT, SETTINGS)
    parser.add_argument("--samples", type=non_negative_int, default=10000, help="how many final samples of G to save in samples.npy")
    return parser


def add_flags(parser, out, settings, epochs=20):
    """The run's flags (``runs.add_run_flags``) and the semi-supervised setting's: --labels, --batch-size, --lr,
    --adam-eps, --unlabelled-weight."""
    runs.add_run_flags(parser, out, epochs=epochs, settings=settings, log_every=100, step="iteration",
                       epochs_help="passes over the 60,000 unlabelled images (the paper trained 300)",
                       seed_help="fixes the labelled subset, the initial weights, the noise and the data order")
    parser.add_argument("--labels", type=positive_int, default=100,
                        help="labelled training images, the same number of each digit (a multiple of 10), chosen by --seed")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="labelled, unlabelled and generated images per minibatch, each")
    parser.add_argument("--lr", type=positive_float, default=0.003, help="Adam learning rate for both networks (the paper's 0.003)")
    parser.add_argument("--adam-eps", type=positive_float, default=ADAM_EPS,
                        help="Adam's epsilon; the default approximates the released code's, which adds 1e-8 under the square root")
    parser.add_argument("--unlabelled-weight", type=non_negative_float, default=0.5,
                        help="weight of the unsupervised (real vs fake) loss; 0.5 as the released code; 0 trains D on the labels alone")


def parse_args(argv=None, make_parser=parser):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    flags = make_parser()
    args = runs.parse_flags(flags, argv)
    if args.labels % CLASSES:
        flags.error(f"--labels: expected a multiple of {CLASSES} (the same number of each digit), got {args.labels}")
    return args


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("semi_supervised.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
