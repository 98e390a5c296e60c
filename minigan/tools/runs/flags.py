"""The flags every training script takes, with one help text each, and telling a typed flag from a default.

    training_parser(...)         an ArgumentParser whose --help says what every run guarantees
    add_run_flags(parser, ...)   --epochs, --steps, --seed, --backend, --out, --overwrite, --resume, --data, --log-every
    add_image_task_flags(...)    --train-images, --test-images, --batch-size, --width of the image-to-image scripts,
                                 and check_image_task_memory(args): a --width and --batch-size that can fit in memory
    parse_flags(parser, argv)    parse_args, plus ``args.given``: the flags actually typed (only a typed flag
                                 can contradict a resumed checkpoint)
"""

import argparse
import math

from minigan.engine import backend
from minigan.tools.cli import positive_int, seed_value
from minigan.tools.runs.folders import check_memory

EXIT_STATUS_HELP = ("Exit status: 0 done; 2 a mistake in a flag, a file or a checkpoint (one line names it); "
                    "3 training diverged (the line names the step, the statistic and the last good checkpoint); "
                    "130 stopped by Ctrl-C.")
TRAINING_HELP = ("Ctrl-C finishes the iteration in progress, writes the checkpoint and history.npz and says how to "
                 "resume (a second Ctrl-C stops at once); a loss that is not finite stops the run.")
OUTPUT_HELP = ("--out must be a new or empty folder: a run never overwrites an earlier one unless asked, "
               "with --overwrite (which first removes that run's files){resume}.")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each flag's default, except a default of None: there the help text says what happens."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def training_parser(description, extra_help=""):
    """An ``ArgumentParser`` for a training script: its defaults shown, and an epilog that says what every
    run guarantees (a new or empty --out, Ctrl-C, the exit statuses)."""
    epilog = " ".join(part for part in (extra_help, OUTPUT_HELP.format(resume=", or continued with --resume"),
                                        TRAINING_HELP, EXIT_STATUS_HELP) if part)
    return argparse.ArgumentParser(description=description, formatter_class=HelpFormatter, epilog=epilog)


def add_run_flags(parser, out, epochs, settings, epochs_help="passes over the training images", seed_help=None,
                  log_every=50, variants=False, step="generator step"):
    """Add the flags of every training script to ``parser``, with this script's defaults.

    ``out``: the default --out; ``epochs``: the default --epochs; ``settings``: the flags a checkpoint
    records and --resume keeps (named in --resume's help); ``variants``: the run trains several variants,
    one sub-folder each, and --resume takes the run's folder; ``step``: what --steps and --log-every count.
    """
    each = "each variant " if variants else ""
    parser.add_argument("--epochs", type=positive_int, default=epochs, help=f"{epochs_help} (with --resume: the run's own, unless given)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help=f"stop {each}after this many {step}s in all (a cap for quick runs; default: none); the checkpoint "
                             f"then records the step, and --resume continues from it")
    parser.add_argument("--seed", type=seed_value, default=0, help=seed_help or "fixes the initial weights, the noise and the data order")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    where = ", one sub-folder per variant" if variants else ""
    parser.add_argument("--out", default=None, help=f"output folder, new or empty{where} (default: {out}, or with --resume the run's folder)")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing that run's files")
    kept = ", ".join("--" + name.replace("_", "-") for name in settings)
    what = ("an earlier run: its --out folder (or a variant's checkpoint.npz in it); each variant goes on from the very step its "
            "checkpoint recorded; a finished one is only measured" if variants else
            "the run of a checkpoint.npz (or of the folder holding it) from the very step it stopped at")
    parser.add_argument("--resume", metavar="RUN" if variants else "CHECKPOINT", default=None,
                        help=f"continue {what}; {kept} and --data come from it (typing one with another value is an error)")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="your own mnist.npz or a folder of the four IDX .gz files (default: the copy shipped with minigan)")
    parser.add_argument("--log-every", type=positive_int, default=log_every, help=f"print a progress line every this many {step}s")


def parse_flags(parser, argv=None):
    """``parser.parse_args(argv)``, plus ``args.given``: the names (dests) of the flags actually typed.

    Resuming needs to tell "--lr 2e-4 typed" from "--lr left at its default": only a typed flag can
    contradict the checkpoint. argparse fills in a default only for a name the namespace does not hold
    yet, so every name starts as a marker, and the names still holding it afterwards were not typed.
    """
    unset = object()
    actions = [action for action in parser._actions  # _actions: every flag of the parser
               if action.dest != argparse.SUPPRESS and action.default != argparse.SUPPRESS]  # not --help
    args = parser.parse_args(argv, namespace=argparse.Namespace(**{action.dest: unset for action in actions}))
    args.given = {action.dest for action in actions if getattr(args, action.dest) is not unset}
    for action in actions:
        if getattr(args, action.dest) is unset:
            setattr(args, action.dest, action.default)
    return args


def flag_of(parser, dest):
    """The action behind ``args.<dest>`` and its flag as typed (``"--batch-size"``)."""
    action = next(action for action in parser._actions if action.dest == dest)
    return action, action.option_strings[0]


def add_image_task_flags(parser, out, settings, train_images, batch_size, width, epochs=2):
    """The flags of the image-to-image scripts (pix2pix.py, cyclegan.py, srgan.py): a run's, of several
    variants (``add_run_flags``), and the task's, with the script's defaults."""
    add_run_flags(parser, out, epochs=epochs, settings=settings, variants=True, step="iteration",
                  epochs_help="passes over the --train-images training images, for each variant",
                  seed_help="fixes the initial weights, dropout, the data order and the data split")
    parser.add_argument("--train-images", type=positive_int, default=train_images, help="how many of MNIST's 50,000 training images to use (the first N)")
    parser.add_argument("--test-images", type=positive_int, default=10000, help="how many of the 10,000 test images to measure on (the first N)")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size m")
    parser.add_argument("--width", type=positive_int, default=width, help="channels of the networks' first layer (the others are multiples of it)")


def check_image_task_memory(args):
    """Refuse, before anything is built, a --width or --batch-size whose networks cannot fit in memory.

    A lower bound, so that no run that fits is refused: one 4×4 convolution from --width to 2·--width
    channels, with its gradient and Adam's two moments (4 copies of 32·width² float32), and one layer's
    activations and their gradients on a minibatch of 28×28 images at --width channels."""
    weights = 4 * 4 * 32  # bytes per width²
    check_memory("--width", args.width, weights * args.width ** 2, "the weights of one 4×4 convolution from --width to twice "
                 "its channels, with their gradients and Adam's moments", lambda limit: math.isqrt(limit // weights))
    activations = 4 * 2 * 28 * 28 * args.width  # bytes per example
    check_memory("--batch-size", args.batch_size, activations * args.batch_size, f"one layer's activations and gradients at "
                 f"--width {args.width}", lambda limit: limit // activations)
