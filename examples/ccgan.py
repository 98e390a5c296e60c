"""Semi-supervised MNIST with a context-conditional GAN (Denton et al. 2016): D learns from 100 labels and from
telling 60,000 real digits from digits whose hole G has filled in.

    python examples/ccgan.py                                  # 100 labels, 20 epochs, 14 × 14 holes
    python examples/ccgan.py --low-resolution 4 --out runs/ccgan_lowres   # G also sees a 7 × 7 copy of the digit
    python examples/ccgan.py --steps 200 --out runs/quick_ccgan          # a quick look
    python examples/ccgan.py --resume runs/ccgan --epochs 30             # continue a run

A --hole × --hole square at a random place is cut out of a digit; G sees the rest (and where the hole is)
and draws the digit, of which only the hole is pasted back; D is a 10-class classifier whose logits also
say real or completed (the K + 1 trick), trained on the labelled images, on all 60,000 training images
and on the completed ones (minigan/gans/context_conditional.py). D, its recipe, the labelled subset and
the minibatches are examples/semi_supervised.py's, so the two runs differ only in their fakes and G's game,
and an epoch is the same pass over the 60,000 images (600 iterations of 100). After every epoch D's errors
on the 10,000 test images are counted, for D's weights and their moving average (β = 0.9999).

Writes into --out (default runs/ccgan):
    inpainting_epoch_NNN.png  after every epoch, for 20 test digits (two of each class) with fixed holes:
                              rows of the masked digits, their completions, the real digits (then again)
    checkpoint.npz            networks, optimisers, counters, history, D's weight average, test errors (atomic)
    test_error.png            the learning curve: test error (%) after every epoch
    training.png, history.npz losses and mean D(x), D(x_I) per iteration; the test errors of every epoch

and prints, before its LAST line (the test error of the final classifier), how often the shipped
classifier reads the 10,000 test digits right when masked, when completed by G and as they are. The run
itself (--out, --resume, Ctrl-C, errors) is minigan/tools/runs/harness.py's.
"""

import os
import sys

import minigan
import semi_supervised
from minigan.gans.context_conditional import HOLE, build_context_conditional_gan
from minigan.tools import plots, runs
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.cli import positive_int
from minigan.tools.data import first_of_each_digit, mask_holes

DEFAULT_OUT = os.path.join("runs", "ccgan")
OUTPUTS = ("inpainting_epoch_*.png", "test_error.png")  # beside the run's record: what --overwrite removes
SETTINGS = ("labels", "batch_size", "lr", "adam_eps", "unlabelled_weight", "hole", "low_resolution", "seed")  # kept on --resume
FIGURE_STREAM, MEASURE_STREAM = 0, 1  # the side streams (runs.side_rng) of the figure's holes and the final measurement's


def train(args):
    run = runs.Run("ccgan.py", args, parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, fixed={"model": "ccgan"})
    data = semi_supervised.load_data(args)
    minigan.seed(args.seed)
    gan = build_context_conditional_gan(data.init_images, seed=args.seed, lr=args.lr, unlabelled_weight=args.unlabelled_weight,
                                        adam_eps=args.adam_eps, hole=args.hole, low_resolution=args.low_resolution)
    average = semi_supervised.start(run, gan, data)
    shown = first_of_each_digit(data.test_labels, per_digit=2).reshape(10, 2).T.ravel()  # 0 … 9, then 0 … 9 again
    digits = data.test_images[shown]
    holes = gan.sample_noise(len(shown), rng=runs.side_rng(args.seed, FIGURE_STREAM)).numpy()

    def figure(path):  # per ten digits: a row masked, a row completed, a row real
        rows = [mask_holes(digits, holes), gan.complete(digits, holes), digits]
        plots.save_image_rows(path, [part[half] for half in (slice(0, 10), slice(10, 20)) for part in rows])

    low = f", with a 1/{args.low_resolution} resolution copy" if args.low_resolution else ""
    run.train(figure, "inpainting_epoch_{epoch:03d}.png", title=f"CC-GAN, {args.labels} labels, {args.hole} × {args.hole} holes{low}",
              step="iteration", names=("D(x)", "D(x_I)"),
              what=f"training the CC-GAN with {args.labels} labels ({args.labels // semi_supervised.CLASSES} per digit), "
                   f"{args.hole} × {args.hole} holes{low}",
              before_checkpoint=semi_supervised.test_error_recorder(run, gan, average, data))
    read_completions(gan, data, args)
    semi_supervised.learning_curve(run, len(data.test_labels), "CC-GAN on MNIST", "test_error.png")


def read_completions(gan, data, args):
    """How often the shipped classifier reads the test digits right: masked (a hole at a random place each),
    completed by G, and as they are."""
    test = data.test_images
    holes = gan.sample_noise(len(test), rng=runs.side_rng(args.seed, MEASURE_STREAM)).numpy()
    classifier = shipped_classifier()
    read = {name: accuracy(classifier, images, data.test_labels)
            for name, images in (("masked", mask_holes(test, holes)), ("completed", gan.complete(test, holes)), ("real", test))}
    print(f"the shipped classifier reads {read['masked']:.2%} of the {len(test)} test digits with a {args.hole} × {args.hole} "
          f"hole, {read['completed']:.2%} once G has filled it, {read['real']:.2%} of the real digits", flush=True)


def parser():
    parser = runs.training_parser("Semi-supervised MNIST classification with a context-conditional GAN (Denton et al. 2016): "
                                  "G fills in a square hole, D classifies into the 10 digits and 'completed'.")
    semi_supervised.add_flags(parser, DEFAULT_OUT, SETTINGS)
    parser.add_argument("--hole", type=positive_int, default=HOLE, help="side of the square hole, at a random place in each fake (at most 28)")
    parser.add_argument("--low-resolution", metavar="F", type=int, choices=(0, 2, 4, 7, 14), default=0,
                        help="also give G the whole digit at 1/F of its resolution (4: 7 × 7), the paper's low-resolution "
                             "conditioning for large holes; 0: none")
    return parser


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    args = semi_supervised.parse_args(argv, parser)
    if args.hole > 28:
        parser().error(f"--hole: expected an int in [1, 28] (the digits are 28 × 28), got {args.hole}")
    return args


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("ccgan.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
