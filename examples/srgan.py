"""SRGAN on MNIST (Ledig et al. 2016): 4× super-resolution, 7×7 → 28×28 (or 2×, 14×14 → 28×28).

    python examples/srgan.py                    # the MSE-only network, SRGAN from it; bicubic for scale
    python examples/srgan.py --factor 2         # 14×14 → 28×28
    python examples/srgan.py --steps 100        # a quick look
    python examples/srgan.py --resume runs/srgan     # continue that run

Each training digit is box-averaged to 7×7 (``transforms.downsample``); G learns the 28×28 digit back.
Two variants train with the same loop and data (minigan/gans/srgan.py), in the paper's order (§3.2):

    mse     the pixel MSE alone: the paper's SRResNet (its D still trains beside it, and its D(G(I_LR))
            shows how easily a discriminator tells those outputs from real digits), for --epochs and
            then --srgan-epochs more
    srgan   MSE + 0.1 × the MSE of the shipped classifier's features (this task's VGG loss) + 10⁻³ × the
            adversarial loss, for --srgan-epochs, its G starting from the mse network's after --epochs
            ("to avoid undesired local optima", §3.2; that G is kept as mse/generator_epoch_NNN.npz)

So both Gs have made the same number of updates when they are compared: SRGAN's head start is the
MSE network's own first --epochs.

Writes, per variant, into --out/<variant>/ (default runs/srgan): figure_epoch_NNN.png (rows: the
low-resolution input, bicubic, G, the true digit; one test digit of each class per column),
checkpoint.npz, training.png and history.npz; then --out: comparison.png (input, bicubic, mse, srgan, truth)
and measurements.json.

Printed at the end, on the test digits, for bicubic interpolation (``transforms.bicubic_upsample``, Keys'
a = −0.5), the MSE network and SRGAN: PSNR in dB (pixels in [0, 1], the mean over images), how often the
shipped classifier reads the output as the true digit, and the sharpness (mean gradient energy over the
true digits'). The paper's claim: SRGAN's PSNR is lower than the MSE network's, its images sharper.
"""

import os
import sys

import numpy

import minigan
from minigan.gans.srgan import ADVERSARIAL_WEIGHT, FEATURE_WEIGHT, build_srgan
from minigan.tools import plots, runs
from minigan.tools.cli import non_negative_float, positive_float, positive_int
from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.data import bicubic_upsample, downsample, first_of_each_digit, load_mnist
from minigan.tools.image_metrics import gradient_energy, psnr
from minigan.tools.io import load_checkpoint, save_checkpoint


VARIANTS = ("mse", "srgan")
DEFAULT_OUT = os.path.join("runs", "srgan")
OUTPUTS = ("measurements.json", "comparison.png")  # the run folder's own files, beside the variants' folders
SETTINGS = ("factor", "train_images", "batch_size", "width", "blocks", "lr", "feature_weight", "adversarial_weight",
               "epochs", "srgan_epochs", "srgan_init", "seed")  # epochs too: they fix where SRGAN's G comes from


def build_parser():
    p = runs.training_parser("SRGAN on MNIST with minigan (Ledig et al. 2016): 7×7 (or 14×14) → 28×28, against bicubic and the MSE-only network.",
                             "Trains the mse and the srgan variant in --out/<variant>/, then measures them and bicubic on the test digits.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=6400, batch_size=32, width=32)
    p.add_argument("--factor", type=int, choices=(2, 4), default=4, help="upscaling factor: 4 (7×7 → 28×28) or 2 (14×14 → 28×28)")
    p.add_argument("--blocks", type=positive_int, default=4, help="residual blocks in G")
    p.add_argument("--srgan-epochs", type=positive_int, default=2,
                   help="epochs of SRGAN, started from the MSE network after --epochs; the MSE network trains these too")
    p.add_argument("--feature-weight", type=non_negative_float, default=FEATURE_WEIGHT, help="weight of the classifier-feature content loss in SRGAN (0: the paper's SRGAN-MSE)")
    p.add_argument("--adversarial-weight", type=non_negative_float, default=ADVERSARIAL_WEIGHT, help="weight of the adversarial loss in SRGAN (eq. 3)")
    p.add_argument("--lr", type=positive_float, default=1e-4, help="Adam learning rate for both networks (β₁ = 0.9, §3.2)")
    p.add_argument("--srgan-init", choices=("mse", "scratch"), default="mse",
                   help="where SRGAN's G starts: the mse network after --epochs (the paper's protocol), or fresh weights (then it trains --epochs + --srgan-epochs)")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(build_parser(), argv)


def to_signed(images):
    return images * numpy.float32(2) - numpy.float32(1)


def upsample_for_display(low, factor):
    return numpy.repeat(numpy.repeat(low, factor, axis=1), factor, axis=2)  # (n, h, w, 1) -> (n, fh, fw, 1): pixels as blocks


def save_figure(gan, path, low, digits, factor):
    outputs = runs.to_unit_range(gan.translate(to_signed(low)), (-1.0, 1.0))
    rows = [upsample_for_display(low, factor), bicubic_upsample(low, factor), outputs, digits]
    plots.save_image_rows(path, rows)


def measure(outputs, digits, labels):
    return {"psnr": float(psnr(outputs, digits).mean()), "classifier": accuracy(shipped_classifier(), outputs, labels),
            "sharpness": float(gradient_energy(outputs).mean() / gradient_energy(digits).mean())}


def save_generator_at(epoch, path, gan, config):
    """The MSE network's ``after_checkpoint``: at the end of ``epoch`` its G is written to ``path``, where SRGAN's
    G starts from (--srgan-init mse, the paper's protocol)."""
    def after_epoch(done):
        if done == epoch:
            save_checkpoint(path, {"generator": gan.generator.state_dict()}, metadata={"epoch": done, "config": config})
    return after_epoch


def run(args):
    run = runs.Run("srgan.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=VARIANTS)
    runs.check_image_task_memory(args)
    digits, _ = load_mnist(args.data, split="train", scale="sigmoid")
    digits = runs.first_n(args, "--train-images", "training images", digits)
    sources, targets = to_signed(downsample(digits, args.factor)), to_signed(digits)  # I_LR, I_HR in [−1, 1]
    test_digits, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits, test_labels = runs.first_n(args, "--test-images", "test images", test_digits, test_labels)
    test_low = downsample(test_digits, args.factor)
    shown = first_of_each_digit(test_labels)
    features = shipped_classifier().body  # φ: the classifier's 128 penultimate features, frozen by the objective
    config = run.config

    results = {"bicubic": measure(bicubic_upsample(test_low, args.factor), test_digits, test_labels)}
    comparison = [upsample_for_display(test_low[shown], args.factor), bicubic_upsample(test_low[shown], args.factor)]
    snapshot = os.path.join(args.out, "mse", f"generator_epoch_{args.epochs:03d}.npz")  # SRGAN's starting G
    for name in VARIANTS:
        srgan = name == "srgan"
        minigan.seed(args.seed)
        gan = build_srgan(args.factor, features, args.feature_weight if srgan else 0.0, args.adversarial_weight if srgan else 0.0,
                          width=args.width, blocks=args.blocks, lr=args.lr, seed=args.seed)
        epochs = args.epochs + args.srgan_epochs
        after_epoch = save_generator_at(args.epochs, snapshot, gan, config) if name == "mse" else None
        if name == "srgan" and args.srgan_init == "mse":
            epochs = args.srgan_epochs
            if run.variant(name).state is None:
                if os.path.exists(snapshot):
                    generator = load_checkpoint(snapshot)[0]["generator"]
                else:  # --steps stopped the MSE network before that epoch: start from where it stopped
                    print(f"srgan: the mse network stopped before epoch {args.epochs} (--steps); SRGAN starts from its last checkpoint")
                    generator = load_checkpoint(os.path.join(args.out, "mse", runs.CHECKPOINT))[0]["gan"]["generator"]
                gan.generator.load_state_dict(generator)  # G from the MSE network; D and the optimisers fresh
        variant = run.variant(name).start(gan, sources, targets, epochs=epochs)
        variant.train(lambda path: save_figure(gan, path, test_low[shown], test_digits[shown], args.factor), "figure_epoch_{epoch:03d}.png",
                      title=f"SRGAN on MNIST, {name}, {args.factor}×", what=name, step="iteration", after_checkpoint=after_epoch)
        seconds = variant.seconds
        outputs = runs.to_unit_range(gan.translate(to_signed(test_low)), (-1.0, 1.0))
        results[name] = {**measure(outputs, test_digits, test_labels), "seconds": round(seconds, 1)}
        comparison.append(outputs[shown])

    comparison.append(test_digits[shown])
    plots.save_image_rows(os.path.join(args.out, "comparison.png"), comparison)
    print(f"\non the first {len(test_digits)} test digits, {28 // args.factor}×{28 // args.factor} → 28×28 "
          "(comparison.png: input, bicubic, mse, srgan, truth):")
    runs.write_measurements(results, [("PSNR dB", ("psnr", ".2f")), ("classifier", ("classifier", ".2%")), ("sharpness", ("sharpness", ".3f")),
                     ("train s", ("seconds", ".0f"))],
           args.out, extra={"test_images": len(test_digits), "factor": args.factor,
                            "true_digits_classifier": accuracy(shipped_classifier(), test_digits, test_labels)})
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("srgan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
