"""DualGAN on MNIST (Yi et al. 2017) beside CycleGAN: thin strokes ↔ thick strokes, learned from unpaired halves.

    python examples/dualgan.py                  # DualGAN and CycleGAN, on the same task, budget and seed
    python examples/dualgan.py --steps 100      # a quick look
    python examples/dualgan.py --resume runs/dualgan     # continue that run

The task is examples/cyclegan.py's (its ``load_task``): the training images split by a seeded permutation
into two disjoint halves, U = X the first half thinned, V = Y the second half thickened; no image has its
partner. The networks are CycleGAN's on this task (ResNet generators, PatchGAN critics of the same
widths), so the two variants differ only in their objective and its training recipe
(minigan/gans/dualgan.py):

    dualgan    Wasserstein critics with weight clipping (c), n_critic critic steps per generator step, RMSProp,
               λ_U·|u − G_B(G_A(u))| + λ_V·|v − G_A(G_B(v))| for both generators (eqs. 1–3, Algorithm 1)
    cyclegan   examples/cyclegan.py's default variant: least-squares GAN losses, 10·cycle + 5·identity, Adam

Both train --epochs passes over the same images with the same seed. An iteration is one generator step;
DualGAN's takes n_critic minibatches (one per critic step, Algorithm 1), so it makes 1/n_critic as many
generator steps per epoch as CycleGAN, which takes one.

Writes, per variant, into --out/<variant>/ (default runs/dualgan): figure_epoch_NNN.png (rows u, G_A(u),
G_B(G_A(u)), then v, G_B(v), G_A(G_B(v)); in CycleGAN's names x, G(x), F(G(x)), y, F(y), G(F(y)); one test
digit of each class per column), checkpoint.npz, training.png and history.npz; then --out/measurements.json
with examples/cyclegan.py's measurements on the test digits (the classifier reading the translated digit,
the stroke width against the target domain's, the L1 distance to the true partner, the cycle error).
"""

import os
import sys

from cyclegan import build_variant, load_task, train_and_measure, untranslated, write_table
from minigan.gans.cyclegan import CYCLE_WEIGHT, IDENTITY_WEIGHT
from minigan.gans.dualgan import CLIP, CRITIC_STEPS, LEARNING_RATE, RECONSTRUCTION_WEIGHT, build_dualgan
import minigan
from minigan.tools import runs
from minigan.tools.cli import non_negative_float, positive_float, positive_int

VARIANTS = ("dualgan", "cyclegan")
DEFAULT_OUT = os.path.join("runs", "dualgan")
OUTPUTS = ("measurements.json",)
SETTINGS = ("train_images", "batch_size", "width", "blocks", "lambda_u", "lambda_v", "clip", "n_critic", "rmsprop_lr",
            "lr", "cycle_weight", "identity_weight", "seed")


def build_parser():
    p = runs.training_parser("DualGAN on MNIST with minigan (Yi et al. 2017), beside CycleGAN: thin ↔ thick strokes from unpaired halves of the data.",
                             "Trains each of --variants in --out/<variant>/, then measures them on the test digits.")
    runs.add_image_task_flags(p, DEFAULT_OUT, SETTINGS, train_images=9600, batch_size=16, width=8)
    p.add_argument("--blocks", type=positive_int, default=2, help="residual blocks in each generator (both variants)")
    p.add_argument("--lambda-u", type=non_negative_float, default=RECONSTRUCTION_WEIGHT, help="DualGAN's λ_U, the weight of |u − G_B(G_A(u))| (eq. 3; 0 leaves it out)")
    p.add_argument("--lambda-v", type=non_negative_float, default=RECONSTRUCTION_WEIGHT, help="DualGAN's λ_V, the weight of |v − G_A(G_B(v))| (eq. 3; 0 leaves it out)")
    p.add_argument("--clip", type=positive_float, default=CLIP, help="DualGAN's c: every critic parameter is clipped to [−c, c] after each critic step")
    p.add_argument("--n-critic", type=positive_int, default=CRITIC_STEPS, help="DualGAN's critic steps per generator step, each on its own minibatch")
    p.add_argument("--rmsprop-lr", type=positive_float, default=LEARNING_RATE, help="DualGAN's RMSProp learning rate, for all four networks (decay 0.9)")
    p.add_argument("--lr", type=positive_float, default=2e-4, help="CycleGAN's Adam learning rate, for all four networks (β₁ = 0.5)")
    p.add_argument("--cycle-weight", type=positive_float, default=CYCLE_WEIGHT, help="CycleGAN's λ, the weight of its cycle loss (eq. 3)")
    p.add_argument("--identity-weight", type=non_negative_float, default=IDENTITY_WEIGHT, help="CycleGAN's identity loss weight as a fraction of λ (§5.2; 0 leaves it out)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="which variants to train and measure")
    return p


def parse_args(argv=None):
    """The flags, with ``args.given`` the set of those typed (``runs.parse_flags``)."""
    return runs.parse_flags(build_parser(), argv)


def build_dual(args):
    """DualGAN with the run's settings, on CycleGAN's networks of the same --width and --blocks, seeded by --seed."""
    minigan.seed(args.seed)
    return build_dualgan(width=args.width, blocks=args.blocks, patch_widths=(2 * args.width, 4 * args.width),
                         reconstruction_weights=(args.lambda_u, args.lambda_v), clip=args.clip, critic_steps=args.n_critic,
                         lr=args.rmsprop_lr, seed=args.seed)


def run(args):
    run = runs.Run("dualgan.py", args, build_parser(), SETTINGS, OUTPUTS, DEFAULT_OUT, variants=args.variants)
    runs.check_image_task_memory(args)
    task = load_task(args)
    results = untranslated(task)
    for name in args.variants:
        if name == "dualgan":
            results.update(train_and_measure(run, name, build_dual(args), task, "DualGAN on MNIST (critic scores)", critic=True))
        else:
            results.update(train_and_measure(run, name, build_variant(args, name), task, "CycleGAN on MNIST, beside DualGAN"))
    write_table(results, task, args.out)
    return results


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script("dualgan.py", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
