"""SimGAN on MNIST (Shrivastava et al. 2017): font digits refined to look like MNIST's, and what a classifier gains.

    python examples/simgan.py                   # train the refiner, then the three classifiers of the measurement
    python examples/simgan.py --steps 100       # a quick look
    python examples/simgan.py --variants simgan no-history   # with the paper's ablation: D without the history buffer
    python examples/simgan.py --resume runs/simgan          # continue that run
    python examples/simgan.py --checkpoint runs/simgan/simgan/checkpoint.npz --out runs/simgan-again   # measure a trained refiner

The simulator (minigan/tools/data/synthetic_digits.py) draws --train-images digits from the fonts matplotlib
ships, jittered, in MNIST's 20×20 box and 28×28 frame, each with its label. The refiner R learns from
them and from as many real MNIST training images, unlabelled and unpaired (minigan/gans/simgan.py): R's
first --pretrain-steps steps descend the self-regularisation λ·|R(x) − x| alone, then the local
adversarial loss of a D that judges 7×7 patches is added; D's refined minibatches are half from a
history buffer of --history-size earlier refined images.

The measurement, the paper's (§3.1, Table 2: a gaze estimator trained on refined synthetic images against
one trained on the synthetic ones, both tested on real images): the project's classifier
(minigan/tools/classifier.py, its network and recipe, --classifier-epochs passes, the last epoch kept:
nothing real chooses the epoch) is trained on

    synthetic   the --train-images synthetic digits as the simulator drew them
    thickened   the same digits dilated by the 2×2 square (``transforms.thicken``): a refinement by hand, a
                pixel added to every stroke, which font strokes are thinner than MNIST's by
    <variant>   the same digits refined by that variant's R, with the simulator's labels
    real        as many real MNIST training digits with their labels: what real data would give (an upper bound)

and each is tested on --test-images real MNIST test digits. Also printed: how often the shipped classifier
reads a training image as its label (does R keep the digit?), and the mean |R(x) − x| in [0, 1] units.

Writes into --out (default runs/simgan): per variant <variant>/figure_epoch_NNN.png (rows: synthetic digits,
R's refinements, |R(x) − x|, one of each digit), checkpoint.npz, training.png, history.npz; then
comparison.png (synthetic, each variant's refinement, real MNIST digits) and measurements.json.
"""

import os
import sys
import time

import numpy

import minigan
from minigan.gans.simgan import HISTORY_SIZE, PRETRAIN_STEPS, SELF_REGULARISATION, build_simgan
from minigan.tools import plots, runs
from minigan.tools.classifier import accuracy, fit_classifier, shipped_classifier
from minigan.tools.cli import non_negative_float, non_negative_int, positive_float, positive_int
from minigan.tools.data import first_of_each_digit, load_mnist, thicken
from minigan.tools.data.synthetic_digits import synthetic_digits
from minigan.tools.io import FileFormatError, load_checkpoint

VARIANTS = {"simgan": True, "no-history": False}  # name -> D's refined images half from the history buffer
DEFAULT_OUT = os.path.join("runs", "simgan")
OUTPUTS = ("measurements.json", "comparison.png")
CLASSIFIER_BATCH = 128  # the classifier's recipe (minigan/tools/classifier.py); all the images when fewer
SETTINGS = ("train_images", "batch_size", "width", "blocks", "self_regularisation", "history_size", "pretrain_steps", "lr", "seed")


def build_parser():
    p = runs.training_parser("SimGAN on MNIST with minigan (Shrivastava et al. 2017): font digits refined towards MNIST, "
                             "and a classifier trained on them tested on real digits.",
                             "Trains each of --variants in --out/<variant>/ (or measures --checkpoint's refiner), then the classifiers.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=10000, batch_size=32, width=32, epochs=3)
    p.add_argument("--blocks", type=positive_int, default=3, help="ResNet blocks in the refiner")
    p.add_argument("--self-regularisation", type=non_negative_float, default=SELF_REGULARISATION,
                   help="λ, the weight of the mean |R(x) − x| beside the mean patch cross-entropy (eq. 4; 16× the paper's per-image sum)")
    p.add_argument("--history-size", type=positive_int, default=HISTORY_SIZE, help="B, refined images kept for D (§2.3); variant simgan")
    p.add_argument("--pretrain-steps", type=non_negative_int, default=PRETRAIN_STEPS,
                   help="R's first steps on the self-regularisation alone (§3.1), while D trains beside them")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate of R and D (β₁ = 0.5)")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["simgan"], help="which variants to train and measure")
    p.add_argument("--classifier-epochs", type=positive_int, default=3, help="passes of each classifier over its training digits")
    p.add_argument("--classifier-seeds", type=positive_int, default=5,
                   help="classifiers trained on each kind of digits, from --seed on: the table gives their mean, lowest and highest accuracy")
    p.add_argument("--checkpoint", metavar="CHECKPOINT", default=None,
                   help="a checkpoint.npz of a SimGAN variant of this script: measure its refiner (its --width and --blocks are the checkpoint's) "
                        "instead of training one")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    args = runs.parse_flags(build_parser(), argv)
    if args.checkpoint and args.resume:
        build_parser().error("argument --checkpoint: measures a trained refiner; it cannot be given with --resume")
    return args


def to_signed(images):
    return images * numpy.float32(2) - numpy.float32(1)


def refine(gan, synthetic):
    """R(x) for synthetic digits in [0, 1], in [0, 1]."""
    return runs.to_unit_range(gan.translate(to_signed(synthetic)), (-1.0, 1.0))


def save_figure(gan, path, synthetic):
    refined = refine(gan, synthetic)
    plots.save_image_rows(path, [synthetic, refined, numpy.abs(refined - synthetic)])


def build_variant(args, name, width=None, blocks=None):
    minigan.seed(args.seed)
    return build_simgan(width=width or args.width, blocks=blocks or args.blocks, discriminator_widths=(2 * args.width, 4 * args.width, 2 * args.width),
                        self_regularisation=args.self_regularisation, history_size=args.history_size if VARIANTS[name] else 0,
                        pretrain_steps=args.pretrain_steps, lr=args.lr, seed=args.seed)


def trained_refiner(args):
    """--checkpoint's variant name and SimGAN, with the refiner's weights; a checkpoint that is not one is one line naming it."""
    try:
        state, metadata = load_checkpoint(args.checkpoint)
    except FileNotFoundError:
        raise runs.RunError(f"--checkpoint: no checkpoint at {args.checkpoint!r}") from None
    except FileFormatError as error:
        raise FileFormatError(f"--checkpoint: {error}") from None
    config = metadata.get("config") if isinstance(metadata, dict) else None
    if not isinstance(config, dict) or config.get("variant") not in VARIANTS or not all(key in config for key in ("width", "blocks")):
        raise FileFormatError(f"--checkpoint {args.checkpoint!r} was not written by simgan.py (expected a variant's checkpoint.npz "
                              f"with its config: variant, width, blocks)")
    name = config["variant"]
    args.width = config["width"]  # D's widths follow it; D is not used
    gan = build_variant(args, name, config["width"], config["blocks"])
    try:
        gan.generator.load_state_dict(state["gan"]["generator"])
    except (KeyError, ValueError, TypeError) as error:
        raise FileFormatError(f"--checkpoint {args.checkpoint!r} holds no refiner of width {config['width']} and "
                              f"{config['blocks']} blocks ({error})") from None
    return name, gan


def classifier_row(name, images, labels, args, test_digits, test_labels):
    """Train the classifier on ``images`` with ``labels`` from each of --classifier-seeds seeds, test each on the real
    test digits: a row of the table (the mean accuracy, and the lowest and highest)."""
    cpu, tested = time.process_time(), []
    for seed in range(args.seed, args.seed + args.classifier_seeds):
        classifier = fit_classifier(images, labels, epochs=args.classifier_epochs, seed=seed, batch_size=min(CLASSIFIER_BATCH, len(images)),
                                    log=None)
        tested.append(accuracy(classifier, test_digits, test_labels))
    cpu = time.process_time() - cpu
    row = {"test_accuracy": float(numpy.mean(tested)), "test_accuracy_min": min(tested), "test_accuracy_max": max(tested),
           "test_accuracies": tested,  # seed by seed, from --seed on: the same seed's classifiers compare pairwise
           "labels_read": accuracy(shipped_classifier(), images, labels), "classifier_cpu_seconds": round(cpu, 1)}
    print(f"{name}: {len(tested)} classifiers trained on {len(images)} digits in {cpu:.0f} CPU s; {row['test_accuracy']:.2%} on the "
          f"real test digits (from {min(tested):.2%} to {max(tested):.2%})", flush=True)
    return row


def run(args):
    variants = args.variants if not args.checkpoint else []
    run = runs.Run("simgan.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=variants or ["simgan"])
    runs.check_image_task_memory(args)
    real, real_labels = load_mnist(args.data, split="train", scale="sigmoid")
    real, real_labels = runs.first_n(args, "--train-images", "training images", real, real_labels)
    synthetic, labels = synthetic_digits(len(real), seed=args.seed)   # as many synthetic digits as real ones
    test_digits, test_labels = load_mnist(args.data, split="test", scale="sigmoid")
    test_digits, test_labels = runs.first_n(args, "--test-images", "test images", test_digits, test_labels)
    shown = first_of_each_digit(labels)

    refiners = {}
    if args.checkpoint:
        name, gan = trained_refiner(args)
        refiners[name] = (gan, None)
    for name in variants:
        gan = build_variant(args, name)
        variant = run.variant(name).start(gan, to_signed(synthetic), to_signed(real))  # unpaired: x with any y
        cpu = time.process_time()
        variant.train(lambda path: save_figure(gan, path, synthetic[shown]), "figure_epoch_{epoch:03d}.png",
                      title=f"SimGAN on MNIST, {name}", what=name, step="iteration")
        refiners[name] = (gan, round(time.process_time() - cpu, 1))

    results = {"synthetic": {**classifier_row("synthetic", synthetic, labels, args, test_digits, test_labels), "self_regularisation": 0.0}}
    thickened = thicken(synthetic)  # a refinement by hand: every stroke a pixel wider, as MNIST's pen strokes are wider than a font's
    results["synthetic, thickened"] = {**classifier_row("thickened", thickened, labels, args, test_digits, test_labels),
                                       "self_regularisation": float(numpy.abs(thickened - synthetic).mean())}
    comparison = [synthetic[shown]]
    for name, (gan, cpu) in refiners.items():
        refined = refine(gan, synthetic)
        results[f"refined ({name})"] = {**classifier_row(name, refined, labels, args, test_digits, test_labels),
                                        "self_regularisation": float(numpy.abs(refined - synthetic).mean()),
                                        **({"refiner_cpu_seconds": cpu} if cpu is not None else {})}
        comparison.append(refined[shown])
    results["real"] = classifier_row("real", real, real_labels, args, test_digits, test_labels)
    comparison.append(real[first_of_each_digit(real_labels)])
    plots.save_image_rows(os.path.join(run.out, "comparison.png"), comparison)

    print(f"\n{args.classifier_seeds} classifiers trained for {args.classifier_epochs} epochs on {len(real)} digits of each kind, tested on the first "
          f"{len(test_digits)} real MNIST test digits (comparison.png: synthetic, {', '.join(refiners)} refined, real):")
    runs.write_measurements(results, [("real test acc", ("test_accuracy", ".2%")), ("lowest", ("test_accuracy_min", ".2%")),
                                      ("highest", ("test_accuracy_max", ".2%")), ("labels read", ("labels_read", ".2%")),
                                      ("mean |R(x)-x|", ("self_regularisation", ".4f")), ("refiner CPU s", ("refiner_cpu_seconds", ".0f")),
                                      ("classifier CPU s", ("classifier_cpu_seconds", ".0f"))],
                            run.out, extra={"train_images": len(real), "test_images": len(test_digits), "classifier_epochs": args.classifier_epochs,
                                            "classifier_seeds": args.classifier_seeds,
                                            "checkpoint": args.checkpoint})
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("simgan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
