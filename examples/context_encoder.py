"""The context encoder on MNIST (Pathak et al. 2016): fill in the hidden centre of a digit, with and without D.

    python examples/context_encoder.py                   # rec + adv and rec alone, 3 epochs of 50,000 digits each
    python examples/context_encoder.py --steps 100       # a quick look
    python examples/context_encoder.py --resume runs/context_encoder   # continue that run

The task: the middle 14 × 14 of each 28 × 28 digit is hidden (set to 0, erased ink: ``mask_centre`` in
minigan/tools/data/transforms.py); an encoder-decoder F sees the rest, the context, and draws the hidden
square. Two variants train with the same loop, data and seed (minigan/gans/context_encoder.py):

    rec+adv   the paper's joint loss, 0.999·L_rec + 0.001·L_adv (§3.2, eq. 3), D judging centres
    rec       0.999·L_rec alone, the masked L2 (D still trains beside it, and its D(F(s)) shows how well a
              discriminator tells those fills from real centres)

Writes, per variant, into --out/<variant>/ (default runs/context_encoder): figure_epoch_NNN.png (the masked
digits, F's completions, the true digits: one test digit of each class per column), checkpoint.npz,
training.png and history.npz; then into --out: comparison.png (masked, rec, rec+adv, truth) and
measurements.json.

Printed at the end, on the test digits, for each variant and for the masked digits left empty: the mean
L1 distance between the fill and the hidden truth (pixels in [0, 1], over the hidden square only); the
sharpness, the mean gradient energy of the fills over that of the true centres (1 is as sharp as real
ink; a blurred fill has less, minigan/tools/image_metrics.py); and how often the shipped classifier reads
the completed digit as the digit it was.
"""

import os
import sys

import numpy

import minigan
from minigan.gans.context_encoder import ADVERSARIAL_WEIGHT, RECONSTRUCTION_WEIGHT, build_context_encoder
from minigan.tools import plots, runs
from minigan.tools.cli import positive_float
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.data import centre_of, first_of_each_digit, load_mnist, mask_centre, paste_centre
from minigan.tools.image_metrics import gradient_energy, mean_absolute_error

VARIANTS = {"rec+adv": True, "rec": False}  # name -> adversarial term on
DEFAULT_OUT = os.path.join("runs", "context_encoder")
OUTPUTS = ("measurements.json", "comparison.png")  # the run folder's own files, beside the variants' folders
SETTINGS = ("train_images", "batch_size", "width", "lr", "reconstruction_weight", "adversarial_weight", "seed")  # kept on --resume


def build_parser():
    p = runs.training_parser("The context encoder on MNIST with minigan (Pathak et al. 2016): fill in the hidden centre "
                             "of a digit, reconstruction + adversarial against reconstruction alone.",
                             "Trains each of --variants in --out/<variant>/, then measures them on the test digits.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=50000, batch_size=64, width=32, epochs=3)
    p.add_argument("--reconstruction-weight", type=positive_float, default=RECONSTRUCTION_WEIGHT, help="λ_rec of eq. 3")
    p.add_argument("--adversarial-weight", type=positive_float, default=ADVERSARIAL_WEIGHT, help="λ_adv of eq. 3 (variant rec+adv)")
    p.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for both networks (β₁ = 0.5)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS),
                   help="which variants to train and measure")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(build_parser(), argv)


def to_signed(images):
    """[0, 1] → [−1, 1], the range of F's tanh."""
    return images * numpy.float32(2) - numpy.float32(1)


def complete(gan, masked):
    """F's fills of ``masked`` digits (in [0, 1]) and the digits completed with them, both in [0, 1]."""
    fills = runs.to_unit_range(gan.translate(to_signed(masked)), (-1.0, 1.0))
    return fills, paste_centre(masked, fills)


def save_figure(gan, path, masked, digits):
    """Rows: the masked digits, F's completions, the true digits (all in [0, 1])."""
    plots.save_image_rows(path, [masked, complete(gan, masked)[1], digits])


def measure(fills, completed, digits, labels):
    truth = centre_of(digits)
    return {"l1": float(mean_absolute_error(fills, truth).mean()),
            "sharpness": float(gradient_energy(fills).mean() / gradient_energy(truth).mean()),
            "classifier": accuracy(shipped_classifier(), completed, labels)}


def run(args):
    run = runs.Run("context_encoder.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=args.variants)
    runs.check_image_task_memory(args)
    digits, _ = load_mnist(args.data, split="train", scale="sigmoid")          # (n, 28, 28, 1) in [0, 1]
    digits = runs.first_n(args, "--train-images", "training images", digits)
    sources, targets = to_signed(mask_centre(digits)), to_signed(centre_of(digits))  # the context; the hidden centre
    test_digits, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits, test_labels = runs.first_n(args, "--test-images", "test images", test_digits, test_labels)
    test_masked = mask_centre(test_digits)
    shown = first_of_each_digit(test_labels)

    results = {"masked (empty)": measure(centre_of(test_masked), test_masked, test_digits, test_labels)}
    completions = {}
    for name in args.variants:
        minigan.seed(args.seed)
        gan = build_context_encoder(width=args.width, adversarial=VARIANTS[name], reconstruction_weight=args.reconstruction_weight,
                                    adversarial_weight=args.adversarial_weight, lr=args.lr, seed=args.seed)
        variant = run.variant(name).start(gan, sources, targets)
        history = variant.train(lambda path: save_figure(gan, path, test_masked[shown], test_digits[shown]), "figure_epoch_{epoch:03d}.png",
                                title=f"context encoder on MNIST, {name}", what=name, step="iteration")
        fills, completed = complete(gan, test_masked)
        results[name] = {**measure(fills, completed, test_digits, test_labels), "seconds": round(variant.seconds, 1),
                         "d_fake_last_100": float(numpy.mean(history["d_fake"][-100:])) if history["d_fake"] else float("nan")}
        completions[name] = completed[shown]

    figure_rows = [test_masked[shown]] + [completions[name] for name in ("rec", "rec+adv") if name in completions] + [test_digits[shown]]
    plots.save_image_rows(os.path.join(args.out, "comparison.png"), figure_rows)
    print(f"\non the first {len(test_digits)} test digits, centre 14 × 14 hidden (comparison.png: masked, "
          + ", ".join(name for name in ("rec", "rec+adv") if name in completions) + ", truth):")
    runs.write_measurements(results, [("L1 hidden", ("l1", ".4f")), ("sharpness", ("sharpness", ".3f")), ("classifier", ("classifier", ".2%")),
                                      ("mean D(F(s)), last 100 it.", ("d_fake_last_100", ".3f")), ("train s", ("seconds", ".0f"))],
                            args.out, extra={"test_images": len(test_digits), "true_digits_classifier": accuracy(shipped_classifier(), test_digits, test_labels)})
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("context_encoder.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
