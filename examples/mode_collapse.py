"""Mode collapse, shown: three GANs, a WGAN-GP and a boundary-seeking GAN on a ring of 8 Gaussians, side by side.

    python examples/mode_collapse.py                    # 2000 iterations each, about a minute on a CPU
    python examples/mode_collapse.py --iterations 500 --seed 3

The data is the ring of Metz et al. 2016: 8 Gaussians of std 0.02 on a circle of radius 2
(``minigan.tools.data.ring``). Three setups are trained with minigan's ``GAN`` (Goodfellow et al. 2014,
Algorithm 1, k = 1) and differ in exactly one thing each:

    setup            G's loss                      D
    minimax          minimise log(1 − D(G(z)))     2 → 128 → 128 → 1        (the baseline D)
    non-saturating   maximise log D(G(z))          2 → 128 → 128 → 1        (the baseline D)
    strong D         maximise log D(G(z))          2 → 256 → 256 → 256 → 1  (the only change from the row above)
    WGAN-GP          maximise E[D(G(z))]           2 → 128 → 128 → 1        (a critic: the baseline D's shape)
    BGAN             minimise ½ E[(log D − log(1 − D))²]  2 → 128 → 128 → 1  (the baseline D, trained as it is)

The fourth row is Gulrajani et al. 2017 (Figure 2 trains on this toy): the Wasserstein objective with the
gradient penalty (``minigan/gans/wasserstein.py``), with Algorithm 1's λ = 10, n_critic = 5 critic steps
per G step and Adam β = (0, 0.9); its learning rate is the other rows' 1e-3 (the paper's 1e-4 needs far
more than 2000 iterations), and it starts from the baseline rows' G and D weights. The fifth is the
boundary-seeking GAN of Hjelm et al. 2018 (``minigan/gans/boundary_seeking.py``): the non-saturating
row with only G's loss changed, to one that aims D(G(z)) at ½ (D's decision boundary) instead of at 1.

Shared by all: G = z (256) → 128 → 128 → 2 (ReLU hidden layers, linear output), built from the same
seed so that every setup starts from the *same* G weights; noise z ~ N(0, I); Adam, lr 1e-3, β₁ = 0.5 for
both nets; minibatches of --batch-size fresh ring samples from a generator seeded by --seed (the same
batches for every setup); the same per-iteration noise (``GAN(seed=...)``). The setups whose
D is the baseline's (all but the strong D) also start from the same D weights. lr 1e-3 (ten times the DCGAN rate) is chosen
so that something happens within a minute of CPU time; it is the same for every setup.

Why "strong D" is the classic failing setup. The convergence proof of Goodfellow et al. 2014 (§4.2,
Proposition 2) lets D reach its optimum for the current G and lets G change only a little in return;
Arjovsky & Bottou 2017 ("Towards principled methods for training generative adversarial networks")
show that when D gets close to a perfect separator of real and fake, the minimax gradient vanishes and the non-saturating one
becomes unstable. The simplest way to get such a D in practice is to give it much more capacity than
G: here 3 hidden layers of 256 instead of 2 of 128 (132,609 parameters against the baseline D's 17,025
and G's 49,666), so D separates real from fake early and sharply. Only D's size changes; k stays 1
(more D steps per G step is the other way to make D strong, at k times the cost).

What a default run (seed 0) showed here (see docs/mode-collapse.md for the numbers): minimax G first spreads into
a wide cloud, then along the whole ring, and only slowly gathers onto the centres; non-saturating G is
a compact blob that hops around the ring without settling on a mode; with the strong D, G collapses
onto a single mode by iteration 500 and stays there, ever sharper. Seeds 1 and 2 told the same story
(with seed 1 the non-saturating blob spread into an arc by iteration 2000). 2000 iterations are not the
end of the story: with --iterations 6000 the non-saturating G later spread over the ring and held 7 of
the 8 modes, the minimax G lost its ring again, and the strong-D G still sat on its one mode.

Read the two losses side by side (s = D's logit on a fake, D = σ(s)): the minimax gradient on a fake is
∂/∂s log(1 − σ(s)) = −σ(s), the non-saturating one ∂/∂s [−log σ(s)] = −(1 − σ(s)). Minimax pushes hardest
the fakes D already takes for real and barely moves those it rejects; non-saturating the other way round.

Writes --out/mode_collapse.png (atomically; --out a new or empty folder, or --overwrite): a row per setup, a column per snapshot (iteration 0 and
1/8, 1/4, 1/2 and all of --iterations), each panel G's samples for the same fixed noise over the 8
centres, titled with the modes covered and the high-quality fraction. Prints those two numbers at ten
points of training for each setup (``minigan.tools.data.ring.mode_coverage``, Srivastava et al. 2017):

    modes   centres holding at least 1/80 of the high-quality samples, and at least 10 of them (0 … 8)
    HQ      the share of samples within 3 std (0.06) of their nearest centre (98.9% for real data)
"""

import argparse
import os
import sys
import time

import minigan
from minigan import backend, optim
from minigan.gans.boundary_seeking import BoundarySeeking
from minigan.gans.gan import GAN
from minigan.gans.models import mlp
from minigan.gans.training import Diverged, check_statistics, fetch_statistics
from minigan.gans.wasserstein import WGANGP
from minigan.tools.cli import positive_int, seed_value
from minigan.tools.data.ring import MODES, RADIUS, STD, mode_coverage, ring_batches, ring_centres
from minigan.tools.io import atomic_write
from minigan.tools.runs import (EXIT_DIVERGED, EXIT_STATUS_HELP, OUTPUT_HELP, RunStopped, check_memory, prepare_output_folder,
                                run_script, side_rng)

NOISE_DIM = 256
G_HIDDEN = (128, 128)
SETUPS = (  # name, generator loss (or "wgan-gp", "bgan": that objective), D's hidden layer widths
    ("minimax", "minimax", (128, 128)),
    ("non-saturating", "non-saturating", (128, 128)),
    ("strong D", "non-saturating", (256, 256, 256)),
    ("WGAN-GP", "wgan-gp", (128, 128)),
    ("BGAN", "bgan", (128, 128)),
)
CRITIC_STEPS = 5  # WGAN-GP's n_critic (Gulrajani et al. 2017, Algorithm 1)
LEARNING_RATE = 1e-3
EVALUATION_SAMPLES = 2500  # points of G judged at each checkpoint (the sample size PacGAN used on this ring)
TABLE_ROWS = 10            # checkpoints printed per setup, evenly spaced over training


# ----- command line ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train minimax, non-saturating, strong-D, WGAN-GP and boundary-seeking GANs on a ring of 8 Gaussians and plot where their samples land.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=OUTPUT_HELP.format(resume="") + " " + EXIT_STATUS_HELP,
    )
    parser.add_argument("--iterations", type=positive_int, default=2000, help="iterations of Algorithm 1 (one D step, or WGAN-GP's 5 critic steps, and one G step) per setup")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="minibatch size m, real and fake")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes G's and D's initial weights, the noise and the data")
    parser.add_argument("--out", default=os.path.join("runs", "mode_collapse"), help="output directory, new or empty")
    parser.add_argument("--overwrite", action="store_true", help="write into a --out that holds an earlier run, after removing its mode_collapse.png")
    return parser.parse_args(argv)


# ----- the networks ---------------------------------------------------------------------------------
def build_setup(generator_loss, discriminator_hidden, seed):
    """A GAN whose G is the same for every setup (seeded first); D follows from the same seed stream."""
    minigan.seed(seed)
    generator = mlp((NOISE_DIM, *G_HIDDEN, 2))                      # z (m, 256) → points (m, 2)
    discriminator = mlp((2, *discriminator_hidden, 1))              # points (m, 2) → logits (m, 1)
    if generator_loss == "wgan-gp":  # Gulrajani et al. 2017, Algorithm 1's λ, n_critic and betas
        betas, settings = (0.0, 0.9), {"objective": WGANGP(penalty_weight=10.0), "discriminator_steps": CRITIC_STEPS}
    elif generator_loss == "bgan":  # Hjelm et al. 2018: the standard D, G's loss ½ E[s²]
        betas, settings = (0.5, 0.999), {"objective": BoundarySeeking()}
    else:
        betas, settings = (0.5, 0.999), {"generator_loss": generator_loss}
    return GAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=betas),
        optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=betas),
        noise_dim=NOISE_DIM, seed=seed, **settings,
    )


def snapshot_iterations(iterations):
    """Iteration 0 and 1/8, 1/4, 1/2 and all of training, without repeats: the figure's columns."""
    return sorted({0, iterations // 8, iterations // 4, iterations // 2, iterations})


def table_iterations(iterations):
    """TABLE_ROWS checkpoints evenly spaced over training, plus iteration 0 and the snapshots."""
    spaced = {round(iterations * (i + 1) / TABLE_ROWS) for i in range(TABLE_ROWS)}
    return sorted(spaced | set(snapshot_iterations(iterations)))


# ----- training -------------------------------------------------------------------------------------
def train_setup(generator_loss, discriminator_hidden, args, evaluation_noise):
    """Train one setup; returns {iteration: ModeCoverage} and {snapshot iteration: samples (n, 2)}."""
    gan = build_setup(generator_loss, discriminator_hidden, args.seed)
    real_batches = ring_batches(args.batch_size, seed=args.seed)   # the same batches for every setup
    snapshots, coverage, pending = {}, {}, []
    wanted_snapshots, wanted_rows = set(snapshot_iterations(args.iterations)), set(table_iterations(args.iterations))
    for iteration in range(args.iterations + 1):
        if iteration > 0:
            pending.append(gan.train_iteration(real_batches))  # statistics stay on the device until a table row
        if iteration in wanted_rows:
            first = iteration - len(pending) + 1
            for offset, stats in enumerate(fetch_statistics(pending, names=tuple(pending[0]) if pending else ())):
                check_statistics(stats, None, None, first + offset)  # a NaN stops the run (Diverged), naming its iteration
            pending.clear()
            samples = gan.generate(evaluation_noise).numpy()       # (EVALUATION_SAMPLES, 2)
            coverage[iteration] = mode_coverage(samples, MODES, RADIUS, STD)
            if iteration in wanted_snapshots:
                snapshots[iteration] = samples
    return coverage, snapshots


def format_table(results, iterations):
    """One line per checkpoint: the modes covered and the high-quality share of each setup."""
    names = [name for name, _, _ in SETUPS]
    lines = ["iteration" + "".join(f"  {name:>20}" for name in names),
             " " * 9 + "".join(f"  {'modes     HQ':>20}" for _ in names)]
    for iteration in table_iterations(iterations):
        cells = []
        for name in names:
            result = results[name]["coverage"][iteration]
            cells.append(f"  {result.modes_covered:>9}/{MODES} {100 * result.high_quality_fraction:>6.1f}%")
        lines.append(f"{iteration:>9}" + "".join(cells))
    return "\n".join(lines)


# ----- the figure -----------------------------------------------------------------------------------
def save_figure(path, results, iterations):
    """A row per setup, a column per snapshot: G's samples (blue dots) over the ring's centres (red circles)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = snapshot_iterations(iterations)
    centres = ring_centres(MODES, RADIUS)
    limit = 1.5 * RADIUS
    figure = Figure(figsize=(2.6 * len(columns), 2.75 * len(SETUPS)), dpi=100)
    FigureCanvasAgg(figure)  # headless: render to memory, as minigan.tools.plots does
    axes = figure.subplots(len(SETUPS), len(columns), squeeze=False)
    for row, (name, loss, hidden) in enumerate(SETUPS):
        for column, iteration in enumerate(columns):
            panel = axes[row][column]
            samples, result = results[name]["snapshots"][iteration], results[name]["coverage"][iteration]
            panel.scatter(centres[:, 0], centres[:, 1], s=60, facecolors="none", edgecolors="tab:red", alpha=0.5, linewidths=1.0)
            panel.scatter(samples[:, 0], samples[:, 1], s=1.5, color="tab:blue", alpha=0.35, linewidths=0)
            panel.set_xlim(-limit, limit)
            panel.set_ylim(-limit, limit)
            panel.set_aspect("equal")
            panel.set_xticks([])
            panel.set_yticks([])
            panel.set_title(f"it {iteration}: {result.modes_covered}/{MODES} modes, HQ {100 * result.high_quality_fraction:.0f}%", fontsize=9)
            if column == 0:
                depth = " → ".join(map(str, (2, *hidden, 1)))
                objective = {"wgan-gp": "critic, λ 10, 5 steps", "bgan": "G: ½ E[(log D − log(1 − D))²]"}.get(loss, f"G: {loss} loss")
                panel.set_ylabel(f"{name}\n{objective}\nD: {depth}", fontsize=9)
    figure.suptitle(f"Where G's samples land on a ring of {MODES} Gaussians (red circles: the centres; "
                    f"HQ: within 3 std = {3 * STD:g} of a centre)", fontsize=10)
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")


def run(args):
    # At the least, a minibatch's noise and each hidden layer's activations and their gradients must fit.
    per_example = 4 * (NOISE_DIM + 2 * (sum(G_HIDDEN) + max(sum(hidden) for _, _, hidden in SETUPS)))  # bytes
    check_memory("--batch-size", args.batch_size, per_example * args.batch_size, "one minibatch's noise, activations and "
                 "gradients", lambda limit: limit // per_example)
    out = prepare_output_folder(args.out, overwrite=args.overwrite, outputs=("mode_collapse.png",))
    # The same evaluation noise for every setup and checkpoint, from a generator training never touches.
    evaluation_noise = side_rng(args.seed).standard_normal((EVALUATION_SAMPLES, NOISE_DIM), dtype=backend.get_backend().dtype)
    print(f"ring of {MODES} Gaussians (radius {RADIUS:g}, std {STD:g}); {args.iterations} iterations per setup, "
          f"batch {args.batch_size}, seed {args.seed}, backend {backend.get_backend().name}")
    results, started = {}, time.perf_counter()
    for name, loss, hidden in SETUPS:
        setup_started = time.perf_counter()
        try:
            coverage, snapshots = train_setup(loss, hidden, args, evaluation_noise)
        except Diverged as error:
            raise RunStopped(f"stopped: the {name} setup: {error}", EXIT_DIVERGED) from None
        results[name] = {"coverage": coverage, "snapshots": snapshots}
        final = coverage[args.iterations]
        print(f"{name:>15}: {time.perf_counter() - setup_started:5.1f} s, finally {final.modes_covered}/{MODES} modes, "
              f"{100 * final.high_quality_fraction:.1f}% high quality", flush=True)
    print(f"\nmodes covered (of {MODES}) and high-quality share of {EVALUATION_SAMPLES} samples of G, for the same noise:")
    print(format_table(results, args.iterations))
    path = os.path.join(out, "mode_collapse.png")
    save_figure(path, results, args.iterations)
    print(f"\nwrote {path} ({time.perf_counter() - started:.0f} s in all)")


def main(argv=None):
    args = parse_args(argv)
    return run_script("mode_collapse.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
