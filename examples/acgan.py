"""Train an auxiliary-classifier GAN on MNIST (Odena et al. 2017) and draw any digit on demand.

    python examples/acgan.py                 # 5 epochs, on NumPy
    python examples/acgan.py --steps 50 --out runs/quick_acgan   # a quick look

G draws G(z, c) for the digit c it is asked for, as in the conditional GAN; D is not told c but answers two
questions of every image, real or fake and which digit, and both players are rewarded when D's class head
reads a fake as the digit it was drawn for (minigan/gans/acgan.py). Everything else -- the flags, the
networks' recipe, the grids, the checkpoint, resuming and the measurement at the end (how often the shipped
classifier reads a sample drawn for digit d as d) -- is examples/conditional_gan.py's, which this script
runs with the AC-GAN in place of the conditional GAN, so that the two compare at the same budget.

Writes into --out (default runs/acgan): digits_epoch_NNN.png (row r is the digit r, each column one noise
z), checkpoint.npz, training.png, history.npz and samples.npy (the measurement's samples).
"""

import os
import sys
import types

import conditional_gan
from minigan.gans.acgan import build_acgan

ACGAN = types.SimpleNamespace(
    build=build_acgan, model="acgan-mlp", script="acgan.py", out=os.path.join("runs", "acgan"),
    what="an AC-GAN (the conditional MLP GAN's G; D with a source and a class head)", title="AC-GAN on MNIST",
    names=("D(x)", "D(G(z,c))"),
    description="Train an AC-GAN on MNIST with minigan (Odena et al. 2017): G draws the digit it is asked for, "
                "D tells real from fake and reads the digit.",
)


def parse_args(argv=None):
    return conditional_gan.parse_args(argv, ACGAN)


def main(argv=None):
    return conditional_gan.main(argv, ACGAN)


if __name__ == "__main__":
    sys.exit(main())
