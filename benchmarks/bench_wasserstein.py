#!/usr/bin/env python3
"""What a critic step costs: one DCGAN discriminator update under each objective, paired in one process.

    python3 benchmarks/bench_wasserstein.py [--batch 64] [--pairs 15] [--warmup 2] [--threads 1]
                                            [--clock wall|cpu] [--tiny]

Each contestant is ``gan.discriminator_step(real)`` of a DCGAN built by ``minigan.gans.models.build_gan``
(one fixed real minibatch; G's fakes and, for WGAN-GP, ε drawn afresh each call):

    standard        the DCGAN D (batch norm), Standard objective: D on real and fake, one backward
    wgan            the same D, WGAN's critic loss, then the clipping of every weight
    wgan-gp         the layer-norm critic, WGANGP: D on real, fake and x̂, ∇ₓ̂D with create_graph, and
                    the backward of all of it (through the recorded backward of D)
    standard (LN)   the layer-norm critic under the Standard objective: what layer norm alone costs
    r1              the batch-norm D, Standard with R1 on every step (γ = 10): ∇ₓD on real data

They run in turns (``benchmarks.common.run_alternating``), so a slow spell of a shared machine lands on
all of them. Reported: each one's median and quartiles, and its per-pair ratio to ``standard`` (median
of the ratios within each pair). One critic *iteration* of WGAN and WGAN-GP is 5 such steps (n_critic).
Measured numbers belong in ``docs/wasserstein.md``, with the command.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)

import statistics  # noqa: E402

import numpy  # noqa: E402

from benchmarks import common  # noqa: E402
from minigan.tools.cli import positive_int  # noqa: E402


def contestants(batch, tiny, clock):
    import minigan
    from minigan import Tensor, backend, nn
    from minigan.gans import models

    rng = numpy.random.default_rng(0)
    real = Tensor(backend.get_backend().asarray(rng.uniform(-1, 1, size=(batch, 28, 28, 1)).astype(numpy.float32)))
    setups = [("standard", "standard", {}), ("wgan", "wgan", {}), ("wgan-gp", "wgan-gp", {}),
              ("standard (LN)", "standard", {"critic_norm": "layer"}), ("r1", "standard", {"r1_gamma": 10.0})]
    if tiny:
        setups = setups[:3]
    entries = []
    for name, objective, options in setups:
        minigan.seed(0)
        norm = options.pop("critic_norm", None)
        gan = models.build_gan("dcgan", objective=objective, seed=0, **options)
        if norm == "layer":  # the same GAN with the layer-norm critic in place of the batch-norm D
            gan.discriminator = nn.init.normal_weights_(models.dcgan_discriminator(norm="layer"))
            gan.discriminator_optimizer = type(gan.discriminator_optimizer)(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        entries.append(common.Contestant(name, lambda gan=gan: gan.discriminator_step(real), clock))
    return entries


def main(argv=None):
    parser = common.make_turns_parser(__doc__.split("\n")[0], turns_flag="--pairs", turns=15,
                                      tiny_help="batch 4, three contestants: a smoke test")
    parser.add_argument("--batch", type=positive_int, default=64)
    args = parser.parse_args(argv)
    batch = 4 if args.tiny else args.batch
    clock = common.turn_clock(args)
    entries = contestants(batch, args.tiny, clock)
    samples = common.run_alternating(entries, args.warmup, args.pairs)
    base = samples["standard"]
    print(f"DCGAN D step, batch {batch}, {THREADS} BLAS thread(s), clock {clock.name}, {args.pairs} turns after {args.warmup} warm-up")
    print("| objective | median ms | p25–p75 ms | ÷ standard (median of per-turn ratios) |")
    print("|---|---|---|---|")
    for entry in entries:
        summary = common.summarize(samples[entry.name])
        ratio = statistics.median(a / b for a, b in zip(samples[entry.name], base))
        print(f"| {entry.name} | {summary['median'] * 1e3:.1f} | {summary['p25'] * 1e3:.1f}–{summary['p75'] * 1e3:.1f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
