"""CoGAN on MNIST (Liu & Tuzel 2016, §4 "Digits"): pairs of images in two domains from one z, learnt without pairs.

    python examples/cogan.py --task edges       # task A: a digit and its edge map; cogan and unshared
    python examples/cogan.py --task negatives   # task B: a digit and its negative
    python examples/cogan.py --steps 50         # a quick look
    python examples/cogan.py --resume runs/cogan_edges   # continue that run

The two domains (as the paper's): the training images are split by a seeded permutation into two
disjoint halves; domain 1 is the first half as it is, domain 2 the second half made into edge maps
(``edge_map``, minigan/tools/data/transforms.py) or negatives (``negative``). No digit of domain 1 has
its partner in domain 2. Variants:

    cogan      G shares all but its last layer, D all but its first (minigan/gans/cogan.py)
    unshared   the same layers, nothing shared: two independent GANs trained side by side

Writes, per variant, into --out/<variant>/ (default runs/cogan_<task>): figure_epoch_NNN.png (rows in
threes: g₁(z), g₂(z), and g₁(z) put through the task's transform, one z per column, 20 z), checkpoint.npz,
training.png, history.npz; then --out/measurements.json.

Measured at the end, the paper's Table 1 figure: --test-images pairs (g₁(z), g₂(z)) from z drawn apart from
training (a side stream of --seed); g₁(z) is put through the known transform and compared pixel by pixel
with g₂(z), both thresholded at 0.5 (``image_metrics.pixel_agreement``); the mean over the pairs is the
pixel agreement ratio (Liu & Tuzel report 0.952 for task A and 0.967 for task B). The chance level beside
it: the same images with the pairs shuffled (g₂ of another z), and test digits against the transform of
other test digits. The shipped classifier's reading of g₁(z) says which digits G draws.
"""

import os
import sys

import numpy

import minigan
from minigan.gans.cogan import build_cogan
from minigan.tools import plots, runs
from minigan.tools.cli import positive_float
from minigan.tools.classifier import predict
from minigan.tools.data import edge_map, load_mnist, negative
from minigan.tools.image_metrics import pixel_agreement

TASKS = {"edges": edge_map, "negatives": negative}  # the paper's task A and task B: domain 2 = transform(digit)
PAPER = {"edges": 0.952, "negatives": 0.967}        # Liu & Tuzel 2016, Table 1, CoGAN
VARIANTS = {"cogan": True, "unshared": False}       # name -> share layers
OUTPUTS = ("measurements.json",)
SETTINGS = ("task", "train_images", "batch_size", "width", "lr", "seed")
FIGURE_STREAM, MEASURE_STREAM, SHUFFLE_STREAM = 0, 1, 2  # side streams (runs.side_rng): the figure's z, the measured z, the shuffles
FIGURE_COLUMNS, FIGURE_BLOCKS = 10, 2


def build_parser():
    p = runs.training_parser("CoGAN on MNIST with minigan (Liu & Tuzel 2016): a digit and its edge map, or its negative, from one z.",
                             "Trains each of --variants in --out/<variant>/, then measures the pairs' pixel agreement.")
    runs.add_image_task_flags(p, os.path.join("runs", "cogan_TASK"), SETTINGS, train_images=50000, batch_size=64, width=32, epochs=3)
    p.add_argument("--task", choices=sorted(TASKS), default="edges", help="domain 2: the digits' edge maps (task A) or negatives (task B)")
    p.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate of G and D (β₁ = 0.5)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["cogan", "unshared"], help="which variants to train and measure")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(build_parser(), argv)


def to_signed(images):
    return images * numpy.float32(2) - numpy.float32(1)


def unpaired_domains(digits, transform, seed):
    """(m, 28, 28, 2) in [−1, 1]: row i holds digit i of the first half and the transform of digit i of the second
    half of a seeded permutation (two disjoint halves: no pair of the joint distribution is in the data)."""
    order = numpy.random.default_rng(seed).permutation(len(digits))
    half = len(digits) // 2
    first, second = digits[numpy.sort(order[:half])], digits[numpy.sort(order[half:2 * half])]
    return to_signed(numpy.concatenate([first, transform(second)], axis=3))


def pairs(gan, noise):
    """g₁(z) and g₂(z) in [0, 1], each (m, 28, 28, 1), as NumPy arrays."""
    made = runs.to_unit_range(gan.generate(noise).numpy(), (-1.0, 1.0))
    return made[..., 0:1], made[..., 1:2]


def save_figure(gan, noise, transform, path):
    first, second = pairs(gan, noise)
    rows = []
    for block in range(FIGURE_BLOCKS):
        columns = slice(block * FIGURE_COLUMNS, (block + 1) * FIGURE_COLUMNS)
        rows += [first[columns], second[columns], transform(first[columns])]
    plots.save_image_rows(path, rows)


def measure(gan, transform, count, seed, batch=500):
    """The pixel agreement of (transform(g₁(z)), g₂(z)) over ``count`` z, and with the pairs shuffled (chance); how many
    digit classes the shipped classifier reads in ≥ 1% of the g₁(z), and the share of the commonest."""
    rng = runs.side_rng(seed, MEASURE_STREAM)
    plain, firsts, seconds = [], [], []
    for start in range(0, count, batch):
        first, second = pairs(gan, gan.sample_noise(min(batch, count - start), rng=rng))
        plain.append(first)
        firsts.append(transform(first))
        seconds.append(second)
    transformed, second = numpy.concatenate(firsts), numpy.concatenate(seconds)
    shuffled = numpy.random.default_rng([seed, SHUFFLE_STREAM]).permutation(count)
    read = numpy.bincount(predict(numpy.concatenate(plain)), minlength=10) / count  # the classifier's digits of g₁(z)
    return {"agreement": float(pixel_agreement(transformed, second).mean()),
            "agreement_shuffled": float(pixel_agreement(transformed, second[shuffled]).mean()),
            "digits": int((read >= 0.01).sum()), "commonest_digit": float(read.max())}


def run(args):
    default_out = os.path.join("runs", f"cogan_{args.task}")
    run = runs.Run("cogan.py", args, build_parser(), SETTINGS, OUTPUTS, default_out, variants=args.variants)
    runs.check_image_task_memory(args)
    transform = TASKS[args.task]
    digits, _ = load_mnist(args.data, split="train", scale="sigmoid")
    digits = runs.first_n(args, "--train-images", "training images", digits)
    joint = unpaired_domains(digits, transform, args.seed)                               # (n/2, 28, 28, 2)
    test_digits, _ = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits = runs.first_n(args, "--test-images", "test images", test_digits)
    others = numpy.random.default_rng([args.seed, SHUFFLE_STREAM]).permutation(len(test_digits))
    results = {"test digits, unrelated pairs": {"agreement": float(pixel_agreement(transform(test_digits), transform(test_digits[others])).mean())}}

    for name in args.variants:
        minigan.seed(args.seed)
        gan = build_cogan(width=args.width, share=VARIANTS[name], lr=args.lr, seed=args.seed)
        figure_noise = gan.sample_noise(FIGURE_COLUMNS * FIGURE_BLOCKS, rng=runs.side_rng(args.seed, FIGURE_STREAM))
        variant = run.variant(name).start(gan, joint)
        variant.train(lambda path: save_figure(gan, figure_noise, transform, path), "figure_epoch_{epoch:03d}.png",
                      title=f"CoGAN on MNIST, {args.task}, {name}", what=name, step="iteration")
        measured = measure(gan, transform, len(test_digits), args.seed)
        results[name] = {**measured, "seconds": round(variant.seconds, 1)}

    print(f"\npixel agreement of transform(g₁(z)) with g₂(z) over {len(test_digits)} z, both thresholded at 0.5 "
          f"(Liu & Tuzel 2016, Table 1: {PAPER[args.task]} for this task); 'shuffled' pairs g₂ of another z:")
    runs.write_measurements(results, [("agreement", ("agreement", ".4f")), ("shuffled", ("agreement_shuffled", ".4f")),
                                      ("digit classes", ("digits", "d")), ("commonest", ("commonest_digit", ".1%")),
                                      ("train s", ("seconds", ".0f"))],
                            args.out, extra={"task": args.task, "pairs": len(test_digits), "paper": PAPER[args.task]})
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("cogan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
