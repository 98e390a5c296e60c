#!/usr/bin/env python3
"""Paired A/B of one training iteration: another checkout's minigan against this one, in one process.

    python3 benchmarks/ab_training.py BASELINE [--model dcgan|mlp] [--pairs 40] [--warmup 3] [--threads 1]
                                               [--clock wall|cpu] [--tiny]

BASELINE is the root of another minigan source tree (for example a ``git worktree`` of ``main``). Its
``minigan`` package is copied to a temporary folder under the name ``minigan_baseline`` (its absolute
imports renamed to match), so both versions load side by side in this process, each with its own
modules and its own seeded model. Each pair times one ``gan.train_iteration`` of each, on one fixed random
minibatch, in alternating order (``common.run_alternating``), so a slow spell of a shared machine lands
on both. Reported: each side's median, the ratio of the medians, and the median and quartiles of the
per-pair ratios (this tree ÷ baseline; > 1: this tree is slower). ``--clock cpu`` times with
``time.process_time`` (the CPU time of this process) instead of the wall clock: with one BLAS thread
it is the work done, and it does not count the time the process waits for a core, which on a shared
machine is most of the noise. Measured numbers belong in ``benchmarks/README.md`` and ``docs/``, with
the command.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)

import argparse  # noqa: E402
import importlib  # noqa: E402
import itertools  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402

import numpy  # noqa: E402

from benchmarks import common  # noqa: E402

BATCH = {"dcgan": 64, "mlp": 100}
TINY_BATCH = 4
ALIAS = "minigan_baseline"


def load_baseline(root, folder):
    """The ``minigan`` package of the tree at ``root``, imported as ``minigan_baseline`` from a copy in ``folder``."""
    source = os.path.join(root, "minigan")
    if not os.path.isfile(os.path.join(source, "__init__.py")):
        raise SystemExit(f"ab_training.py: BASELINE {root!r} has no minigan/__init__.py; expected the root of a minigan source tree")
    target = os.path.join(folder, ALIAS)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    pattern = re.compile(r"\b(from|import) minigan\b")  # absolute imports only; relative ones need nothing
    for directory, _, files in os.walk(target):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(pattern.sub(rf"\1 {ALIAS}", text))
    sys.path.insert(0, folder)
    return importlib.import_module(ALIAS)


def iteration(package, model, batch):
    """step(): one ``train_iteration`` of ``package``'s ready-made GAN on a fixed minibatch (seed 0)."""
    models = importlib.import_module(f"{package.__name__}.gans.models")
    low = -1.0 if models.IMAGE_RANGE[model] == "tanh" else 0.0
    images = numpy.random.default_rng(0).uniform(low, 1.0, size=(batch, 28, 28, 1)).astype(numpy.float32)
    gan = models.build_gan(model, seed=0)
    batches = itertools.repeat(package.Tensor(images))
    return lambda: gan.train_iteration(batches)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ab_training.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="root of the other minigan source tree")
    parser.add_argument("--model", choices=sorted(BATCH), default="dcgan")
    parser.add_argument("--pairs", type=int, default=40, help="timed pairs (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations of each before the pairs (default %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default %(default)s; applied before NumPy loads)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, the process's CPU time (default %(default)s)")
    parser.add_argument("--tiny", action="store_true", help=f"batch {TINY_BATCH}: a smoke test of the script, not a measurement")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.warmup < 0:
        parser.error("--pairs must be ≥ 1 and --warmup ≥ 0")
    import minigan

    batch = TINY_BATCH if args.tiny else BATCH[args.model]
    with tempfile.TemporaryDirectory() as folder:
        baseline = load_baseline(os.path.abspath(args.baseline), folder)
        clock = common.HostClock() if args.clock == "wall" else common.ProcessClock()
        contestants = [common.Contestant(name, iteration(package, args.model, batch), clock)
                       for name, package in (("baseline", baseline), ("this tree", minigan))]
        samples = common.run_alternating(contestants, args.warmup, args.pairs)
    old, new = samples["baseline"], samples["this tree"]
    ratios = sorted(n / o for n, o in zip(new, old))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    print(f"{args.model} batch {batch}, {args.pairs} pairs, {THREADS} BLAS thread(s), {clock.name}: baseline median {statistics.median(old) * 1e3:.1f} ms, "
          f"this tree {statistics.median(new) * 1e3:.1f} ms; ratio of medians {statistics.median(new) / statistics.median(old):.4f}; "
          f"paired ratios median {quartiles[1]:.4f} (quartiles {quartiles[0]:.4f}–{quartiles[2]:.4f})")


if __name__ == "__main__":
    main()
