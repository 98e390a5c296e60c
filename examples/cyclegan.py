"""CycleGAN on MNIST (Zhu et al. 2017): thin strokes ↔ thick strokes, learned from unpaired halves.

    python examples/cyclegan.py                 # CycleGAN, and the "GAN alone" ablation (no cycle, no identity loss)
    python examples/cyclegan.py --steps 100     # a quick look
    python examples/cyclegan.py --resume runs/cyclegan   # continue that run

The two domains (minigan/tools/data/transforms.py, ``unpaired_thin_thick``): the training images are split by
a seeded permutation into two disjoint halves; X is the first half thinned (erosion by the 2×2 square), Y
the second half thickened (dilation by it). No image of X has its partner in Y, so nothing but the
objective (minigan/gans/cyclegan.py) can tell G: X → Y which thick digit an x should become. Variants:

    cyclegan     least-squares GAN losses both ways + 10·cycle + 5·identity (eq. 3 with §5.2's identity loss)
    gan-alone    the least-squares GAN losses only: the paper's Table 4 "GAN alone" row
    no-identity  eq. 3 without the identity loss (not run by default: ``--variants no-identity``)

Writes, per variant, into --out/<variant>/ (default runs/cyclegan): figure_epoch_NNN.png (the paper's
layout: rows x, G(x), F(G(x)), then y, F(y), G(F(y)), one test digit of each class per column),
checkpoint.npz, training.png and history.npz; then --out/measurements.json.

Measured at the end on the test digits, each thinned (for G) and thickened (for F): how often the digit
survives the translation (the shipped classifier reads G(x) as x's digit; and read negated, 1 − G(x), for a
translation that draws the digit dark on light), the translated stroke width
(``image_metrics.stroke_width``, on pixels ≥ 0.5) against the target domain's — their medians and the
1-D Wasserstein distance between the two distributions, and how many outputs have no pixel ≥ 0.5 at all
(faint images, which have no width) —, the L1 distance to the true partner (the same test digit
thickened: the pairing training never saw), and the cycle error |F(G(x)) − x|. The untranslated input is
the baseline row.
"""

import os
import sys
import time
import types

import numpy

import minigan
from minigan.gans.cyclegan import CYCLE_WEIGHT, IDENTITY_WEIGHT, build_cyclegan
from minigan.tools import plots, runs
from minigan.tools.cli import positive_float, positive_int
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.data import first_of_each_digit, load_mnist, thicken, thin, unpaired_thin_thick
from minigan.tools.image_metrics import mean_absolute_error, stroke_width


VARIANTS = {"cyclegan": (True, True), "no-identity": (True, False), "gan-alone": (False, False)}  # name -> (cycle loss, identity loss)
DEFAULT_OUT = os.path.join("runs", "cyclegan")
OUTPUTS = ("measurements.json",)  # the run folder's own file, beside the variants' folders
SETTINGS = ("train_images", "batch_size", "width", "blocks", "lr", "cycle_weight", "identity_weight", "seed")


def build_parser():
    p = runs.training_parser("CycleGAN on MNIST with minigan (Zhu et al. 2017): thin ↔ thick strokes from unpaired halves of the data.",
                             "Trains each of --variants in --out/<variant>/, then measures them on the test digits.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=9600, batch_size=16, width=8)
    p.add_argument("--blocks", type=positive_int, default=2, help="residual blocks in each generator")
    p.add_argument("--cycle-weight", type=positive_float, default=CYCLE_WEIGHT, help="λ, the weight of the cycle loss (eq. 3)")
    p.add_argument("--identity-weight", type=float, default=IDENTITY_WEIGHT, help="the identity loss's weight as a fraction of λ (§5.2; 0 leaves it out)")
    p.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate for all four networks (β₁ = 0.5)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["cyclegan", "gan-alone"], help="which variants to train and measure")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    p = build_parser()
    args = runs.parse_flags(p, argv)
    if not args.identity_weight >= 0:
        p.error(f"argument --identity-weight: expected a number ≥ 0, got {args.identity_weight}")
    return args


def to_signed(images):
    return images * numpy.float32(2) - numpy.float32(1)


def translations(gan, thin_images, thick_images):
    """G(x), F(G(x)), F(y), G(F(y)) for images in [0, 1], each in [0, 1]."""
    forward, backward = gan.generator.g, gan.generator.f
    unit = lambda images: runs.to_unit_range(images, (-1.0, 1.0))
    g_x = gan.translate(to_signed(thin_images), forward)
    f_y = gan.translate(to_signed(thick_images), backward)
    return {"G(x)": unit(g_x), "F(G(x))": unit(gan.translate(g_x, backward)),
            "F(y)": unit(f_y), "G(F(y))": unit(gan.translate(f_y, forward))}


def save_figure(gan, path, thin_images, thick_images):
    made = translations(gan, thin_images, thick_images)
    rows = [thin_images, made["G(x)"], made["F(G(x))"], thick_images, made["F(y)"], made["G(F(y))"]]
    plots.save_image_rows(path, rows)


def wasserstein_1d(a, b):
    """W₁ between two samples of widths: the mean |quantile difference| over 200 evenly spaced quantiles (NaNs, empty images, left out)."""
    a, b = a[~numpy.isnan(a)], b[~numpy.isnan(b)]
    if not (a.size and b.size):
        return float("nan")  # every output faint: no widths to compare
    q = numpy.linspace(0, 1, 200)
    return float(numpy.abs(numpy.quantile(a, q) - numpy.quantile(b, q)).mean())


def measure(outputs, partners, target_widths, labels, reconstructed=None, inputs=None):
    widths = stroke_width(outputs)
    row = {"classifier": accuracy(shipped_classifier(), outputs, labels),
           "classifier_negated": accuracy(shipped_classifier(), 1 - outputs, labels),  # a digit drawn dark on light
           "no_ink": float(numpy.isnan(widths).mean()),
           "width": float(numpy.nanmedian(widths)) if not numpy.isnan(widths).all() else float("nan"),
           "width_w1": wasserstein_1d(widths, target_widths), "l1_partner": float(mean_absolute_error(outputs, partners).mean())}
    if reconstructed is not None:
        row["cycle"] = float(mean_absolute_error(reconstructed, inputs).mean())
    return row


def build_variant(args, name):
    """The CycleGAN of variant ``name`` (a key of ``VARIANTS``) with the run's settings, seeded by --seed."""
    cycle, identity = VARIANTS[name]
    minigan.seed(args.seed)
    return build_cyclegan(width=args.width, blocks=args.blocks, patch_widths=(2 * args.width, 4 * args.width),
                          cycle_weight=args.cycle_weight if cycle else 0.0, identity_weight=args.identity_weight if identity else 0.0,
                          lr=args.lr, seed=args.seed)


def load_task(args):
    """The task: the two unpaired training domains X, Y in [−1, 1], and the test digits thinned and thickened in [0, 1]
    with what the measurements compare them with. Also examples/dualgan.py's."""
    digits, _ = load_mnist(args.data, split="train", scale="sigmoid")
    digits = runs.first_n(args, "--train-images", "training images", digits)
    split = unpaired_thin_thick(digits, seed=args.seed)                           # two disjoint halves
    test_digits, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits, test_labels = runs.first_n(args, "--test-images", "test images", test_digits, test_labels)
    test_thin, test_thick = thin(test_digits), thicken(test_digits)              # each test digit in both domains
    return types.SimpleNamespace(split=split, sources=to_signed(split.thin), targets=to_signed(split.thick),  # X, Y in [−1, 1]
                                 thin=test_thin, thick=test_thick, labels=test_labels, shown=first_of_each_digit(test_labels),
                                 thin_widths=stroke_width(test_thin), thick_widths=stroke_width(test_thick))


def untranslated(task):
    """The baseline rows: each test digit's input as it is, measured against its target domain."""
    return {"no translation, X → Y": measure(task.thin, task.thick, task.thick_widths, task.labels),
            "no translation, Y → X": measure(task.thick, task.thin, task.thin_widths, task.labels)}


def train_and_measure(run, name, gan, task, title, critic=False):
    """Train variant ``name``'s ``gan`` in its folder of ``run`` (a figure every epoch), then its two rows of the table."""
    variant = run.variant(name).start(gan, task.sources, task.targets)
    cpu = time.process_time()  # the process's CPU time: on a shared machine the wall time says little
    variant.train(lambda path: save_figure(gan, path, task.thin[task.shown], task.thick[task.shown]), "figure_epoch_{epoch:03d}.png",
                  title=title, what=name, step="iteration", critic=critic)
    cpu = time.process_time() - cpu
    made = translations(gan, task.thin, task.thick)
    return {f"{name}, X → Y": {**measure(made["G(x)"], task.thick, task.thick_widths, task.labels, made["F(G(x))"], task.thin),
                               "seconds": round(variant.seconds, 1), "cpu_seconds": round(cpu, 1)},
            f"{name}, Y → X": measure(made["F(y)"], task.thin, task.thin_widths, task.labels, made["G(F(y))"], task.thick)}


def write_table(results, task, out):
    """Print the table of ``results`` and write it to ``out``/measurements.json."""
    thick_median, thin_median = float(numpy.nanmedian(task.thick_widths)), float(numpy.nanmedian(task.thin_widths))
    print(f"\non the first {len(task.labels)} test digits, thinned (x, domain X) and thickened (y, domain Y); the target "
          f"domain's median stroke width is {thick_median:.2f} px for Y and {thin_median:.2f} px for X:")
    runs.write_measurements(results, [("digit survives", ("classifier", ".2%")), ("negated", ("classifier_negated", ".2%")),
                     ("no ink ≥ 0.5", ("no_ink", ".1%")), ("median width", ("width", ".2f")),
                     ("W1 to target widths", ("width_w1", ".3f")), ("L1 to partner", ("l1_partner", ".4f")),
                     ("cycle error", ("cycle", ".4f")), ("train s", ("seconds", ".0f")), ("train CPU s", ("cpu_seconds", ".0f"))],
           out, extra={"test_images": len(task.labels), "thick_median_width": thick_median, "thin_median_width": thin_median,
                       "train_rows_disjoint": not set(task.split.thin_rows.tolist()) & set(task.split.thick_rows.tolist())})


def run(args):
    run = runs.Run("cyclegan.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=args.variants)
    runs.check_image_task_memory(args)
    task = load_task(args)
    results = untranslated(task)
    for name in args.variants:
        results.update(train_and_measure(run, name, build_variant(args, name), task, f"CycleGAN on MNIST, {name}"))
    write_table(results, task, args.out)
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("cyclegan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
