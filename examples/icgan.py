"""IcGAN on MNIST (Perarnau et al. 2016): encoders that invert the shipped conditional GAN, used to redraw a
test digit as another digit in the same handwriting.

    python examples/icgan.py                                  # the shipped conditional GAN; about a minute of CPU
    python examples/icgan.py --steps 500 --out runs/icgan_short
    python examples/icgan.py --checkpoint my_weights          # a folder holding conditional_gan.npz and SHA256SUMS

Trains, in memory, E_z on the fixed G's own samples (‖z − E_z(G(z, y))‖², z ~ U(−1, 1)^100) and E_y on
real labelled MNIST training digits (cross-entropy), as the paper's §3.2 does (minigan/tools/editing.py).
Then, for --test-digits test digits x with labels y, it prints (docs/image-editing.md explains them):

    E_y's accuracy; the reconstruction G(E_z(x), E_y(x)) read by the shipped classifier as y, and its L1 to x
    for k = 1..9 the edit G(E_z(x), (y + k) mod 10) read as (y + k) mod 10, beside G(random z, same label)
    style survival: correlation across digits of slant and of stroke width between x and its edits,
    beside the same correlation for G(random z, same new label), which keeps no style (the baseline)

and writes into --out (default runs/icgan; a new or empty folder, or --overwrite), atomically:

    edits.png          one row per test digit (the first --rows): the original, its reconstruction, then
                       G(E_z(x), y') for y' = 0..9
    measurements.npz   the printed numbers and the encoders' losses per step
"""

import argparse
import os
import sys
import time

import numpy

from minigan import backend
from minigan.tools import editing, pretrained
from minigan.tools.cli import positive_float, positive_int, seed_value
from minigan.tools.data.mnist import load_mnist
from minigan.tools.io import save_npz
from minigan.tools.plots import save_image_grid
from minigan.tools.runs import EXIT_STATUS_HELP, OUTPUT_HELP, RunError, check_output_folder, run_script

OUTPUTS = ("edits.png", "measurements.npz")  # what --overwrite removes
ZOOM = 3
TEST_SIZE = 10000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="IcGAN: encode a test digit into the conditional GAN's (z, y), then redraw it with every other label.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=OUTPUT_HELP.format(resume="") + " " + EXIT_STATUS_HELP,
    )
    parser.add_argument("--checkpoint", default=None,
                        help="a folder holding conditional_gan.npz and SHA256SUMS (export --into writes one); default: the shipped model")
    parser.add_argument("--out", default=os.path.join("runs", "icgan"), help="output directory, new or empty")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds earlier results, after removing them")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the encoders' initialisation, their training samples and the baseline's z")
    parser.add_argument("--steps", type=positive_int, default=3000, help="Adam steps for the encoders")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="G's samples and real digits per step")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's step size")
    parser.add_argument("--test-digits", type=positive_int, default=1000, help="the first N MNIST test digits measured")
    parser.add_argument("--rows", type=positive_int, default=8, help="test digits shown in edits.png")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    args = parser.parse_args(argv)
    if args.test_digits > TEST_SIZE:
        parser.error(f"argument --test-digits: expected at most {TEST_SIZE} (the MNIST test set), got {args.test_digits}")
    if args.rows > args.test_digits:
        parser.error(f"argument --rows: expected at most --test-digits ({args.test_digits}), got {args.rows}")
    return args


def figure(generator, encoders, images):
    """Rows of 12: x, G(E_z(x), E_y(x)), then G(E_z(x), y') for y' = 0..9."""
    z, predicted = editing.encode(encoders, images)
    n = len(images)
    reconstruction = editing.generate(generator, z, predicted)
    edits = editing.generate(generator, numpy.repeat(z, 10, axis=0), numpy.tile(numpy.arange(10), n))  # (10n, 28, 28, 1)
    rows = [numpy.concatenate([images[i : i + 1], reconstruction[i : i + 1], edits[10 * i : 10 * i + 10]]) for i in range(n)]
    return numpy.concatenate(rows)


def run(args, log=print):
    started = time.process_time()
    output = check_output_folder(args.out, overwrite=args.overwrite, outputs=OUTPUTS, log=log)
    try:
        model = pretrained.load("conditional_gan", backend=args.backend, weights=args.checkpoint)
    except pretrained.PretrainedError as error:
        raise RunError(f"--checkpoint: {error}") from None
    output.clear()
    noise_dim = model.entry.noise_dim
    train_images, train_labels = load_mnist(split="train", scale="sigmoid")
    test_images, test_labels = load_mnist(split="test", scale="sigmoid")
    test_images, test_labels = test_images[: args.test_digits], test_labels[: args.test_digits]
    log(f"training E_z (on G's samples) and E_y (on {len(train_images)} real digits): {args.steps} steps of {args.batch_size}")
    encoders, history = editing.train_encoders(model.generator, noise_dim, train_images, train_labels, steps=args.steps,
                                               batch_size=args.batch_size, lr=args.lr, seed=args.seed, log=log)
    if not numpy.all(numpy.isfinite(history)):
        raise RunError(f"the encoders' losses became NaN or infinite; try a smaller --lr (got {args.lr})")
    result = editing.measure_edits(model.generator, encoders, test_images, test_labels, noise_dim, seed=args.seed)
    success = numpy.array(result["edit_read_as_new_label"])
    log(f"on the first {args.test_digits} MNIST test digits:")
    log(f"  E_y(x) = y: {100 * result['encoder_y_accuracy']:.1f}%;  reconstruction G(E_z(x), E_y(x)) read as y: "
        f"{100 * result['reconstruction_read_as_label']:.1f}%, mean L1 to x {result['reconstruction_l1']:.3f}")
    log(f"  edit G(E_z(x), (y + k) mod 10) read as the new label: {100 * success.mean():.1f}% over k = 1..9 "
        f"(per k: {', '.join(f'{100 * s:.1f}' for s in success)}); G(random z, new label): "
        f"{100 * numpy.mean(result['random_read_as_new_label']):.1f}%")
    log(f"  style survival, correlation with x across digits (edit / baseline G(random z, new label)): "
        f"slant {result['slant_r_edit']:.3f} / {result['slant_r_random']:.3f}, "
        f"stroke width {result['width_r_edit']:.3f} / {result['width_r_random']:.3f}")
    path = os.path.join(args.out, "edits.png")
    save_image_grid(path, figure(model.generator, encoders, test_images[: args.rows]), rows=args.rows,
                    value_range=(0.0, 1.0), zoom=ZOOM)
    save_npz(os.path.join(args.out, "measurements.npz"), losses=history,
             **{key: numpy.asarray(value) for key, value in result.items()})
    log(f"wrote {path} and measurements.npz; {time.process_time() - started:.1f} CPU s")


def main(argv=None):
    args = parse_args(argv)
    return run_script("icgan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
