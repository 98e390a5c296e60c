"""Image completion by searching a trained DCGAN's latent space (Yeh et al. 2017): fill in what is hidden of a digit.

    python examples/image_completion.py                      # the shipped DCGAN, 1,000 test digits, three masks
    python examples/image_completion.py --checkpoint runs/mnist_gan/checkpoint.npz   # your DCGAN (examples/mnist_gan.py)
    python examples/image_completion.py --digits 100 --steps 1500 --masks centre      # the paper's iterations, on fewer digits
    python examples/image_completion.py --context-encoder runs/context_encoder/rec+adv/checkpoint.npz   # and the context encoder

Nothing is trained here. For each test digit y with a hole, the search (minigan/tools/completion.py) moves
a noise vector z through the frozen G and D until G(z) matches y's known pixels (the contextual loss,
weighted towards the hole's edge) and D takes G(z) for real (the perceptual loss, weight --lam); the hole
is then filled with G(ẑ)'s pixels, and again with G(ẑ) Poisson-blended into it
(minigan/tools/poisson_blending.py). Every digit is searched at once, one batch.

The masks (--masks; minigan/tools/data/transforms.py), the paper's (§4) scaled to 28 × 28 digits:
    centre   the middle 14 × 14 square (a quarter of the image: the context encoder's hole)
    half     the left or the right half, one of the two at random for each digit
    random   80% of the pixels, a random set for each digit
Hidden pixels are shown as 0 (background), and they are what every number below is measured on.

Measured against, on the same digits and holes:
    masked          the hole left empty (0): what the context alone gives
    nearest nbr     the training digit (of the 50,000) closest to y on y's known pixels, pasted into the hole
    context enc.    the context encoder (examples/context_encoder.py), on the centre mask only (its one hole),
                    when --context-encoder names its checkpoint
Printed, and written to --out/measurements.json, for each mask: the mean L1 distance between the filled
hole and the truth (pixels in [0, 1], hidden pixels only) and how often the shipped classifier
(minigan/tools/classifier.py) reads the completed digit as its true label. --out (default
runs/image_completion) also gets completion_<mask>.png: rows masked, completed (G(ẑ) in the hole),
blended, truth; one test digit of each class per column. docs/image-completion.md has the measured numbers.
"""

import argparse
import os
import sys
import time
from typing import NamedTuple

import numpy

from minigan import backend
from minigan.gans.context_encoder import build_context_encoder
from minigan.gans.objectives import Standard
from minigan.tools import completion, plots
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.cli import non_negative_float, positive_float, positive_int, seed_value
from minigan.tools.data import HALF_SIDES, centre_box, first_of_each_digit, half_box, load_mnist, paste_centre, random_hidden
from minigan.tools.io import FileFormatError, load_checkpoint
from minigan.tools.poisson_blending import poisson_blend
from minigan.tools.runs import EXIT_STATUS_HELP, OUTPUT_HELP, RunError, check_output_folder, run_script, to_unit_range, write_measurements

from latent_space import load_generator  # a checkpoint of examples/mnist_gan.py, its averaged G if it has one

MASKS = ("centre", "half", "random")
DEFAULT_OUT = os.path.join("runs", "image_completion")
OUTPUTS = ("measurements.json", "completion_*.png")  # what --overwrite removes of an earlier run
STREAM_MASK, STREAM_NOISE = 0, 1                  # separate seeded streams: the holes, the starting z


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Image completion by latent search (Yeh et al. 2017) with a trained DCGAN, on MNIST test digits.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, epilog=OUTPUT_HELP.format(resume="") + " " + EXIT_STATUS_HELP)
    parser.add_argument("--checkpoint", default=None,
                        help="a checkpoint.npz of examples/mnist_gan.py --model dcgan (or its folder); default: the shipped DCGAN")
    parser.add_argument("--context-encoder", default=None, metavar="CHECKPOINT",
                        help="a checkpoint.npz of examples/context_encoder.py (e.g. runs/context_encoder/rec+adv/checkpoint.npz), "
                             "measured on the centre mask; default: left out")
    parser.add_argument("--digits", type=positive_int, default=1000, help="the first DIGITS test digits are completed")
    parser.add_argument("--steps", type=positive_int, default=300, help="Adam steps of the search (the paper's 1500)")
    parser.add_argument("--lam", type=non_negative_float, default=completion.PERCEPTUAL_WEIGHT, help="λ, the perceptual loss's weight")
    parser.add_argument("--lr", type=positive_float, default=completion.LEARNING_RATE, help="Adam's step size for z (the paper gives none)")
    parser.add_argument("--restarts", type=positive_int, default=1,
                        help="searches per digit from different starting z, the one ending with the lowest loss kept (the paper: 1)")
    parser.add_argument("--masks", nargs="+", choices=MASKS, default=list(MASKS), help="which holes to fill")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the random holes, the half chosen and the starting z")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder, new or empty")
    parser.add_argument("--overwrite", action="store_true", help="write into an --out that holds an earlier run, after removing its files")
    parser.add_argument("--log-every", type=positive_int, default=50, help="a progress line every N steps of the search")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    args = parser.parse_args(argv)
    args.masks = list(dict.fromkeys(args.masks))  # each once, in the order given
    return args


# ----- what is searched: G and D --------------------------------------------------------------------
class Networks(NamedTuple):
    """A trained DCGAN's G and D, its prior ("normal" or "uniform") and noise_dim, and where they came from."""

    generator: object
    discriminator: object
    prior: str
    noise_dim: int
    source: str


def trained_dcgan(checkpoint):
    """The ``Networks`` of ``checkpoint`` (a run of examples/mnist_gan.py --model dcgan), else the shipped DCGAN's."""
    if checkpoint is None:
        try:
            from minigan.tools import pretrained
        except ImportError:
            raise RunError("this copy of minigan ships no trained DCGAN (minigan.tools.pretrained); train one with "
                           "python examples/mnist_gan.py (DCGAN, 5 epochs) and pass --checkpoint runs/mnist_gan/checkpoint.npz") from None
        try:
            model = pretrained.load("dcgan")
        except pretrained.PretrainedError as error:  # a missing or altered weights file: one line, and the way round it
            raise RunError(f"{error}; or pass --checkpoint with a run of python examples/mnist_gan.py") from None
        return Networks(model.generator, model.discriminator, model.entry.noise, model.entry.noise_dim,
                        f"the shipped DCGAN (minigan.tools.pretrained 'dcgan', made by {model.record['command']})")
    gan, model = load_generator(checkpoint)
    if model != "dcgan" or type(gan.objective) is not Standard:  # a critic's or a least-squares D is no probability
        raise RunError(f"--checkpoint {checkpoint!r} holds a {model} GAN with the objective {gan.objective!r}; the search needs a "
                       f"DCGAN whose D is a probability (log(1 − D(G(z))) is the perceptual loss), one of "
                       f"python examples/mnist_gan.py --model dcgan --objective standard")
    return Networks(gan.generator, gan.discriminator, gan.noise, gan.noise_dim, f"{checkpoint} (iteration {gan.iteration})")


def checkpoint_file(path):
    return os.path.join(path, "checkpoint.npz") if os.path.isdir(path) else path


def trained_context_encoder(path):
    """The context encoder of ``path`` (a checkpoint of examples/context_encoder.py), or None without one."""
    if path is None:
        return None
    path = checkpoint_file(path)
    if not os.path.isfile(path):
        raise RunError(f"--context-encoder: no checkpoint at {path!r}; make one with python examples/context_encoder.py "
                       f"--variants rec+adv (it writes runs/context_encoder/rec+adv/checkpoint.npz)")
    try:
        state, metadata = load_checkpoint(path)
        config = metadata["config"]
        gan = build_context_encoder(width=int(config["width"]))
        gan.load_state_dict(state["gan"])
    except FileFormatError as error:
        raise FileFormatError(f"--context-encoder: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise FileFormatError(f"--context-encoder: {path!r} is not a checkpoint of examples/context_encoder.py "
                              f"({error.args[0] if error.args else error!r})") from None
    return gan


# ----- the holes ------------------------------------------------------------------------------------
def hidden_pixels(mask, count, seed):
    """M̂ (count, 28, 28, 1), NumPy bool, True on the hidden pixels of each digit, for ``mask`` in MASKS."""
    rng = numpy.random.default_rng([seed, STREAM_MASK, MASKS.index(mask)])
    hidden = numpy.zeros((count, 28, 28, 1), bool)
    if mask == "centre":
        rows, columns = centre_box(28, 28)
        hidden[:, rows, columns] = True
    elif mask == "half":
        right = rng.random(count) < 0.5                                 # (count,): which half each digit loses
        for side, chosen in zip(HALF_SIDES, (~right, right)):
            rows, columns = half_box(28, 28, side)
            hidden[chosen, rows, columns] = True
    else:
        hidden = random_hidden(count, 28, 28, seed=rng.integers(2**31))
    return hidden


# ----- the measurements -----------------------------------------------------------------------------
def measure(filled, digits, labels, hidden):
    """L1 on the hidden pixels and the classifier's accuracy, for completed digits ``filled`` in [0, 1]."""
    return {"l1": float(numpy.abs(filled - digits)[hidden].mean()), "classifier": accuracy(shipped_classifier(), filled, labels)}


def complete_one_mask(mask, networks, digits, labels, training, context_encoder, args, log):
    """Every method on one mask: ({method: measurements}, the figure's rows masked, completed, blended)."""
    xp = backend.get_backend().xp
    hidden = hidden_pixels(mask, len(digits), args.seed)
    known = ~hidden
    masked = numpy.where(hidden, numpy.float32(0), digits)                    # (n, 28, 28, 1) in [0, 1]
    results = {"masked (hole = 0)": measure(masked, digits, labels, hidden)}

    started = time.process_time()
    nearest, _ = completion.nearest_neighbour_fill(masked, known, training)
    results["nearest neighbour"] = {**measure(nearest, digits, labels, hidden), "cpu_s": time.process_time() - started}

    if context_encoder is not None and mask == "centre":
        fills = to_unit_range(context_encoder.translate(masked * 2 - 1), (-1.0, 1.0))   # F(s): [−1, 1] → [0, 1]
        results["context encoder"] = measure(paste_centre(masked, fills), digits, labels, hidden)

    n, k = len(digits), args.restarts
    log(f"\nmask {mask}: {int(hidden[0].sum())} of 784 pixels hidden; searching the latent space of {n} digits at once"
        f"{f' from {k} starting points each' if k > 1 else ''}, {args.steps} steps, λ {args.lam:g}, Adam lr {args.lr:g}, "
        f"z kept on the {networks.prior} prior's support")
    rng = numpy.random.default_rng([args.seed, STREAM_NOISE])
    shape = (k * n, networks.noise_dim)                                        # restart r of digit i is row r·n + i
    start = rng.standard_normal(shape) if networks.prior == "normal" else rng.uniform(-1, 1, shape)
    started = time.process_time()
    found = completion.search_latent(networks.generator, networks.discriminator, xp.asarray(numpy.tile(digits * 2 - 1, (k, 1, 1, 1))),
                                     xp.asarray(numpy.tile(known, (k, 1, 1, 1))), xp.asarray(start.astype(numpy.float32)),
                                     steps=args.steps, weight=args.lam, lr=args.lr, prior=networks.prior, log=log, log_every=args.log_every)
    seconds = time.process_time() - started
    loss = backend.to_numpy(found.contextual + found.perceptual).reshape(k, n)
    best = loss.argmin(axis=0) * n + numpy.arange(n)                          # (n,): each digit's best restart
    generated = to_unit_range(backend.to_numpy(found.generated)[best], (-1.0, 1.0))   # G(ẑ) in [0, 1]
    pasted = completion.completed(masked, known, generated)
    blended = numpy.clip(poisson_blend(masked, generated, known), 0, 1)       # the blend can overshoot [0, 1] a little
    results["latent search"] = {**measure(pasted, digits, labels, hidden), "cpu_s": seconds,
                                "contextual_loss": float(backend.to_numpy(found.contextual)[best].mean()),
                                "search_loss": float(loss.min(axis=0).mean())}
    results["latent search + blending"] = measure(blended, digits, labels, hidden)
    for method, values in results.items():
        log(f"  {method:<26} L1 on the hidden pixels {values['l1']:.4f}   read as the true digit {values['classifier']:.1%}")
    return results, (masked, pasted, blended)


def run(args, log=print):
    if args.backend:
        backend.set_backend(args.backend)
    output = check_output_folder(args.out, overwrite=args.overwrite, outputs=OUTPUTS, log=log)
    networks = trained_dcgan(args.checkpoint)
    context_encoder = trained_context_encoder(args.context_encoder)
    digits, labels = load_mnist(split="test", scale="sigmoid")
    if args.digits > len(digits):
        raise RunError(f"--digits {args.digits}: the test set has {len(digits)} digits; use at most --digits {len(digits)}")
    digits, labels = digits[: args.digits], labels[: args.digits]
    training, _ = load_mnist(split="train", scale="sigmoid")                  # the nearest neighbour's candidates
    output.clear()
    truth = accuracy(shipped_classifier(), digits, labels)
    log(f"G and D: {networks.source}; the first {len(digits)} test digits (the classifier reads {truth:.1%} of them right "
        f"whole); writing to {args.out}")
    shown = first_of_each_digit(labels) if len(set(labels.tolist())) == 10 else numpy.arange(min(10, len(labels)))
    rows = {}
    for mask in args.masks:
        results, figure_rows = complete_one_mask(mask, networks, digits, labels, training, context_encoder, args, log)
        figure = os.path.join(args.out, f"completion_{mask}.png")
        plots.save_image_rows(figure, [row[shown] for row in figure_rows] + [digits[shown]])
        log(f"  wrote {figure} (rows: masked, completed, blended, truth)")
        rows.update({f"{mask}: {method}": values for method, values in results.items()})
    log(f"\n{len(digits)} test digits, {args.steps} step{'s' * (args.steps != 1)} of the search (L1 in [0, 1] units on the hidden pixels; classifier: "
        f"read as the true digit):")
    write_measurements(rows, [("L1 hidden", ("l1", ".4f")), ("classifier", ("classifier", ".1%")), ("CPU s", ("cpu_s", ".0f"))],
                       args.out, extra={"digits": len(digits), "steps": args.steps, "lam": args.lam, "lr": args.lr, "seed": args.seed,
                                        "restarts": args.restarts,
                                        "source": networks.source, "true_digits_classifier": truth})
    return rows


def main(argv=None):
    args = parse_args(argv)
    return run_script("image_completion.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
