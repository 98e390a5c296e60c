"""pix2pix on MNIST (Isola et al. 2017): draw the digit inside its edge map, and the paper's L1 ablation.

    python examples/pix2pix.py                  # cGAN + 100·L1 and L1 alone, 2 epochs of 25,000 images each
    python examples/pix2pix.py --steps 100      # a quick look
    python examples/pix2pix.py --resume runs/pix2pix   # continue that run

The task is paired: each source is ``edge_map(digit)`` (minigan/tools/data/transforms.py: the one-pixel
outline around the strokes, a thresholded external morphological gradient), and its target is the digit.
Two variants train with the same loop, data and seed (minigan/gans/pix2pix.py):

    cgan+l1   the paper's objective, −log D(s, G(s)) + 100·‖y − G(s)‖₁, PatchGAN D on (s, image)
    l1        100·‖y − G(s)‖₁ alone: Table 1's "L1" row (D still trains beside it, and its D(s, G(s))
              shows how well a discriminator tells those outputs from real digits)

Writes, per variant, into --out/<variant>/ (default runs/pix2pix): figure_epoch_NNN.png (edge maps, G's
digits, the true digits: one test digit of each class per column), checkpoint.npz, training.png and
history.npz; then into --out: comparison.png (edge maps, L1, cGAN + L1, truth) and measurements.json.

Printed at the end, on the test digits, for each variant: the mean L1 distance to the true digit (pixels in
[0, 1]); how often the shipped classifier reads G's digit as the digit the edges came from; and the
sharpness, the mean gradient energy of G's digits over that of the true digits (1 is as sharp as real
ink; a blurred digit has less, minigan/tools/image_metrics.py).
"""

import os
import sys

import numpy

import minigan
from minigan.gans.pix2pix import L1_WEIGHT, build_pix2pix
from minigan.tools import plots, runs
from minigan.tools.cli import positive_float
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.data import edge_map, first_of_each_digit, load_mnist
from minigan.tools.image_metrics import gradient_energy, mean_absolute_error


VARIANTS = {"cgan+l1": True, "l1": False}  # name -> adversarial term on
DEFAULT_OUT = os.path.join("runs", "pix2pix")
OUTPUTS = ("measurements.json", "comparison.png")  # the run folder's own files, beside the variants' folders
SETTINGS = ("train_images", "batch_size", "width", "lr", "l1_weight", "seed")  # a run's settings, recorded and kept on --resume


def build_parser():
    p = runs.training_parser("pix2pix on MNIST with minigan (Isola et al. 2017): edge map → digit, cGAN + L1 against L1 alone.",
                             "Trains each of --variants in --out/<variant>/, then measures them on the test digits.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=25000, batch_size=64, width=32)
    p.add_argument("--l1-weight", type=positive_float, default=L1_WEIGHT, help="λ, the weight of the L1 term (eq. 4)")
    p.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for both networks (β₁ = 0.5)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS),
                   help="which variants to train and measure")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(build_parser(), argv)


def to_signed(images):
    """[0, 1] → [−1, 1], the range of G's tanh."""
    return images * numpy.float32(2) - numpy.float32(1)


def save_figure(gan, path, sources, digits):
    """Rows: the edge maps, G's digits, the true digits (all in [0, 1])."""
    outputs = runs.to_unit_range(gan.translate(to_signed(sources)), (-1.0, 1.0))
    plots.save_image_rows(path, [sources, outputs, digits])


def measure(outputs, digits, labels):
    classifier = shipped_classifier()
    return {"l1": float(mean_absolute_error(outputs, digits).mean()),
            "classifier": accuracy(classifier, outputs, labels),
            "sharpness": float(gradient_energy(outputs).mean() / gradient_energy(digits).mean())}


def run(args):
    run = runs.Run("pix2pix.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=args.variants)
    runs.check_image_task_memory(args)
    digits, _ = load_mnist(args.data, split="train", scale="sigmoid")          # (n, 28, 28, 1) in [0, 1]
    digits = runs.first_n(args, "--train-images", "training images", digits)
    sources, targets = to_signed(edge_map(digits)), to_signed(digits)            # edges in {−1, 1}, digits in [−1, 1]
    test_digits, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits, test_labels = runs.first_n(args, "--test-images", "test images", test_digits, test_labels)
    test_edges = edge_map(test_digits)
    shown = first_of_each_digit(test_labels)

    results, times = {}, {}
    for name in args.variants:
        minigan.seed(args.seed)
        gan = build_pix2pix(widths=(args.width, 2 * args.width), patch_widths=(args.width, 2 * args.width),
                            l1_weight=args.l1_weight, adversarial=VARIANTS[name], lr=args.lr, seed=args.seed)
        variant = run.variant(name).start(gan, sources, targets)
        history = variant.train(lambda path: save_figure(gan, path, test_edges[shown], test_digits[shown]), "figure_epoch_{epoch:03d}.png",
                                title=f"pix2pix on MNIST, {name}", what=name, step="iteration")
        times[name] = variant.seconds
        outputs = runs.to_unit_range(gan.translate(to_signed(test_edges)), (-1.0, 1.0))
        results[name] = {**measure(outputs, test_digits, test_labels), "seconds": round(times[name], 1),
                         "d_fake_last_100": float(numpy.mean(history["d_fake"][-100:])) if history["d_fake"] else float("nan")}
        results[name]["outputs"] = outputs[shown]

    figure_rows = [test_edges[shown]] + [results[name].pop("outputs") for name in ("l1", "cgan+l1") if name in results] + [test_digits[shown]]
    plots.save_image_rows(os.path.join(args.out, "comparison.png"), figure_rows)
    print(f"\non the first {len(test_digits)} test digits (edge map → digit; comparison.png: edges, "
          + ", ".join(name for name in ("l1", "cgan+l1") if name in results) + ", truth):")
    runs.write_measurements(results, [("L1 to truth", ("l1", ".4f")), ("classifier", ("classifier", ".2%")), ("sharpness", ("sharpness", ".3f")),
                     ("mean D(s,G(s)), last 100 it.", ("d_fake_last_100", ".3f")), ("train s", ("seconds", ".0f"))],
           args.out, extra={"test_images": len(test_digits), "true_digits_classifier": accuracy(shipped_classifier(), test_digits, test_labels)})
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("pix2pix.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
