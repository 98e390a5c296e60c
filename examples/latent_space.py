"""Look inside a trained generator's latent space: interpolations, and DCGAN-style vector arithmetic.

    python examples/mnist_gan.py --epochs 2            # first, train a generator (DCGAN: about 5 minutes on 2 CPU cores)
    python examples/latent_space.py                    # then this (seconds)
    python examples/latent_space.py --digits 6 2 --sweep   # another pair, and the check for all 90 pairs

Reads a checkpoint written by ``examples/mnist_gan.py`` (its metadata["config"]["model"] says which
network to build) and writes into --out (default runs/latent_space; a new or empty folder, or --overwrite),
atomically:

    interpolation_slerp.png   one row per pair of noise vectors (z₀, z₁), --steps columns from G(z₀) to
                              G(z₁) along the great circle (``minigan.tools.latent.slerp``, White 2016)
    interpolation_lerp.png    the same pairs along the straight line (``lerp``), for comparison
    arithmetic.png            "thick A − thin A + thin B ≈ thick B" (Radford et al. 2015, §6.3.2, Fig. 7),
                              4 rows × 7 columns:
                                columns 1–3   thick A, thin A, thin B: three exemplars each (rows 1–3)
                                              and G(mean z of the three) (row 4)
                                columns 5–7   rows 1–3: G(z) for z = mean(thick A) − mean(thin A) +
                                              mean(thin B) in the centre, ringed by 8 neighbours
                                              z + U(−0.25, 0.25)ᵈ as in the paper's Figure 7;
                                              row 4: three thick B's (chosen as the thick A's are),
                                              what the result should resemble

The concepts come from G itself: --pool samples are drawn from a seeded generator, the shipped MNIST
classifier (``minigan.tools.classifier``) labels them, and among those labelled with ≥ 90% probability the
stroke thickness is measured as *ink*, the mean pixel value in [0, 1]. Thick A are the --exemplars
most confidently classified samples among the inkiest tenth of the pool's A's; thin A and thin B come
likewise from the least inky tenth (``minigan.tools.latent.pick_exemplars`` says why not simply the inkiest).

Printed numbers (docs/latent-space.md explains them with measured values):
    interpolation   means over 200 pairs (the grids show the first --pairs): ‖z‖ at the endpoints and
                    its smallest value along each path; on the endpoint images and on the middle column,
                    the ink (mean pixel value), the classifier's confidence (largest softmax
                    probability) and the GAN's own D(G(z));
                    for U(−1, 1) noise the largest |coordinate| on the paths (slerp leaves the cube)
    arithmetic      ink, ‖z‖ and predicted digit of the exemplars, of each G(mean z) and of the result; how many of the
                    result and its 8 neighbours are classified as B; "thickness gained", where the
                    result's ink lies between the thin-B exemplars' (0) and the thick-B exemplars' (1);
                    both again over 20 random exemplar sets from the same ink tails
    --sweep         that repeated check for all 90 ordered pairs (A, B), as a table
"""

import argparse
import contextlib
import os
import sys
import time
import types

import numpy

from minigan import backend
from minigan.engine.autograd import Tensor, no_grad
from minigan.gans import models
from minigan.gans.averaging import WeightAverage
from minigan.gans.gan import evaluating
from minigan.tools import classifier, latent
from minigan.tools.cli import non_negative_int, positive_int, seed_value
from minigan.tools.io import FileFormatError, load_checkpoint
from minigan.tools.plots import save_image_grid
from minigan.tools.runs import (EXIT_STATUS_HELP, OUTPUT_HELP, RunError, check_output_folder, check_sample_budget, run_script,
                                seeded_rng, to_unit_range)

from mnist_gan import averaged  # the averaged G's batch norm, re-estimated on the same noise as in its run

DEFAULT_CHECKPOINT = os.path.join("runs", "mnist_gan", "checkpoint.npz")
NEIGHBOURS = 8          # Figure 7 shows the result with 8 neighbours ...
NEIGHBOUR_SCALE = 0.25  # ... made by adding uniform noise in ±0.25 to the result's z (Radford et al. 2015, §6.3.2)
BLANK = 0.5             # the grey of an empty cell, the same as the grid's padding
ZOOM = 3                # pixels per image pixel in the PNGs
FIGURE_COLUMNS = 7      # the arithmetic figure: 3 concepts, a gap, the 3×3 result block

# Separate, seeded streams per purpose, so that --pairs does not change the arithmetic's pool and back.
STREAM_PAIRS, STREAM_POOL, STREAM_NEIGHBOURS, STREAM_REPEATS = 0, 1, 2, 3
REPEATS = 20            # random exemplar sets for the arithmetic's repeated check
MEASURED_PAIRS = 200    # pairs behind the interpolation's printed confidence (the grid shows the first --pairs)
OUTPUTS = ("interpolation_slerp.png", "interpolation_lerp.png", "arithmetic.png")  # what --overwrite removes
IMAGE_BYTES = 28 * 28 * 4  # one float32 image in [0, 1]


def digit(text):
    """A digit 0–9, for --digits."""
    value = non_negative_int(text)
    if value > 9:
        raise argparse.ArgumentTypeError(f"expected a digit from 0 to 9, got {value}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Interpolation (slerp and lerp) and vector arithmetic in a trained MNIST generator's latent space.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=OUTPUT_HELP.format(resume="") + " " + EXIT_STATUS_HELP,
    )
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help="a checkpoint.npz written by examples/mnist_gan.py (or the folder holding it)")
    parser.add_argument("--out", default=os.path.join("runs", "latent_space"), help="output directory, new or empty")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds earlier results, after removing them")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes every noise vector drawn here")
    parser.add_argument("--pairs", type=positive_int, default=6, help="interpolation rows: pairs of noise vectors")
    parser.add_argument("--steps", type=positive_int, default=10, help="interpolation columns, both endpoints included (at least 2)")
    parser.add_argument("--digits", type=digit, nargs=2, default=(7, 1), metavar=("A", "B"),
                        help="the arithmetic thick A − thin A + thin B ≈ thick B")
    parser.add_argument("--exemplars", type=positive_int, default=3, help="samples averaged per concept (the paper used 3)")
    parser.add_argument("--pool", type=positive_int, default=5000, help="samples drawn and classified to find the exemplars")
    parser.add_argument("--sweep", action="store_true",
                        help="also repeat the arithmetic's check for all 90 ordered digit pairs and print a table (seconds)")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error(f"argument --steps: expected at least 2 (the two endpoints), got {args.steps}")
    if args.digits[0] == args.digits[1]:
        parser.error(f"argument --digits: expected two different digits, got {args.digits[0]} twice")
    return args


# ----- the generator --------------------------------------------------------------------------------
def load_generator(path):
    """The GAN saved in an ``examples/mnist_gan.py`` checkpoint, and its model name ("mlp" or "dcgan")."""
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.npz")
    if not os.path.exists(path):
        raise RunError(f"no checkpoint at {path}; make one with: python examples/mnist_gan.py --epochs 2 "
                       f"(DCGAN, about 5 minutes on 2 CPU cores; --model mlp for the MLP GAN, about 3; it writes "
                       f"{DEFAULT_CHECKPOINT}), or name yours with --checkpoint")
    try:
        state, metadata = load_checkpoint(path)
    except FileFormatError as error:
        raise FileFormatError(f"--checkpoint: {error}") from None
    config = metadata.get("config") if isinstance(metadata, dict) else None
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, str) or model not in models.IMAGE_RANGE or not isinstance(state.get("gan"), dict):
        raise FileFormatError(f"--checkpoint: {path!r} is a minigan checkpoint but not one written by "
                              f"examples/mnist_gan.py (expected metadata['config']['model'], one of "
                              f"{', '.join(models.IMAGE_RANGE)}, found {model!r}, and the GAN's state)")
    objective = config.get("objective", "standard")  # a Wasserstein critic has other layers (layer norm for WGAN-GP)
    gan = models.build_gan(model, objective=objective if objective in models.OBJECTIVES else "standard")
    try:
        gan.load_state_dict(state["gan"])
        if metadata.get("ema"):  # the run drew its grids and samples from the averaged G: so do we
            average = WeightAverage(gan.generator)
            average.load_state_dict(state["average"])
            run = types.SimpleNamespace(seed=int(config["seed"]), batch_size=int(config["batch_size"]))
            gan.averaged = contextlib.ExitStack()  # kept open while gan lives: closing it would restore the raw weights
            gan.averaged.enter_context(averaged(average, gan, run))
            print(f"{path}: using the averaged generator (beta {float(average.beta):g}), as that run's samples did")
    except (KeyError, ValueError, TypeError) as error:  # a hand-edited or damaged state
        message = error.args[0] if error.args else repr(error)
        raise FileFormatError(f"--checkpoint: {path!r} holds a GAN state that does not fit the {model} networks: "
                              f"{message}") from None
    return gan, model


def draw_noise(gan, count, seed, purpose):
    """``count`` noise vectors from G's own noise distribution, as a NumPy array (count, noise_dim), from the
    stream seeded by (--seed, purpose)."""
    return backend.to_numpy(gan.sample_noise(count, rng=seeded_rng(seed, purpose)).data)


def generate(gan, model, noise, batch=500):
    """G(z) for NumPy noise (n, noise_dim), as float32 images (n, 28, 28) in [0, 1]."""
    chunks = [to_unit_range(backend.to_numpy(gan.generate(noise[start : start + batch]).data)[..., 0],  # (m, 28, 28)
                            models.OUTPUT_RANGE[model])                                             # G's range -> [0, 1]
              for start in range(0, len(noise), batch)]
    return numpy.concatenate(chunks)


def realism(gan, model, images, batch=500):
    """The GAN's own discriminator on images (n, 28, 28) in [0, 1]: D(x) = σ(logit), (n,), in eval mode."""
    low, high = models.OUTPUT_RANGE[model]
    scores = []
    with evaluating(gan.discriminator) as discriminator, no_grad():  # no dropout, batch norm from running statistics
        for start in range(0, len(images), batch):
            x = images[start : start + batch, ..., None] * (high - low) + low    # [0, 1] -> G's range, (m, 28, 28, 1)
            logits = backend.to_numpy(discriminator(Tensor(backend.get_backend().asarray(x))).data)[:, 0]
            scores.append(1 / (1 + numpy.exp(-logits.astype(numpy.float64))))
    return numpy.concatenate(scores)


def classify(images):
    """The shipped classifier's digit (n,) and its softmax probability (n,) for images (n, 28, 28) in [0, 1]."""
    probabilities = classifier.shipped_classifier().probabilities(images)  # (n, 10)
    return probabilities.argmax(axis=1), probabilities.max(axis=1)


# ----- interpolation --------------------------------------------------------------------------------
def interpolations(gan, model, args, log=print):
    """Write the slerp and lerp grids for the same --pairs pairs; print norms and classifier confidence.

    The printed numbers are means over MEASURED_PAIRS pairs (or --pairs, if more), of which the grids
    show the first --pairs: a handful of rows is too few to compare two methods by.
    """
    measured = max(args.pairs, MEASURED_PAIRS)
    starts, ends = numpy.split(draw_noise(gan, 2 * measured, args.seed, STREAM_PAIRS), 2)  # (measured, d) each
    middle = args.steps // 2  # the middle column (t = 0.5 when --steps is odd)
    log(f"interpolation: {args.pairs} pairs drawn, {measured} measured, {args.steps} steps; "
        f"noise {gan.noise}, noise_dim {gan.noise_dim}")
    endpoint_norm = numpy.linalg.norm(numpy.concatenate([starts, ends]), axis=1).mean()
    for method in ("slerp", "lerp"):
        noise = latent.interpolate_pairs(starts, ends, args.steps, method)   # (measured * steps, d)
        images = generate(gan, model, noise)
        path = os.path.join(args.out, f"interpolation_{method}.png")
        save_image_grid(path, images[: args.pairs * args.steps], rows=args.pairs, value_range=(0.0, 1.0), zoom=ZOOM)
        norms = numpy.linalg.norm(noise, axis=1).reshape(measured, args.steps)
        _, confidence = classify(images)
        confidence = confidence.reshape(measured, args.steps)
        d_score = realism(gan, model, images).reshape(measured, args.steps)
        amount = latent.ink(images).reshape(measured, args.steps)
        line = (f"  {method:5s} ‖z‖: endpoints {endpoint_norm:.2f}, smallest on the path {norms.min(axis=1).mean():.2f};  "
                f"endpoints / middle column: ink {amount[:, [0, -1]].mean():.3f} / {amount[:, middle].mean():.3f}, "
                f"classifier confidence {confidence[:, [0, -1]].mean():.3f} / {confidence[:, middle].mean():.3f}, "
                f"D(G(z)) {d_score[:, [0, -1]].mean():.3f} / {d_score[:, middle].mean():.3f}")
        if gan.noise == "uniform":
            line += f";  largest |coordinate| {numpy.abs(noise).max():.2f}"
        log(line + f"  -> {path}")


# ----- vector arithmetic ----------------------------------------------------------------------------
def pick_exemplars(labels, confidence, amount, wanted, count):
    """``latent.pick_exemplars``, its refusal made this program's one line (``refused``)."""
    with refused():
        return latent.pick_exemplars(labels, confidence, amount, wanted, count)


def ink_tails(labels, confidence, amount, wanted, count):
    """``latent.ink_tails``, its refusal made this program's one line (``refused``)."""
    with refused():
        return latent.ink_tails(labels, confidence, amount, wanted, count)


@contextlib.contextmanager
def refused():
    """Too few confident samples of a digit in the pool: a RunError that names the flags that help."""
    try:
        yield
    except ValueError as error:
        raise RunError(f"{error}; try a larger --pool, other --digits, fewer --exemplars or a better-trained checkpoint") from None


def figure_cells(pool_images, concepts, mean_images, block, references):
    """The arithmetic figure's images (rows * 7, 28, 28), row by row, laid out like Radford et al.'s Figure 7.

    Columns 1–3: one concept each, its exemplars downwards, then G(mean z) in the last row. Column 4 is
    empty. Columns 5–7: the 3×3 ``block`` (the result in the centre, its neighbours around it) in rows
    1–3, and the ``references`` (what the result should resemble) in the last row.
    """
    blank = numpy.full((28, 28), BLANK, numpy.float32)
    exemplar_rows = max(len(concepts[0]), 3)
    rows = []
    for row in range(exemplar_rows):
        left = [pool_images[indices[row]] if row < len(indices) else blank for indices in concepts]
        right = list(block[3 * row : 3 * row + 3]) if row < 3 else [blank] * 3
        rows.append(left + [blank] + right)
    references = list(references[:3]) + [blank] * (3 - min(len(references), 3))
    rows.append(list(mean_images) + [blank] + references)
    return numpy.stack([cell for row in rows for cell in row])


def draw_pool(gan, model, args):
    """--pool seeded samples: noise (n, d), images (n, 28, 28) in [0, 1], digit (n,), confidence (n,), ink (n,)."""
    noise = draw_noise(gan, args.pool, args.seed, STREAM_POOL)
    images = generate(gan, model, noise)
    labels, confidence = classify(images)
    return noise, images, labels, confidence, latent.ink(images)


def arithmetic(gan, model, args, log=print, samples=None):
    """Find the concepts in a seeded pool, do thick A − thin A + thin B, write the grid, print the check.

    ``samples``: the pool as ``draw_pool`` returns it, to reuse one for several --digits (default: draw it).
    """
    a, b = args.digits
    k = args.exemplars
    samples = draw_pool(gan, model, args) if samples is None else samples
    pool, pool_images, labels, confidence, amount = samples
    thick_a, thin_a = pick_exemplars(labels, confidence, amount, a, k)
    thick_b, thin_b = pick_exemplars(labels, confidence, amount, b, k)
    concepts = {f"thick {a}": thick_a, f"thin {a}": thin_a, f"thin {b}": thin_b}

    result = latent.vector_arithmetic(pool[thick_a], pool[thin_a], pool[thin_b])  # (d,)
    offsets = seeded_rng(args.seed, STREAM_NEIGHBOURS).uniform(-NEIGHBOUR_SCALE, NEIGHBOUR_SCALE, size=(NEIGHBOURS, len(result)))
    neighbours = result + backend.to_numpy(offsets).astype(result.dtype)          # (8, d)
    means = numpy.stack([latent.concept_mean(pool[indices]) for indices in concepts.values()])  # (3, d)
    mean_images = generate(gan, model, means)
    block = generate(gan, model, numpy.concatenate([neighbours[:4], result[None], neighbours[4:]]))  # 3×3, result centre

    cells = figure_cells(pool_images, list(concepts.values()), mean_images, block, pool_images[thick_b])
    path = os.path.join(args.out, "arithmetic.png")
    save_image_grid(path, cells, rows=len(cells) // FIGURE_COLUMNS, value_range=(0.0, 1.0), zoom=ZOOM)

    # The check: is the result a B, and does it have thick-B ink rather than thin-B ink?
    block_labels, block_confidence = classify(block)
    mean_labels, _ = classify(mean_images)
    confident_b = (labels == b) & (confidence >= latent.CONFIDENCE)
    log(f"vector arithmetic: thick {a} − thin {a} + thin {b} ≈ thick {b}?  {k} exemplars per concept from "
        f"{args.pool} samples ({int(((labels == a) & (confidence >= latent.CONFIDENCE)).sum())} confident {a}s, "
        f"{int(confident_b.sum())} confident {b}s)")
    for (name, indices), mean, mean_image, mean_label in zip(concepts.items(), means, mean_images, mean_labels):
        log(f"  {name:8s} exemplars: ink {amount[indices].mean():.3f}, ‖z‖ {numpy.linalg.norm(pool[indices], axis=1).mean():.2f};  "
            f"G(mean z): ink {latent.ink(mean_image[None])[0]:.3f}, ‖mean z‖ {numpy.linalg.norm(mean):.2f}, classified {mean_label}")
    log(f"  thick {b} (bottom right, not used): ink {amount[thick_b].mean():.3f};  "
        f"median ink of the pool's confident {b}s {numpy.median(amount[confident_b]):.3f}")
    result_ink = latent.ink(block[4:5])[0]
    log(f"  result   G(z): ink {result_ink:.3f}, ‖z‖ {numpy.linalg.norm(result):.2f}, classified {block_labels[4]} "
        f"(p = {block_confidence[4]:.3f}); with its {NEIGHBOURS} neighbours: {int((block_labels == b).sum())} of "
        f"{NEIGHBOURS + 1} classified {b}")
    log(f"  check    thickness gained {thickness_gained(result_ink, amount[thin_b].mean(), amount[thick_b].mean()):.2f} "
        f"(0: as thin as the thin {b}s, 1: as thick as the thick {b}s)  -> {path}")

    # One set of exemplars is one draw. Repeat with random exemplars from the same ink tails.
    result_labels, gained = repeated_check(gan, model, samples, a, b, k, args.seed)
    others = numpy.bincount(result_labels[result_labels != b], minlength=10)
    log(f"  repeated with {REPEATS} random exemplar sets from the same tails: G(result) classified {b} in "
        f"{int((result_labels == b).sum())} of {REPEATS}" + (f" (else most often {others.argmax()})" if others.any() else "")
        + f"; thickness gained: median {numpy.median(gained):.2f}, > 0 in {int((gained > 0).sum())} of {REPEATS}")


def repeated_check(gan, model, samples, a, b, k, seed):
    """thick A − thin A + thin B for REPEATS random choices of k exemplars from each ink tail.

    Returns the digit of each G(result) (REPEATS,) and its thickness gained (REPEATS,): 0 when it has the
    ink of that repeat's thin-B exemplars, 1 when it has the mean ink of the thick-B tail.
    """
    pool, _, labels, confidence, amount = samples
    (tail_thick_a, tail_thin_a), (tail_thick_b, tail_thin_b) = (ink_tails(labels, confidence, amount, d, k) for d in (a, b))
    chooser = numpy.random.default_rng(numpy.random.SeedSequence([seed, STREAM_REPEATS, a, b]))
    picks = [[chooser.choice(tail, size=k, replace=False) for tail in (tail_thick_a, tail_thin_a, tail_thin_b)] for _ in range(REPEATS)]
    results = numpy.stack([latent.vector_arithmetic(*(pool[indices] for indices in pick)) for pick in picks])  # (REPEATS, d)
    result_images = generate(gan, model, results)
    result_labels, _ = classify(result_images)
    thin_inks = numpy.array([amount[pick[2]].mean() for pick in picks])
    return result_labels, thickness_gained(latent.ink(result_images), thin_inks, amount[tail_thick_b].mean())


def sweep(gan, model, args, samples, log=print):
    """The repeated check for all 90 ordered pairs (A, B): a table of how often G(result) is a B."""
    log(f"sweep: thick A − thin A + thin B, {REPEATS} exemplar sets per pair; how many of the {REPEATS} results are a B")
    log("  A\\B " + "".join(f"{b:>4d}" for b in range(10)))
    hits, gains = numpy.zeros((10, 10), int), []
    for a in range(10):
        cells = []
        for b in range(10):
            if a == b:
                cells.append("   .")
                continue
            try:
                result_labels, gained = repeated_check(gan, model, samples, a, b, args.exemplars, args.seed)
            except RunError:  # too few confident samples of a or b in the pool
                cells.append("   -")
                continue
            hits[a, b] = int((result_labels == b).sum())
            gains.append(gained)
            cells.append(f"{hits[a, b]:4d}")
        log(f"  {a:3d}  " + "".join(cells))
    gains = numpy.concatenate(gains) if gains else numpy.zeros(0)
    log(f"  in all: {hits.sum()} of {len(gains)} results are a B; per target digit B "
        + ", ".join(f"{b}: {hits[:, b].sum()}" for b in range(10))
        + f";  thickness gained > 0 in {int((gains > 0).sum())} of {len(gains)}, median {numpy.median(gains) if len(gains) else float('nan'):.2f}")


def thickness_gained(result_ink, thin_ink, thick_ink):
    """Where the result's ink lies between thin and thick exemplars' ink: 0 at thin, 1 at thick."""
    return (result_ink - thin_ink) / (thick_ink - thin_ink)


def run(args, log=print):
    if args.backend:
        backend.set_backend(args.backend)
    started = time.perf_counter()
    output = check_output_folder(args.out, overwrite=args.overwrite, outputs=OUTPUTS, log=log)
    check_sample_budget("--pool", args.pool, IMAGE_BYTES, "the pool's images", copies=3)
    check_sample_budget("--pairs", max(args.pairs, MEASURED_PAIRS) * args.steps, IMAGE_BYTES,
                        "the interpolations' images (max(--pairs, 200) × --steps)", copies=3)
    gan, model = load_generator(args.checkpoint)
    output.clear()
    log(f"loaded the {model} generator from {args.checkpoint} (iteration {gan.iteration}); writing to {args.out}")
    interpolations(gan, model, args, log)
    samples = draw_pool(gan, model, args)
    arithmetic(gan, model, args, log, samples)
    if args.sweep:
        sweep(gan, model, args, samples, log)
    log(f"done in {time.perf_counter() - started:.1f} s")


def main(argv=None):
    args = parse_args(argv)
    return run_script("latent_space.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
