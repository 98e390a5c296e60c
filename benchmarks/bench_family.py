#!/usr/bin/env python3
"""What one training iteration of each GAN of docs/gan-family.md costs, in turns in one process.

    python3 benchmarks/bench_family.py [--turns 9] [--warmup 2] [--threads 1] [--clock wall|cpu] [--tiny]

Each contestant is one ``gan.train_iteration`` (k D steps, one G step) of a GAN built as its example
builds it, at the example's minibatch size, on fixed real MNIST minibatches:

    dcgan            models.build_gan("dcgan"): the standard DCGAN of examples/mnist_gan.py, batch 64
    dcgan + ema      the same iteration and the averaged generator's update (mnist_gan.py --ema)
    lsgan            models.build_gan("dcgan", objective="lsgan"), batch 64
    bgan             models.build_gan("dcgan", objective="bgan") (the boundary-seeking GAN), batch 64
    conditional      the conditional MLP GAN of examples/conditional_gan.py, batch 100
    acgan            the AC-GAN of examples/acgan.py, batch 100
    infogan          the InfoGAN of examples/infogan.py, batch 128
    semi-supervised  the semi-supervised GAN of examples/semi_supervised.py: 100 labelled, 100 unlabelled
                     and 100 generated images through D, feature matching on another 100
    context encoder  examples/context_encoder.py's F and D: 64 masked digits → their centres, batch 64
    ccgan            the CC-GAN of examples/ccgan.py: the semi-supervised GAN's D and minibatches, its G
                     in-painting a 14 × 14 hole in each of 100 digits

They run in turns (``benchmarks.common.run_alternating``), so a slow spell of a shared machine lands on
all of them; ``--clock cpu`` times the process's CPU time (the work done, without waiting for a core),
the steadier figure on a loaded machine. Reported: each one's median and quartiles, its ratio to the
DCGAN iteration (median of the per-turn ratios), the iterations of one epoch as its example counts
them, and median × iterations: the time of one epoch at that rate (evaluation and grids excluded).
Measured numbers belong in ``docs/gan-family.md``, with the command.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)

import itertools  # noqa: E402
import statistics  # noqa: E402

from benchmarks import common  # noqa: E402


def contestants(tiny, clock):
    """(name, iteration, iterations per epoch) for each GAN; ``tiny``: small minibatches, a smoke test."""
    import minigan
    from minigan.gans import acgan, conditional_gan, context_conditional, context_encoder, infogan, models, semi_supervised
    from minigan.gans.averaging import WeightAverage
    from minigan.tools.data import DataLoader, centre_of, load_mnist, mask_centre

    train, labels = load_mnist(split="train", scale="sigmoid")
    tanh = train * 2 - 1                                                              # [0, 1] -> [−1, 1] for DCGAN
    m = 4 if tiny else None

    def batches(images, size, labels=None):
        """The first few minibatches of an epoch, cycled: fixed data, so only the work is timed."""
        return itertools.cycle(list(itertools.islice(iter(DataLoader(images, size, seed=0, labels=labels)), 4)))

    def entry(name, gan, data, per_epoch, after=None):
        def iteration():
            gan.train_iteration(data)
            if after is not None:
                after()
        return common.Contestant(name, iteration, clock), per_epoch

    minigan.seed(0)
    entries = []
    dcgan = models.build_gan("dcgan", seed=0)
    entries.append(entry("dcgan", dcgan, batches(tanh, m or 64), len(train) // 64))
    ema_gan = models.build_gan("dcgan", seed=0)
    average = WeightAverage(ema_gan.generator)
    entries.append(entry("dcgan + ema", ema_gan, batches(tanh, m or 64), len(train) // 64, after=average.update))
    entries.append(entry("lsgan", models.build_gan("dcgan", seed=0, objective="lsgan"), batches(tanh, m or 64), len(train) // 64))
    entries.append(entry("bgan", models.build_gan("dcgan", seed=0, objective="bgan"), batches(tanh, m or 64), len(train) // 64))
    if not tiny:
        entries.append(entry("conditional", conditional_gan.build_conditional_gan(seed=0, images=train),
                             batches(train, 100, labels), len(train) // 100))
        entries.append(entry("acgan", acgan.build_acgan(seed=0, images=train), batches(train, 100, labels), len(train) // 100))
        entries.append(entry("infogan", infogan.build_infogan(seed=0), batches(train, 128), len(train) // 128))
        every_image, every_label = load_mnist(split="all_train", scale="sigmoid")
        chosen = semi_supervised.choose_labelled(every_label, 10, 0)
        loader = semi_supervised.SemiSupervisedLoader(every_image, every_image[chosen], every_label[chosen], 100, seed=0)
        ssl = semi_supervised.build_semi_supervised_gan(every_image[:500], seed=0)
        entries.append(entry("semi-supervised", ssl, itertools.cycle(list(itertools.islice(iter(loader), 4))), len(loader)))
        ccgan = context_conditional.build_context_conditional_gan(every_image[:500], seed=0)
        entries.append(entry("ccgan", ccgan, itertools.cycle(list(itertools.islice(iter(loader), 4))), len(loader)))
        context = context_encoder.build_context_encoder(seed=0)                        # examples/context_encoder.py's
        masked, centres = mask_centre(train) * 2 - 1, centre_of(train) * 2 - 1
        entries.append(entry("context encoder", context, batches(masked, 64, centres), len(train) // 64))
    return entries


def main(argv=None):
    parser = common.make_turns_parser(__doc__.split("\n")[0], tiny_help="minibatches of 4 and three contestants: a smoke test")
    args = parser.parse_args(argv)
    clock = common.turn_clock(args)
    entries = contestants(args.tiny, clock)
    samples = common.run_alternating([contestant for contestant, _ in entries], args.warmup, args.turns)
    base = samples["dcgan"]
    print(f"one training iteration, {THREADS} BLAS thread(s), clock {clock.name}, {args.turns} turns after {args.warmup} warm-up")
    print("| GAN | median ms | p25–p75 ms | ÷ dcgan (median of per-turn ratios) | iterations an epoch | median × iterations |")
    print("|---|---|---|---|---|---|")
    for contestant, per_epoch in entries:
        summary = common.summarize(samples[contestant.name])
        ratio = statistics.median(a / b for a, b in zip(samples[contestant.name], base))
        print(f"| {contestant.name} | {summary['median'] * 1e3:.0f} | {summary['p25'] * 1e3:.0f}–{summary['p75'] * 1e3:.0f} | "
              f"{ratio:.2f} | {per_epoch} | {summary['median'] * per_epoch:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
